import { execFileSync } from 'node:child_process';
import { chmod, cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { listJournalSegments, readSegmentFrames, type WrittenSegment } from '../../src/journal/journal-reader.js';
import { truncateJournalAtCheckpoint } from '../../src/journal/truncate.js';
import type { BackupManifest } from '../../src/manifest/manifest.js';
import { partsOf, transferFile } from '../../src/restore/transfer-file.js';
import type { BackupCopy, BackupStore } from '../../src/store/backup-store.js';
import { FilesystemStore } from '../../src/store/filesystem-store.js';
import { contentKey } from '../../src/store/store-layout.js';
import { Coalescer } from '../../src/util/coalesce.js';
import { FileSink } from '../../src/util/file-sink.js';
import { fixtureCheckpoint, fixtures, flipByte, tempDir } from '../support/fixtures.js';

/** Chunks of every size class FileSink treats differently: tiny, copied, direct (≥ 128 KiB). */
function mixedChunks(): Buffer[] {
  const sizes = [1, 7000, 65536, 300_000, 0, 128 * 1024, 5, 1024 * 1024 + 3, 65536, 262_144, 17];
  return sizes.map((size, i) => Buffer.alloc(size, i + 1));
}

describe('FileSink', () => {
  it('writes exactly the bytes it is given, whatever the chunk sizes', async () => {
    const path = join(await tempDir(), 'out.bin');
    const chunks = mixedChunks();
    const sink = new FileSink(path);
    await pipeline(Readable.from(chunks), sink);
    const expected = Buffer.concat(chunks);
    expect(sink.bytesWritten).toBe(expected.length);
    expect((await readFile(path)).equals(expected)).toBe(true);
    expect(sink.crc32c).toBeUndefined();
  });

  it('with checksum, takes the CRC32C of the bytes as they pass', async () => {
    const path = join(await tempDir(), 'out.bin');
    const sink = new FileSink(path, { checksum: true });
    await pipeline(Readable.from(mixedChunks()), sink);
    expect(sink.crc32c).toBe(crc32c(await readFile(path)));
  });

  it('never overwrites an existing file', async () => {
    const path = join(await tempDir(), 'existing');
    await writeFile(path, 'keep');
    await expect(pipeline(Readable.from([Buffer.from('new')]), new FileSink(path))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('keep');
  });
});

describe('Coalescer', () => {
  it('passes the same bytes on in pieces of at least its size, the last one excepted', async () => {
    const chunks = mixedChunks();
    const pieces: Buffer[] = [];
    await pipeline(Readable.from(chunks), new Coalescer(256 * 1024), async function* (source) {
      for await (const piece of source) pieces.push(piece as Buffer);
    });
    expect(Buffer.concat(pieces).equals(Buffer.concat(chunks))).toBe(true);
    expect(pieces.slice(0, -1).every((piece) => piece.length >= 256 * 1024)).toBe(true);
  });
});

describe('transferFile from a filesystem store (kernel copy)', () => {
  const copy: BackupCopy = {
    ref: { partitionId: 1, checkpointId: 5n, nodeId: 0, nodeSegment: '0', location: 'manifest.json' },
    manifest: {} as BackupManifest,
  };

  async function storeWith(content: Buffer, mode: number) {
    const base = await tempDir();
    const stored = join(base, contentKey(1, 5n, '0', 'segments', 'segment.log'));
    await mkdir(dirname(stored), { recursive: true });
    await writeFile(stored, content);
    await chmod(stored, mode);
    return { store: new FilesystemStore(base), stored, target: join(base, 'restored.log') };
  }

  it('copies the bytes and gives the file the mode of a new file, not the backup’s read-only one', async () => {
    const content = Buffer.concat(mixedChunks());
    const { store, target } = await storeWith(content, 0o444);
    const transfer = { copy, kind: 'segments' as const, file: { name: 'segment.log' }, destination: target, checksum: true };
    expect(await transferFile(store, transfer, new AbortController().signal)).toEqual({ bytes: content.length, crc32c: crc32c(content) });
    expect((await readFile(target)).equals(content)).toBe(true);
    const umask = Number.parseInt(execFileSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).trim(), 8);
    expect((await stat(target)).mode & 0o777).toBe(0o666 & ~umask);
  });

  it('leaves anything but a regular file to the stream', async () => {
    const { store, stored, target } = await storeWith(Buffer.from('x'), 0o644);
    const fifo = `${stored}.fifo`;
    execFileSync('mkfifo', [fifo]);
    expect(await store.copyToLocalFile(copy, 'segments', 'segment.log.fifo', target)).toBe(false);
  });
});

describe('large raw files download in parts', () => {
  const MiB = 1024 * 1024;

  it('splits files of 128 MiB and more into at most 4 equal parts of at least 64 MiB', () => {
    expect(partsOf(undefined)).toEqual([{ start: 0, end: 0 }]);
    expect(partsOf(128 * MiB - 1)).toEqual([{ start: 0, end: 128 * MiB - 1 }]);
    expect(partsOf(128 * MiB)).toEqual([{ start: 0, end: 64 * MiB }, { start: 64 * MiB, end: 128 * MiB }]);
    const gib = partsOf(1024 * MiB + 3);
    expect(gib).toHaveLength(4);
    expect(gib[0]!.start).toBe(0);
    expect(gib.at(-1)!.end).toBe(1024 * MiB + 3);
    for (let i = 1; i < gib.length; i++) expect(gib[i]!.start).toBe(gib[i - 1]!.end);
  });

  it('FileSink writes a part into an existing file from its offset', async () => {
    const path = join(await tempDir(), 'file');
    await writeFile(path, Buffer.alloc(10, 0x2e));
    await pipeline(Readable.from([Buffer.from('abc')]), new FileSink(path, { at: 4 }));
    expect((await readFile(path)).toString()).toBe('....abc...');
  });

  it('transferFile writes every part at its offset, byte for byte, and checksums the whole file', async () => {
    const base = await tempDir();
    const content = Buffer.alloc(130 * MiB);
    for (let offset = 0; offset < content.length; offset += 4096) content.writeUInt32LE(offset, offset);
    const stored = join(base, contentKey(1, 5n, '0', 'snapshot', 'large.sst'));
    await mkdir(dirname(stored), { recursive: true });
    await writeFile(stored, content);
    const filesystem = new FilesystemStore(base);
    const ranges: unknown[] = [];
    // No kernel copy, as for S3, GCS and Azure: the parts stream through openFile's ranges.
    const remote: BackupStore = {
      ...filesystem,
      description: filesystem.description,
      maxConcurrentTransfers: 4,
      openFile: (copy, kind, name, signal, range) => {
        ranges.push(range);
        return filesystem.openFile(copy, kind, name, signal, range);
      },
      copyToLocalFile: undefined,
    } as BackupStore;
    const copy: BackupCopy = { ref: { partitionId: 1, checkpointId: 5n, nodeId: 0, nodeSegment: '0', location: 'manifest.json' }, manifest: {} as BackupManifest };
    const target = join(base, 'restored.sst');
    const transfer = { copy, kind: 'snapshot' as const, file: { name: 'large.sst' }, destination: target, checksum: true, storedSize: content.length };
    expect(await transferFile(remote, transfer, new AbortController().signal)).toEqual({ bytes: content.length, crc32c: crc32c(content) });
    expect((await readFile(target)).equals(content)).toBe(true);
    expect(ranges).toEqual([{ start: 0, end: 65 * MiB }, { start: 65 * MiB, end: 130 * MiB }]);
  });
});

describe('truncateJournalAtCheckpoint reading frames in batches', () => {
  it('does not fail on a damaged frame behind the checkpoint, which it never needs to read', async () => {
    const dir = await tempDir();
    await cp(join(fixtures, 'journal-b'), dir, { recursive: true });
    const segments = await listJournalSegments(dir, 2);
    const checkpointSegment = segments.find((segment) => segment.fileName === 'raft-partition-partition-2-3.log')!;
    let damaged: number | undefined;
    let passedCheckpoint = false;
    for await (const frame of readSegmentFrames(checkpointSegment as WrittenSegment)) {
      if (passedCheckpoint) {
        damaged = frame.offset + frame.frameLength - 1;
        break;
      }
      passedCheckpoint = frame.asqn === fixtureCheckpoint;
    }
    // The frame right after the checkpoint sits in the same read buffer as the checkpoint.
    await flipByte(checkpointSegment.path, damaged!);
    await expect(truncateJournalAtCheckpoint(dir, 2, fixtureCheckpoint)).resolves.toMatchObject({ checkpointIndex: 4336n });
  });
});
