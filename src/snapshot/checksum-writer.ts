import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { combinedChecksum, crc32cOfFile, listSnapshotFiles } from './verify-snapshot.js';

/** Zeebe's header, word for word, typo ("SFC") included. */
const SFV_HEADER = [
  '; This is an SFC checksum file for all files in the given directory.',
  '; You might use cksfv or another tool to validate these files manually.',
  '; This is an automatically created file - please do NOT modify.',
];

/**
 * Writes the SFV checksum file of a snapshot directory byte for byte as Zeebe 8.5 does (spec
 * §2.1): header, combined value and file count, then one line per file in name order. Values are
 * lower-case hex without leading zeros, as Java's Long.toHexString prints them.
 */
export async function writeSnapshotChecksumFile(snapshotDirectory: string, checksumPath: string): Promise<void> {
  const fileNames = await listSnapshotFiles(snapshotDirectory);
  const lines = [
    ...SFV_HEADER,
    `; combinedValue = ${(await combinedChecksum(snapshotDirectory, fileNames)).toString(16)}`,
    `; number of files used for combined value = ${fileNames.length}`,
  ];
  for (const name of fileNames) {
    lines.push(`${name}   ${(await crc32cOfFile(join(snapshotDirectory, name))).toString(16)}`);
  }
  await writeFile(checksumPath, lines.map((line) => `${line}\n`).join(''));
}
