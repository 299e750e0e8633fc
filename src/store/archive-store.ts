import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { crc32c } from '../util/crc32c.js';
import { Header, type HeaderData, Pax } from 'tar';
import { errnoCode, StoreUnavailableError } from '../errors.js';
import { formatCrc32c } from '../util/crc32c-meter.js';
import { archiveIndexName, ArchiveObjects, checkedIndex, checkEntryName, corruptArchive, maxArchiveIndexBytes } from './archive-index.js';
import type { ObjectReadOptions } from './object-backend.js';
import { ZeebeLayoutStore } from './zeebe-layout-store.js';

const blockSize = 512;
/** PAX and GNU long-name records hold a few names; anything larger is not one. */
const maxExtendedHeaderBytes = 1024 * 1024;

/** A backup archive (`restore export`, uncompressed) as a backup store: see TarArchiveObjects. */
export class ArchiveStore extends ZeebeLayoutStore {
  static async open(path: string): Promise<ArchiveStore> {
    return new ArchiveStore(await TarArchiveObjects.open(path));
  }
}

interface Entry {
  /** Where its bytes start in the archive file. */
  offset: number;
  size: number;
  crc32c: string;
}

/**
 * The entries of a local tar file as objects, read in place: one scan of its headers (the data is
 * skipped, not read) finds where each entry's bytes are, and a read is a read of that byte range
 * of the archive file. Nothing is extracted and no second copy is written. The index must list
 * every entry with its size, and a whole-entry read is checked against its CRC32C, so a corrupt or
 * cut-short archive fails naming the entry (exit code 5).
 */
export class TarArchiveObjects extends ArchiveObjects<Entry> {
  /** Parts of an entry would escape the CRC32C check of the whole. */
  readonly readsWholeFiles = true;

  private constructor(path: string, entries: ReadonlyMap<string, Entry>) {
    super(`backup archive ${path}`, path, entries);
  }

  static async open(path: string): Promise<TarArchiveObjects> {
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw new StoreUnavailableError(`Could not open the backup archive ${path}: ${errnoCode(error) === 'ENOENT' ? 'it does not exist' : (error as Error).message}.`);
    });
    try {
      const found = await scanHeaders(handle, path);
      const indexEntry = found.get(archiveIndexName);
      found.delete(archiveIndexName);
      const indexText = indexEntry && (await readIndex(handle, indexEntry, path));
      const index = checkedIndex(indexText, new Map([...found].map(([name, { size }]) => [name, size])), path);
      const entries = new Map(index.files.map(({ path: name, size, crc32c: crc }) => [name, { offset: found.get(name)!.offset, size, crc32c: crc }]));
      return new TarArchiveObjects(path, entries);
    } finally {
      await handle.close();
    }
  }

  async read(key: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const { entry, start, end } = this.span(key, range);
    checkSize?.(entry.size);
    const whole = start === 0 && end === entry.size;
    const bytes =
      end > start
        ? createReadStream(this.archive, { start: entry.offset + start, end: entry.offset + end - 1, highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) })
        : Readable.from([]);
    if (!whole) return bytes;
    const check = new EntryChecksum(entry.crc32c, () => corruptArchive(this.archive, key, 'does not match its CRC32C in the index'));
    bytes.once('error', (error: Error) => check.destroy(error));
    return bytes.pipe(check);
  }

  async readHead(key: string, length: number): Promise<Buffer> {
    const entry = this.entry(key);
    const handle = await open(this.archive, 'r');
    try {
      const head = Buffer.alloc(Math.min(length, entry.size));
      await handle.read(head, 0, head.length, entry.offset);
      return head;
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {}
}

/** Fails at the end of an entry whose bytes do not have the CRC32C the index lists. */
export class EntryChecksum extends Transform {
  private crc = 0;

  constructor(
    private readonly expected: string,
    private readonly mismatch: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.crc = crc32c(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(formatCrc32c(this.crc) === this.expected ? null : this.mismatch());
  }
}

/**
 * Where each file entry's bytes are, from its header blocks alone. PAX records and GNU long
 * names, which carry names longer than a header holds, are read; the data is skipped. A header
 * whose checksum fails, or an entry that runs past the end of the file, is corruption.
 */
async function scanHeaders(handle: FileHandle, archive: string): Promise<Map<string, { offset: number; size: number }>> {
  const { size: fileSize } = await handle.stat();
  const found = new Map<string, { offset: number; size: number }>();
  const block = Buffer.alloc(blockSize);
  let extended: HeaderData | undefined;
  let global: HeaderData | undefined;
  let previous = 'the first entry';
  for (let offset = 0; ; ) {
    const { bytesRead } = await handle.read(block, 0, blockSize, offset);
    if (bytesRead < blockSize) throw corruptArchive(archive, previous, 'is the last one and the end-of-archive blocks are missing: the archive was cut short');
    const header = new Header(block, 0, extended, global);
    if (header.nullBlock) return found;
    if (!header.cksumValid) throw corruptArchive(archive, previous, `is followed by a damaged header at byte ${offset}`);
    // As the tar package's own reader does: a pending PAX or GNU name wins over the header's,
    // whose ustar prefix Header would otherwise put in front of it.
    const name = extended?.path ?? header.path ?? '';
    const size = header.size ?? 0;
    const dataOffset = offset + blockSize;
    if (dataOffset + size > fileSize) throw corruptArchive(archive, name, `runs past the end of the file (${size} bytes from byte ${dataOffset} of ${fileSize}): the archive was cut short`);
    offset = dataOffset + Math.ceil(size / blockSize) * blockSize;
    switch (header.type) {
      case 'ExtendedHeader':
        extended = Pax.parse(await readRecord(handle, dataOffset, size, archive, name), extended, false);
        continue;
      case 'GlobalExtendedHeader':
        global = Pax.parse(await readRecord(handle, dataOffset, size, archive, name), global, true);
        continue;
      case 'NextFileHasLongPath':
      case 'OldGnuLongPath':
        extended = { ...extended, path: (await readRecord(handle, dataOffset, size, archive, name)).replace(/\0.*$/s, '') };
        continue;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        if (name !== archiveIndexName) checkEntryName(name, archive);
        if (found.has(name)) throw corruptArchive(archive, name, 'appears twice');
        found.set(name, { offset: dataOffset, size });
        break;
    }
    extended = undefined;
    previous = name;
  }
}

async function readIndex(handle: FileHandle, { offset, size }: { offset: number; size: number }, archive: string): Promise<string> {
  if (size > maxArchiveIndexBytes) throw corruptArchive(archive, archiveIndexName, `is ${size} bytes long`);
  const text = Buffer.alloc(size);
  await handle.read(text, 0, size, offset);
  return text.toString('utf8');
}

async function readRecord(handle: FileHandle, offset: number, size: number, archive: string, name: string): Promise<string> {
  if (size > maxExtendedHeaderBytes) throw corruptArchive(archive, name, `is an extended header of ${size} bytes`);
  const record = Buffer.alloc(size);
  await handle.read(record, 0, size, offset);
  return record.toString('utf8');
}
