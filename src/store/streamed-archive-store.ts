import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createZstdDecompress } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { asLocalStorageError, RestoreError, StoreUnavailableError, UsageError } from '../errors.js';
import { Crc32cMeter, formatCrc32c } from '../util/crc32c-meter.js';
import { archiveIndexName, ArchiveObjects, checkedIndex, checkEntryName, corruptArchive, maxArchiveIndexBytes } from './archive-index.js';
import type { ObjectReadOptions } from './object-backend.js';
import { ZeebeLayoutStore } from './zeebe-layout-store.js';
import { requireCommonJs } from '../util/common-js.js';

const { ensureDir, remove } = requireCommonJs('fs-extra') as typeof import('fs-extra');

export interface StreamedArchiveOptions {
  /** The partitions whose files are kept, for a restore or verify of them; none for plan, list and describe. */
  partitions: readonly number[];
  /** Where their files are kept until the store is closed. */
  workDirectory: string;
}

/** A zstd-compressed backup archive as a backup store: see StreamedArchiveObjects. */
export class StreamedArchiveStore extends ZeebeLayoutStore {
  static async open(path: string, options: StreamedArchiveOptions): Promise<StreamedArchiveStore> {
    return new StreamedArchiveStore(await StreamedArchiveObjects.open(path, options));
  }
}

/** Manifests, metadata and the index: small, kept in memory. */
const maxSmallEntryBytes = maxArchiveIndexBytes;

/**
 * A compressed archive cannot be read at an offset, so it is read once, from start to end, when the
 * store opens: manifests, metadata and the index are kept in memory; the files of the wanted
 * partitions are written to a directory below the work directory (removed on close), the others
 * only pass through. Every entry's size and CRC32C is checked against the index on the way. After
 * that, reads are served from memory and that directory; a file of another partition was not kept
 * and cannot be read.
 */
export class StreamedArchiveObjects extends ArchiveObjects<{ size: number }> {
  private constructor(
    path: string,
    private readonly small: ReadonlyMap<string, Buffer>,
    private readonly kept: ReadonlyMap<string, string>,
    sizes: ReadonlyMap<string, number>,
    private readonly options: StreamedArchiveOptions,
    private readonly keptDirectory: string | undefined,
  ) {
    super(`compressed backup archive ${path}`, path, new Map([...sizes].map(([key, size]) => [key, { size }])));
  }

  static async open(path: string, options: StreamedArchiveOptions): Promise<StreamedArchiveObjects> {
    const keptDirectory = options.partitions.length > 0 ? await makeWorkDirectory(options.workDirectory) : undefined;
    try {
      const read = await readOnce(path, keptDirectory, new Set(options.partitions));
      const indexText = read.small.get(archiveIndexName)?.toString('utf8');
      read.sizes.delete(archiveIndexName);
      read.small.delete(archiveIndexName);
      const index = checkedIndex(indexText, read.sizes, path);
      for (const { path: name, crc32c } of index.files) {
        if (read.checksums.get(name) !== crc32c) throw corruptArchive(path, name, 'does not match its CRC32C in the index');
      }
      return new StreamedArchiveObjects(path, read.small, read.kept, read.sizes, options, keptDirectory);
    } catch (error) {
      if (keptDirectory) await remove(keptDirectory);
      throw error;
    }
  }

