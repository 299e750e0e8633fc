import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../util/crc32c.js';
import { BackupInvalidError, asLocalStorageError } from '../errors.js';
import { readChecksumFile } from './checksum-file.js';

/** Snapshot files are re-read from the page cache right after the restore wrote them: see journal-reader.ts. */
export const READ_CHUNK_SIZE = 4 * 1024 * 1024;
/** Zeebe adds the metadata file last when it computes the legacy combined checksum. */
const METADATA_FILE_NAME = 'zeebe.metadata';

/**
 * CRC32C of a file's content, read in chunks. `initial` continues a running checksum, so
 * `crc32cOfFile(b, crc32cOfFile(a))` is the checksum of a followed by b. `buffer` is read into
 * again and again; pass one to share it between files.
 *
 * A read stream would allocate a fresh buffer per chunk: on a restore that re-reads hundreds of
 * MiB of snapshot, that churn cost more time in the garbage collector and in page faults than the
 * checksum itself (@node-rs/crc32 uses the CPU's CRC32C instructions), and raised peak memory.
 */
export async function crc32cOfFile(path: string, initial = 0, buffer: Buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE)): Promise<number> {
  let checksum = initial;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      checksum = crc32c(buffer.subarray(0, bytesRead), checksum);
    }
  } catch (error) {
    throw asLocalStorageError(error, 'read', path);
  } finally {
    await handle?.close();
  }
  return checksum;
}

/**
 * Checks the restored snapshot files against the checksum file that came with them, as the
 * broker does before it trusts a snapshot; every file must be listed and match, and every
 * listed file must be present. `known`: CRC32Cs of files by name, taken as they were written;
 * other files are read.
 */
export async function verifySnapshot(
  snapshotDirectory: string,
  checksumFile: string,
  snapshotId: string,
  known: ReadonlyMap<string, number> = new Map(),
): Promise<void> {
  const expected = await readChecksumFile(checksumFile);
  const fileNames = await listSnapshotFiles(snapshotDirectory);
  const where = `(snapshot directory ${snapshotDirectory}, checksum file ${checksumFile})`;

  if (expected.form === 'legacyCombined') {
    const actual = await combinedChecksum(snapshotDirectory, fileNames);
    if (actual !== expected.combinedValue) {
      throw new BackupInvalidError(
        `Expected snapshot ${snapshotId} to have checksums {combinedValue=${hex(expected.combinedValue)}}, ` +
          `but the actual checksums are {combinedValue=${hex(actual)}}. The legacy checksum file holds only this ` +
          `combined value over all ${fileNames.length} files, so the file that differs cannot be named ${where}.`,
      );
    }
    return;
  }

  const actual = new Map<string, bigint>();
  const buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE);
  for (const name of fileNames) actual.set(name, BigInt(known.get(name) ?? (await crc32cOfFile(join(snapshotDirectory, name), 0, buffer))));
  const differences = describeDifferences(expected.checksums, actual);
  if (differences.length > 0) {
    throw new BackupInvalidError(
      `Expected snapshot ${snapshotId} to have checksums ${formatChecksums(expected.checksums)}, ` +
        `but the actual checksums are ${formatChecksums(actual)}. ${differences.join('; ')} ${where}.`,
    );
  }
}

/** Regular files only, in byte order of their names, as Zeebe lists a snapshot. */
export async function listSnapshotFiles(snapshotDirectory: string): Promise<string[]> {
  try {
    const entries = await readdir(snapshotDirectory, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  } catch (error) {
    throw asLocalStorageError(error, 'list', snapshotDirectory);
  }
}

/**
 * CRC32C over each file's UTF-8 name then its content, metadata file last: the whole of a legacy
 * checksum file, and the `combinedValue` comment of an SFV one.
 */
export async function combinedChecksum(snapshotDirectory: string, sortedFileNames: readonly string[]): Promise<bigint> {
  const ordered = [
    ...sortedFileNames.filter((name) => name !== METADATA_FILE_NAME),
    ...sortedFileNames.filter((name) => name === METADATA_FILE_NAME),
  ];
  let checksum = 0;
  const buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE);
  for (const name of ordered) {
    checksum = crc32c(Buffer.from(name, 'utf8'), checksum);
    checksum = await crc32cOfFile(join(snapshotDirectory, name), checksum, buffer);
  }
  return BigInt(checksum);
}

function describeDifferences(expected: ReadonlyMap<string, bigint>, actual: ReadonlyMap<string, bigint>): string[] {
  const differences: string[] = [];
  for (const [name, expectedValue] of expected) {
    const actualValue = actual.get(name);
    if (actualValue === undefined) {
      differences.push(`${name} is listed in the checksum file but missing from the snapshot`);
    } else if (actualValue !== expectedValue) {
      differences.push(`${name} has checksum ${hex(actualValue)} but ${hex(expectedValue)} was expected`);
    }
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) differences.push(`${name} is in the snapshot but not listed in the checksum file`);
  }
  return differences;
}

/** Java's Map.toString layout, as in Zeebe's own message. */
function formatChecksums(checksums: ReadonlyMap<string, bigint>): string {
  return `{${[...checksums].map(([name, value]) => `${name}=${hex(value)}`).join(', ')}}`;
}

function hex(value: bigint): string {
  return value.toString(16);
}
