import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { writeSnapshotChecksumFile } from '../../src/snapshot/checksum-writer.js';
import { verifySnapshot } from '../../src/snapshot/verify-snapshot.js';
import { tempDir as temporaryDirectory } from '../support/fixtures.js';

const snapshotId = '3806-2-9670-9600';
const fixture = join(import.meta.dirname, '..', 'fixtures', 'zeebe-8.5.4', 'snapshot-b');


describe('writeSnapshotChecksumFile', () => {
  it('writes exactly the checksum file Zeebe 8.5.4 wrote for the fixture snapshot', async () => {
    const checksumPath = join(await temporaryDirectory(), `${snapshotId}.checksum`);
    const snapshotDirectory = join(fixture, snapshotId);

    await writeSnapshotChecksumFile(snapshotDirectory, checksumPath);

    const written = await readFile(checksumPath);
    expect(written.equals(await readFile(join(fixture, `${snapshotId}.checksum`)))).toBe(true);
    await expect(verifySnapshot(snapshotDirectory, checksumPath, snapshotId)).resolves.toBeUndefined();
  });

  it('lists files in name order but adds zeebe.metadata last to the combined value', async () => {
    const root = await temporaryDirectory();
    const snapshotDirectory = join(root, 'snapshot');
    await mkdir(snapshotDirectory);
    // CRC32C of "x181" is 00b1dd19: Zeebe prints it without the leading zeros.
    const files = { 'A.sst': Buffer.from('x181'), 'zeebe.metadata': Buffer.from('{}'), 'zz.sst': Buffer.of(1, 2, 3) };
    for (const [name, content] of Object.entries(files)) await writeFile(join(snapshotDirectory, name), content);
    // Sub-directories are not snapshot files.
    await mkdir(join(snapshotDirectory, 'ignored'));
    const checksumPath = join(root, 'snapshot.checksum');

    await writeSnapshotChecksumFile(snapshotDirectory, checksumPath);

    let combined = 0;
    for (const name of ['A.sst', 'zz.sst', 'zeebe.metadata'] as const) {
      combined = crc32c(files[name], crc32c(Buffer.from(name), combined));
    }
    const lines = (await readFile(checksumPath, 'utf8')).split('\n');
    expect(lines.slice(3)).toEqual([
      `; combinedValue = ${combined.toString(16)}`,
      '; number of files used for combined value = 3',
      'A.sst   b1dd19',
      `zeebe.metadata   ${crc32c(files['zeebe.metadata']).toString(16)}`,
      `zz.sst   ${crc32c(files['zz.sst']).toString(16)}`,
      '',
    ]);
    await expect(verifySnapshot(snapshotDirectory, checksumPath, 'snapshot')).resolves.toBeUndefined();
  });
});
