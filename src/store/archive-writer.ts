import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { Header, Pax } from 'tar';
import { BackupInvalidError } from '../errors.js';
import { Crc32cMeter, formatCrc32c } from '../util/crc32c-meter.js';
import { type ArchiveIndex, type ArchiveIndexEntry, archiveIndexName } from './archive-index.js';
import type { ObjectSink } from './object-backend.js';

const blockSize = 512;

/**
 * Writes a backup archive (see archive-index.ts) to a stream, one entry after the other, each
 * body streamed through with backpressure: memory does not grow with the backup. Headers (and
 * PAX records for long names) are the `tar` package's; the index is written by `finish`.
 */
export class ArchiveWriter implements ObjectSink {
  private readonly entries: ArchiveIndexEntry[] = [];
  /** Every entry gets the same time, so that two exports of one backup differ only in the index's createdAt. */
  private readonly mtime = new Date(0);

  constructor(private readonly out: Writable) {}

  async write(key: string, body: Readable, size: number | undefined, signal?: AbortSignal): Promise<void> {
    // A tar header precedes its entry's bytes: exported files keep their compression, so their size is known.
    if (size === undefined) throw new Error(`The size of ${key} must be known to write it into an archive.`);
    await this.put(this.headerOf(key, size));
    const meter = new Crc32cMeter();
    body.once('error', (error) => meter.destroy(error));
    for await (const chunk of body.pipe(meter)) {
      signal?.throwIfAborted();
      await this.put(chunk as Buffer);
    }
    if (meter.bytes !== size) {
      throw new BackupInvalidError(`${key} delivered ${meter.bytes} bytes, but the store reported ${size}: it changed while it was being exported.`);
    }
    await this.put(Buffer.alloc(paddingOf(size)));
    this.entries.push({ path: key, size, crc32c: formatCrc32c(meter.crc32c) });
  }

  /** The index, then the two zero blocks that end a tar archive. */
  async finish(about: Pick<ArchiveIndex, 'backupId' | 'createdBy'>): Promise<void> {
    const index: ArchiveIndex = { format: 'zeebe-backup-archive', version: 1, ...about, createdAt: new Date().toISOString(), files: this.entries };
    const text = Buffer.from(`${JSON.stringify(index, null, 1)}\n`);
    await this.put(this.headerOf(archiveIndexName, text.length));
    await this.put(Buffer.concat([text, Buffer.alloc(paddingOf(text.length)), Buffer.alloc(2 * blockSize)]));
    this.out.end();
    await once(this.out, 'finish');
  }

  private headerOf(path: string, size: number): Buffer {
    const fields = { path, size, mode: 0o644, uid: 0, gid: 0, mtime: this.mtime };
    const header = new Header({ ...fields, type: 'File' });
    const needsPax = header.encode();
    return needsPax ? Buffer.concat([new Pax(fields).encode(), header.block!]) : header.block!;
  }

  private async put(chunk: Buffer): Promise<void> {
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}

function paddingOf(size: number): number {
  return (blockSize - (size % blockSize)) % blockSize;
}