  async read(key: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const { entry, start, end } = this.span(key, range);
    checkSize?.(entry.size);
    const inMemory = this.small.get(key);
    if (inMemory) return Readable.from([inMemory.subarray(start, end)]);
    if (end <= start) return Readable.from([]);
    return createReadStream(this.keptPathOf(key), { start, end: end - 1, highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  }

  async readHead(key: string, length: number, signal?: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.read(key, { range: { start: 0, end: length }, ...(signal ? { signal } : {}) })) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async close(): Promise<void> {
    if (this.keptDirectory) await remove(this.keptDirectory);
  }

  private keptPathOf(key: string): string {
    const kept = this.kept.get(key);
    if (kept) return kept;
    const { partitions } = this.options;
    const keptPartitions = partitions.length > 0 ? `partitions ${partitions.join(', ')}` : 'no partition';
    throw new UsageError(
      `The compressed archive ${this.archive} was read once, keeping the files of ${keptPartitions}: ${key} was not kept. ` +
        `Decompress it (zstd -d) to read any file of it in place.`,
    );
  }
}

async function makeWorkDirectory(workDirectory: string): Promise<string> {
  try {
    await ensureDir(workDirectory);
    return await mkdtemp(join(workDirectory, 'zeebe-archive-'));
  } catch (error) {
    throw asLocalStorageError(error, 'create a directory in', workDirectory);
  }
}

interface ReadOnce {
  small: Map<string, Buffer>;
  /** Key to the path of its kept copy. */
  kept: Map<string, string>;
  sizes: Map<string, number>;
  checksums: Map<string, string>;
}

/** Files of these partitions are kept: `contents/<P>/…`. */
function partitionOf(key: string): number | undefined {
  const match = /^contents\/(\d+)\//.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** Decompresses and parses the archive once, keeping what `keptDirectory` and `partitions` ask for. */
async function readOnce(path: string, keptDirectory: string | undefined, partitions: ReadonlySet<number>): Promise<ReadOnce> {
  const result: ReadOnce = { small: new Map(), kept: new Map(), sizes: new Map(), checksums: new Map() };
  const handled: Promise<void>[] = [];
  let current = 'the first entry';
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    current = entry.path;
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      entry.resume();
      return;
    }
    const kept = keepEntry(entry, path, keptDirectory, partitions, result).catch((error: unknown) => {
      parser.abort(error as Error);
      throw error;
    });
    // Awaited with the others once the parse has ended; the parse fails first in any case.
    kept.catch(() => undefined);
    handled.push(kept);
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.once('end', resolve);
    // Every error, not only the first: an abort is reported again by the parser.
    parser.on('error', (error: Error) => reject(error instanceof RestoreError ? error : corruptArchive(path, current, `cannot be read: ${error.message}`)));
  });
  parsed.catch(() => undefined);
  const decompressor = createZstdDecompress();
  const feeding = pipeline(createReadStream(path), decompressor);
  feeding.catch(() => undefined);
  try {
    for await (const chunk of decompressor) {
      if (!parser.write(chunk as Buffer)) await Promise.race([once(parser, 'drain'), parsed]);
    }
    await feeding;
  } catch (error) {
    if (error instanceof RestoreError) throw error;
    if ((error as { code?: string }).code === 'ENOENT') throw new StoreUnavailableError(`Could not open the backup archive ${path}: it does not exist.`);
    throw corruptArchive(path, current, `is not a valid zstd stream from here on (${(error as Error).message})`);
  }
  parser.end();
  await parsed;
  await Promise.all(handled);
  return result;
}

async function keepEntry(entry: ReadEntry, archive: string, keptDirectory: string | undefined, partitions: ReadonlySet<number>, result: ReadOnce): Promise<void> {
  const name = entry.path;
  if (name !== archiveIndexName) checkEntryName(name, archive);
  if (result.sizes.has(name)) throw corruptArchive(archive, name, 'appears twice');
  const meter = new Crc32cMeter();
  const body = Readable.from(entry).pipe(meter);
  const partition = partitionOf(name);
  if (partition === undefined) {
    if (entry.size > maxSmallEntryBytes) throw corruptArchive(archive, name, `is ${entry.size} bytes long, more than a manifest, metadata or index can be`);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    result.small.set(name, Buffer.concat(chunks));
  } else if (keptDirectory && partitions.has(partition)) {
    const target = join(keptDirectory, name);
    await ensureDir(dirname(target)).catch((error: unknown) => {
      throw asLocalStorageError(error, 'create', dirname(target));
    });
    await pipeline(body, createWriteStream(target)).catch((error: unknown) => {
      throw asLocalStorageError(error, 'write', target);
    });
    result.kept.set(name, target);
  } else {
    await finished(body.resume());
  }
  result.sizes.set(name, meter.bytes);
  result.checksums.set(name, formatCrc32c(meter.crc32c));
}
