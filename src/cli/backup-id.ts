import { UsageError } from '../errors.js';

const maxLong = 9_223_372_036_854_775_807n;

/** A Zeebe backup id is a positive Java long; anything else is a typo worth stopping for. */
export function parseBackupId(value: unknown): bigint {
  const text = String(value ?? '').trim();
  if (text.includes(',')) {
    throw new UsageError(
      `--backupId=${text}: restoring a chain of several backups is not supported yet; pass one backup id.`,
    );
  }
  if (!/^\d+$/.test(text) || BigInt(text) === 0n || BigInt(text) > maxLong) {
    throw new UsageError(
      `--backupId must be a backup id: a whole number between 1 and ${maxLong}, got '${text}'.`,
    );
  }
  return BigInt(text);
}
