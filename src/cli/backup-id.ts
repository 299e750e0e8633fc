import { type Instant, parseInstant } from '../chain/instant.js';
import { UsageError } from '../errors.js';

const maxLong = 9_223_372_036_854_775_807n;

/** A Zeebe backup id is a positive Java long; anything else is a typo worth stopping for. */
export function parseBackupId(value: unknown): bigint {
  const text = String(value ?? '').trim();
  if (text.includes(',')) {
    throw new UsageError(`'${text}': this command takes one backup id; only a restore takes a comma-separated chain of backups.`);
  }
  if (!/^\d+$/.test(text) || BigInt(text) === 0n || BigInt(text) > maxLong) {
    throw new UsageError(
      `--backupId must be a backup id: a whole number between 1 and ${maxLong}, or 'latest'; got '${text}'.`,
    );
  }
  return BigInt(text);
}

/**
 * `--backupId=<id>[,<id>…]`: Zeebe 8.8+ restores several contiguous backups in one go. The ids
 * are restored oldest (smallest) first, as Zeebe sorts them; an id given twice is a typo.
 */
export function parseBackupIds(value: unknown): bigint[] {
  const text = String(value ?? '').trim();
  const ids = text.split(',').map((part) => parseBackupId(part));
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const repeated = sorted.filter((id, i) => i > 0 && sorted[i - 1] === id);
  if (repeated.length > 0) throw new UsageError(`--backupId=${text} names backup ${repeated[0]} more than once.`);
  return sorted;
}

/** `latest` stands for the newest backup that is completed for every partition. */
export type BackupSelector = bigint | 'latest';

export function parseBackupSelector(value: unknown): BackupSelector {
  return String(value ?? '').trim() === 'latest' ? 'latest' : parseBackupId(value);
}

/** What `--backupId` of a restore names: `latest`, or one or more ids. */
export function parseRestoreSelector(value: unknown): bigint[] | 'latest' {
  return String(value ?? '').trim() === 'latest' ? 'latest' : parseBackupIds(value);
}

/** `--from`/`--to`: an ISO-8601 instant with a zone, as Zeebe's restore app takes them. */
export function parseTimeArgument(option: string, value: string): Instant {
  const instant = parseInstant(value);
  if (!instant) {
    throw new UsageError(
      `${option}=${value} is not an ISO-8601 instant with a zone, such as 2026-01-10T14:00:00Z or 2026-01-10T15:00:00+01:00.`,
    );
  }
  return instant;
}
