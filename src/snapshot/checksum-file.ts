import { readFile } from 'node:fs/promises';
import { BackupInvalidError, asLocalStorageError } from '../errors.js';

/** What a snapshot's `.checksum` file promises (spec §2.1). Values are CRC32C. */
export type SnapshotChecksums =
  | { form: 'perFile'; checksums: Map<string, bigint> }
  /** Very old brokers wrote only one value over all files. */
  | { form: 'legacyCombined'; combinedValue: bigint };

/** Zeebe tells the legacy form apart by its length alone: one big-endian i64. */
const LEGACY_FILE_LENGTH = 8;
const CHECKSUM_LINE = /^(.*) {3}([0-9a-fA-F]{1,16})$/;

export async function readChecksumFile(path: string): Promise<SnapshotChecksums> {
  let content: Buffer;
  try {
    // One short line per snapshot file, so reading it whole is fine.
    content = await readFile(path);
  } catch (error) {
    throw asLocalStorageError(error, 'read', path);
  }
  return parseChecksumFile(content, path);
}

export function parseChecksumFile(content: Buffer, fileName: string): SnapshotChecksums {
  if (content.length === LEGACY_FILE_LENGTH) {
    return { form: 'legacyCombined', combinedValue: content.readBigUInt64BE(0) };
  }
  const checksums = new Map<string, bigint>();
  // Same line breaks as Java's BufferedReader.readLine, which Zeebe reads the file with.
  content
    .toString('utf8')
    .split(/\r\n|\r|\n/)
    .forEach((line, lineIndex) => {
      if (line.trim() === '' || line.startsWith(';')) return;
      const malformed = (reason: string) =>
        new BackupInvalidError(`Snapshot checksum file ${fileName}, line ${lineIndex + 1}: ${reason}.`);
      const match = CHECKSUM_LINE.exec(line);
      if (!match?.[2]) {
        throw malformed(`expected "<file name>   <crc32c hex>" but found ${JSON.stringify(line)}`);
      }
      const name = match[1] ?? '';
      if (checksums.has(name)) throw malformed(`${JSON.stringify(name)} is listed twice`);
      checksums.set(name, BigInt(`0x${match[2]}`));
    });
  return { form: 'perFile', checksums };
}
