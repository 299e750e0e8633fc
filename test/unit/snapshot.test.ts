import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupInvalidError } from '../../src/errors.js';
import { parseChecksumFile, readChecksumFile } from '../../src/snapshot/checksum-file.js';
import { crc32cOfFile, verifySnapshot } from '../../src/snapshot/verify-snapshot.js';
import { flipByte } from '../support/fixtures.js';

const snapshotId = '3806-2-9670-9600';
const fixture = join(import.meta.dirname, '..', 'fixtures', 'zeebe-8.5.4', 'snapshot-b');
const fixtureChecksums = JSON.parse(
  await readFile(join(import.meta.dirname, '..', 'fixtures', 'zeebe-8.5.4', 'snapshot-b.json'), 'utf8'),
) as { combinedValue: string; checksums: Record<string, string> };

const temporaryDirectories: string[] = [];
afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A writable copy of the fixture: `snapshots/<id>/` and `snapshots/<id>.checksum`. */
async function copyOfSnapshot(): Promise<{ directory: string; checksumFile: string }> {
  const root = await mkdtemp(join(tmpdir(), 'snapshot-test-'));
  temporaryDirectories.push(root);
  await cp(fixture, root, { recursive: true });
  return { directory: join(root, snapshotId), checksumFile: join(root, `${snapshotId}.checksum`) };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BackupInvalidError);
  return error as Error;
}


/** The documented legacy algorithm, written independently of the module under test. */
async function legacyChecksumFile(directory: string): Promise<Buffer> {
  const names = (await readdir(directory)).filter((name) => name !== 'zeebe.metadata').sort();
  let combined = 0;
  for (const name of [...names, 'zeebe.metadata']) {
    combined = crc32c(Buffer.from(name, 'utf8'), combined);
    combined = crc32c(await readFile(join(directory, name)), combined);
  }
  const file = Buffer.alloc(8);
  file.writeBigUInt64BE(BigInt(combined));
  return file;
}

describe('checksum file', () => {
  it('reads the per-file values of the fixture', async () => {
    const parsed = await readChecksumFile(join(fixture, `${snapshotId}.checksum`));
    expect(parsed.form).toBe('perFile');
    const expected = Object.entries(fixtureChecksums.checksums).map(([name, value]) => [name, BigInt(`0x${value}`)]);
    expect(parsed.form === 'perFile' && [...parsed.checksums]).toEqual(expected);
  });

  it('skips comments and blank lines and keeps names with spaces', () => {
    const content = [
      '; combinedValue = 1234',
      '',
      'file with spaces.sst   ABCDEF01',
      ';another comment   ff',
      'CURRENT   0',
      '',
    ].join('\r\n');
    expect(parseChecksumFile(Buffer.from(content), 'x.checksum')).toEqual({
      form: 'perFile',
      checksums: new Map([
        ['file with spaces.sst', 0xabcdef01n],
        ['CURRENT', 0n],
      ]),
    });
  });

  it('names the file and line of a malformed line', () => {
    const content = '; comment\nCURRENT   4de178b8\nMANIFEST-000009 f12999f2\n';
    expect(() => parseChecksumFile(Buffer.from(content), 'snap.checksum')).toThrow(BackupInvalidError);
    expect(() => parseChecksumFile(Buffer.from(content), 'snap.checksum')).toThrow(
      /Snapshot checksum file snap\.checksum, line 3: .*MANIFEST-000009 f12999f2/,
    );
    expect(() => parseChecksumFile(Buffer.from('a   1\na   2\n'), 'snap.checksum')).toThrow(/line 2: "a" is listed twice/);
  });

  it('recognises the legacy 8-byte combined value', () => {
    const file = Buffer.from('0000000085124442', 'hex');
    expect(parseChecksumFile(file, 'legacy.checksum')).toEqual({ form: 'legacyCombined', combinedValue: 0x85124442n });
  });
});

describe('crc32cOfFile', () => {
  it('matches the checksums Zeebe computed, also for files larger than a read chunk', async () => {
    for (const [name, value] of Object.entries(fixtureChecksums.checksums)) {
      expect((await crc32cOfFile(join(fixture, snapshotId, name))).toString(16), name).toBe(value);
    }
  });
});

describe('verifySnapshot', () => {
  it('accepts the fixture snapshot', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    await expect(verifySnapshot(directory, checksumFile, snapshotId)).resolves.toBeUndefined();
  });

  it('names a file whose content changed', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    await flipByte(join(directory, '000021.sst'), 2_000_000);

    const error = await rejection(verifySnapshot(directory, checksumFile, snapshotId));
    expect(error.message).toContain(`Expected snapshot ${snapshotId} to have checksums {000021.sst=77dfb300, `);
    expect(error.message).toContain('but the actual checksums are {000021.sst=');
    expect(error.message).toMatch(/000021\.sst has checksum [0-9a-f]+ but 77dfb300 was expected/);
    expect(error.message).not.toMatch(/000022\.sst has checksum/);
  });

  it('uses the checksums taken while the files were written instead of reading them again', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    const asWritten = new Map([['000021.sst', 0x77dfb300], ['000022.sst', 0x1234]]);
    const error = await rejection(verifySnapshot(directory, checksumFile, snapshotId, asWritten));
    expect(error.message).toMatch(/000022\.sst has checksum 1234 but [0-9a-f]+ was expected/);
    expect(error.message).not.toMatch(/000021\.sst has checksum/);
  });

  it('names a listed file that is missing', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    await rm(join(directory, 'CURRENT'));

    const error = await rejection(verifySnapshot(directory, checksumFile, snapshotId));
    expect(error.message).toContain('CURRENT is listed in the checksum file but missing from the snapshot');
  });

  it('names a file that is not listed', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    await writeFile(join(directory, '000023.sst'), 'unexpected');

    const error = await rejection(verifySnapshot(directory, checksumFile, snapshotId));
    expect(error.message).toContain('000023.sst is in the snapshot but not listed in the checksum file');
  });

  it('verifies a legacy combined checksum file and detects a changed file', async () => {
    const { directory, checksumFile } = await copyOfSnapshot();
    const legacy = await legacyChecksumFile(directory);
    // Zeebe 8.5.4 computed the same combined value for this snapshot.
    expect(legacy.readBigUInt64BE(0).toString(16)).toBe(fixtureChecksums.combinedValue);
    await writeFile(checksumFile, legacy);
    await expect(verifySnapshot(directory, checksumFile, snapshotId)).resolves.toBeUndefined();

    await flipByte(join(directory, 'MANIFEST-000009'), 10);
    const error = await rejection(verifySnapshot(directory, checksumFile, snapshotId));
    expect(error.message).toContain(
      `Expected snapshot ${snapshotId} to have checksums {combinedValue=85124442}, but the actual checksums are {combinedValue=`,
    );
  });
});
