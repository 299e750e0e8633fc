import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { copyFile, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncDirectory } from '../util/fsync.js';
import { BackupInvalidError, errnoCode, RestoreError, StoreUnavailableError } from '../errors.js';
import type { BackupStore } from './backup-store.js';
import type { ListedObject, ObjectReadOptions, WritableObjectBackend } from './object-backend.js';
import { ZeebeLayoutStore } from './zeebe-layout-store.js';
import { requireCommonJs } from '../util/common-js.js';

const { ensureDir } = requireCommonJs('fs-extra') as typeof import('fs-extra');

/** Zeebe's FILESYSTEM store: a directory, usually a shared mount, in the v2 layout. */
export class FilesystemStore extends ZeebeLayoutStore {
  /** Always there: every file of this store is on a mounted file system. */
  declare copyToLocalFile: NonNullable<BackupStore['copyToLocalFile']>;

  constructor(basePath: string) {
    super(new FilesystemObjects(basePath));
  }
}

/** The files below a directory, as objects whose keys are their relative paths. */
export class FilesystemObjects implements WritableObjectBackend {
  readonly description: string;
  readonly maxConcurrentTransfers = 8;

  constructor(private readonly basePath: string) {
    this.description = `filesystem store ${basePath}`;
  }

  locationOf(key: string): string {
    return join(this.basePath, key);
  }

  /**
   * Every entry below `prefix`, directories included: a directory where a manifest should be is
   * reported when it is read, not silently passed over.
   */
  async *list(prefix: string): AsyncIterable<ListedObject> {
    await this.requireBasePath();
    const slash = prefix.lastIndexOf('/');
    const directory = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    for (const entry of await this.entriesOf(this.locationOf(directory))) {
      if (entry.name.startsWith(namePrefix)) yield* this.walk(`${directory}${entry.name}`, entry);
    }
  }

  /**
   * Descends only into directories (and links, which may point to one): listing a snapshot of
   * hundreds of files must not cost a failing readdir per file, a round trip each on a network mount.
   */
  private async *walk(key: string, entry: Dirent): AsyncIterable<ListedObject> {
    yield { key };
    if (!entry.isDirectory() && !entry.isSymbolicLink()) return;
    for (const child of await this.entriesOf(this.locationOf(key))) yield* this.walk(`${key}/${child.name}`, child);
  }

  /** A directory's entries; a directory that does not exist, or a file, has none. */
  private async entriesOf(directory: string): Promise<Dirent[]> {
    return this.call(`list ${directory}`, async () => {
      try {
        return await readdir(directory, { withFileTypes: true });
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
        throw error;
      }
    });
  }

  async read(key: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const path = this.locationOf(key);
    if (checkSize) return this.readSmallFile(path, checkSize);
    const stream = createReadStream(path, {
      highWaterMark: 1024 * 1024,
      ...(signal ? { signal } : {}),
      ...(range ? { start: range.start, end: range.end - 1 } : {}),
    });
    // Wait for the open so a missing file fails here, with its path, rather than mid-pipeline.
    // A hung mount never opens: the abort signal (SIGTERM) must still get through.
    await this.call(`open ${path}`, () =>
      new Promise<void>((resolve, reject) => {
        stream.once('ready', () => resolve());
        stream.once('error', reject);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    );
    return stream;
  }

  /** A manifest or metadata file: a regular file, checked by its size before it is read. */
  private async readSmallFile(path: string, checkSize: (size: number) => void): Promise<Readable> {
    return this.call(`read ${path}`, async () => {
      // Non-blocking, so a FIFO planted in the store cannot hang the restore; checked before reading.
      const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new BackupInvalidError(`Backup file ${path} is not a regular file; the backup store has been altered.`);
        checkSize(info.size);
        return handle.createReadStream({ autoClose: true });
      } catch (error) {
        await handle.close();
        throw error;
      }
    });
  }

  async readHead(key: string, length: number): Promise<Buffer> {
    const path = this.locationOf(key);
    return this.call(`read ${path}`, async () => {
      // Never a FIFO or device: a read could block, or consume what the restore needs.
      if (!(await stat(path)).isFile()) throw new Error(`${path} is not a regular file`);
      const handle = await open(path, 'r');
      try {
        const head = Buffer.alloc(length);
        const { bytesRead } = await handle.read(head, 0, length, 0);
        return head.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    });
  }

  /**
   * Copies a stored file over `destination` inside the kernel (see BackupStore.copyToLocalFile):
   * copy_file_range, which NFS 4.2 and CIFS even turn into a copy on
   * the server, or a reflink where the store and the data directory share a file system that
   * supports it. Anything but a regular file (a FIFO, a device) is left to the read stream.
   */
  async copyToLocalFile(key: string, destination: string): Promise<boolean> {
    const path = this.locationOf(key);
    // stat, not open: opening a FIFO would block.
    if (!(await stat(path)).isFile()) return false;
    await copyFile(path, destination, constants.COPYFILE_FICLONE);
    return true;
  }

  async size(key: string): Promise<number | undefined> {
    const path = this.locationOf(key);
    return (await this.call(`stat ${path}`, () => stat(path))).size;
  }

  /**
   * Written beside its final name, made durable, then renamed into place: a broker or a reader
   * never sees a partly written file under the key.
   */
  async write(key: string, body: Readable, _size: number | undefined, signal?: AbortSignal): Promise<void> {
    const path = this.locationOf(key);
    const partial = `${path}.partial-${randomUUID().slice(0, 8)}`;
    await this.call(`write ${path}`, async () => {
      await ensureDir(dirname(path));
      try {
        // flush: fsync before the file is closed, so the rename cannot expose a file with holes.
        await pipeline(body, createWriteStream(partial, { flags: 'wx', flush: true }), signal ? { signal } : {});
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      await rename(partial, path);
      await fsyncDirectory(dirname(path));
    });
  }

  async close(): Promise<void> {}

  private async requireBasePath(): Promise<void> {
    const info = await stat(this.basePath).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new StoreUnavailableError(
        `The filesystem backup store ${this.basePath} does not exist or is not a directory. ` +
          `Check that the backup volume is mounted and that the store's basePath setting points at it.`,
      );
    }
  }

  /** A missing file inside a backup is a damaged backup; anything else is the store's fault. */
  private async call<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof RestoreError) throw error;
      const code = errnoCode(error);
      const reason = code === 'ENOENT' ? 'it does not exist' : ((error as Error).message ?? String(error));
      const failureClass = code === 'ENOENT' ? 'backupInvalid' : 'storeUnavailable';
      throw new RestoreError(failureClass, `Could not ${action} in the ${this.description}: ${reason}.`, {
        cause: error,
      });
    }
  }
}
