import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BackupInvalidError } from '../../src/errors.js';
import { TarArchiveObjects } from '../../src/store/archive-store.js';
import { ArchiveWriter } from '../../src/store/archive-writer.js';
import type { ObjectBackend } from '../../src/store/object-backend.js';
import { StreamedArchiveObjects } from '../../src/store/streamed-archive-store.js';
import { tempDir } from '../support/fixtures.js';

/** A name longer than a tar header's 100 + 155 bytes: it needs a PAX record. */
const longName = `contents/1/1763683200000/0/snapshot/${'x'.repeat(200)}.sst`;
const entries: Record<string, Buffer> = {
  'manifests/1/1763683200000/0/manifest.json': Buffer.from('{"id":{}}'),
  [longName]: Buffer.alloc(700_000, 7),
  'contents/2/1763683200000/0/segments/empty.log': Buffer.alloc(0),
};

async function archiveOf(files: Record<string, Buffer>, compress = false): Promise<string> {
  const path = join(await tempDir(), compress ? 'backup.tar.zst' : 'backup.tar');
  const out = createWriteStream(path);
  const compressor = compress ? createZstdCompress() : undefined;
  const written = compressor ? pipeline(compressor, out) : Promise.resolve();
  const writer = new ArchiveWriter(compressor ?? out);
  for (const [key, bytes] of Object.entries(files)) await writer.write(key, Readable.from([bytes]), bytes.length);
  await writer.finish({ backupId: '1763683200000', createdBy: 'test' });
  await written;
  return path;
}

const openers: [string, boolean, (path: string) => Promise<ObjectBackend>][] = [
  ['read in place', false, (path) => TarArchiveObjects.open(path)],
  ['streamed once', true, async (path) => StreamedArchiveObjects.open(path, { partitions: [1, 2], workDirectory: await tempDir() })],
];

describe.each(openers)('a backup archive %s', (_how, compress, openArchive) => {
  it('lists and reads every entry, long names included, whole, in ranges and by its head', async () => {
    const objects = await openArchive(await archiveOf(entries, compress));
    try {
      const listed: string[] = [];
      for await (const { key, size } of objects.list('contents/')) {
        listed.push(key);
        expect(size).toBe(entries[key]!.length);
      }
      expect(listed).toEqual([longName, 'contents/2/1763683200000/0/segments/empty.log'].sort());
      for (const [key, bytes] of Object.entries(entries)) {
        expect((await buffer(await objects.read(key))).equals(bytes), key).toBe(true);
        expect(await objects.size(key)).toBe(bytes.length);
      }
      const range = await buffer(await objects.read(longName, { range: { start: 1000, end: 5000 } }));
      expect(range.equals(entries[longName]!.subarray(1000, 5000))).toBe(true);
      expect((await objects.readHead(longName, 64)).equals(entries[longName]!.subarray(0, 64))).toBe(true);
      await expect(objects.read('contents/3/1/0/segments/none.log')).rejects.toThrow(/has no entry contents\/3\/1\/0\/segments\/none\.log/);
    } finally {
      await objects.close();
    }
  });

  it('refuses an entry name that could leave the layout', async () => {
    const path = await archiveOf({ ...entries, 'contents/../../escaped': Buffer.from('x') }, compress);
    const failure = await openArchive(path).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackupInvalidError);
    expect((failure as Error).message).toMatch(/entry "contents\/..\/..\/escaped" is not a name a backup archive holds/);
  });
});

it('a compressed archive keeps only the partitions asked for, and says so for the others', async () => {
  const objects = await StreamedArchiveObjects.open(await archiveOf(entries, true), { partitions: [2], workDirectory: await tempDir() });
  try {
    expect(await buffer(await objects.read('contents/2/1763683200000/0/segments/empty.log'))).toHaveLength(0);
    await expect(objects.read(longName)).rejects.toThrow(/was read once, keeping the files of partitions 2: .* was not kept/);
  } finally {
    await objects.close();
  }
});

it('an uncompressed archive is a plain tar the tar tool reads', async () => {
  const path = await archiveOf(entries);
  const tar = await buffer(createReadStream(path));
  expect(tar.length % 512).toBe(0);
  expect(tar.subarray(tar.length - 1024).every((byte) => byte === 0)).toBe(true);
});
