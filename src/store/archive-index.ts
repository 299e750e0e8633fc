import { z } from 'zod';
import { BackupInvalidError } from '../errors.js';
import { isSafeFileName } from '../manifest/safe-names.js';
import type { Readable } from 'node:stream';
import type { ByteRange } from './backup-store.js';
import type { ListedObject, ObjectBackend, ObjectReadOptions } from './object-backend.js';

/**
 * A backup archive (`restore export`) is a tar file laid out like a filesystem store (the v2
 * layout: `contents/…`, `metadata/…`, `manifests/…`), followed by this index entry, which lists
 * every other entry with its size and CRC32C. Written last, when every checksum is known: an
 * archive cut short has no index, and is refused.
 */
export const archiveIndexName = 'zeebe-backup-archive.json';

export interface ArchiveIndexEntry {
  path: string;
  size: number;
  /** Eight hex digits. */
  crc32c: string;
}

export interface ArchiveIndex {
  format: 'zeebe-backup-archive';
  version: 1;
  backupId: string;
  createdAt: string;
  createdBy: string;
  files: ArchiveIndexEntry[];
}

const indexSchema = z.object({
  format: z.literal('zeebe-backup-archive'),
  version: z.literal(1),
  backupId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  files: z.array(z.object({ path: z.string(), size: z.number().int().nonnegative(), crc32c: z.string().regex(/^[0-9a-f]{8}$/) })),
});

/** The index is a few hundred bytes per file; anything larger is not one. */
export const maxArchiveIndexBytes = 64 * 1024 * 1024;

function parseArchiveIndex(text: string, archive: string): ArchiveIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BackupInvalidError(`The index ${archiveIndexName} of the archive ${archive} is not valid JSON: ${(error as Error).message}.`);
  }
  const result = indexSchema.safeParse(json);
  if (!result.success) {
    throw new BackupInvalidError(`The index ${archiveIndexName} of the archive ${archive} is malformed: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}.`);
  }
  return result.data;
}

/**
 * The index, from its text where the archive has one, checked against the entries found (name to
 * size): what every reader checks before it serves anything.
 */
export function checkedIndex(text: string | undefined, found: ReadonlyMap<string, number>, archive: string): ArchiveIndex {
  if (text === undefined) throw missingIndex(archive);
  const index = parseArchiveIndex(text, archive);
  checkAgainstIndex(index, found, archive);
  return index;
}

/**
 * Entries found against the index: each indexed entry present with its size, and nothing beyond
 * it. Names the first entry that differs.
 */
function checkAgainstIndex(index: ArchiveIndex, found: ReadonlyMap<string, number>, archive: string): void {
  const indexed = new Set<string>();
  for (const { path, size } of index.files) {
    indexed.add(path);
    const actual = found.get(path);
    if (actual === undefined) throw corruptArchive(archive, path, 'is listed in the index but missing: the archive was cut short or altered');
    if (actual !== size) throw corruptArchive(archive, path, `is ${actual} bytes long, but the index says ${size}`);
  }
  const extra = [...found.keys()].find((path) => !indexed.has(path));
  if (extra !== undefined) throw corruptArchive(archive, extra, 'is not listed in the index: the archive was altered');
}

export function corruptArchive(archive: string, entry: string, problem: string): BackupInvalidError {
  return new BackupInvalidError(`The archive ${archive} is corrupt: entry ${entry} ${problem}. Export the backup again.`);
}

function missingIndex(archive: string): BackupInvalidError {
  return new BackupInvalidError(
    `The archive ${archive} has no ${archiveIndexName} entry: it was cut short (an interrupted export or copy) or was not written by ` +
      `'restore export'. Export the backup again.`,
  );
}

/**
 * Entry names come from a file someone handed over: only relative paths below the three top-level
 * folders of the layout, each component a plain name, are taken (a streamed archive writes them
 * to disk). Anything else is refused.
 */
export function checkEntryName(name: string, archive: string): void {
  const [top, ...rest] = name.split('/');
  const known = top === 'contents' || top === 'manifests' || top === 'metadata';
  if (!known || rest.length === 0 || !rest.every(isSafeFileName)) {
    throw corruptArchive(archive, JSON.stringify(name), 'is not a name a backup archive holds');
  }
}

/**
 * What both archive readers answer alike from the entries they found: names, listings, sizes and
 * the bytes of a range; each reads the bytes its own way.
 */
export abstract class ArchiveObjects<Entry extends { size: number }> implements ObjectBackend {
  /** Local reads: a few at once keep the disk busy. */
  readonly maxConcurrentTransfers = 4;

  protected constructor(
    readonly description: string,
    protected readonly archive: string,
    private readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  abstract read(key: string, options?: ObjectReadOptions): Promise<Readable>;
  abstract readHead(key: string, length: number, signal?: AbortSignal): Promise<Buffer>;
  abstract close(): Promise<void>;

  locationOf(key: string): string {
    return `${this.archive}:${key}`;
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const keys = [...this.entries.keys()].filter((key) => key.startsWith(prefix)).sort();
    yield* keys.map((key) => ({ key, size: this.entries.get(key)!.size }));
  }

  async size(key: string): Promise<number | undefined> {
    return this.entry(key).size;
  }

  protected entry(key: string): Entry {
    const entry = this.entries.get(key);
    if (!entry) throw new BackupInvalidError(`The backup archive ${this.archive} has no entry ${key}: the backup in it is incomplete.`);
    return entry;
  }

  /** The entry and the bytes of `range` within it (all of them without one). */
  protected span(key: string, range: ByteRange | undefined): { entry: Entry; start: number; end: number } {
    const entry = this.entry(key);
    return { entry, start: range?.start ?? 0, end: Math.min(range?.end ?? entry.size, entry.size) };
  }
}
