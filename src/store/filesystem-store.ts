import { constants, createReadStream } from 'node:fs';
import { copyFile, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BackupInvalidError, errnoCode, RestoreError, StoreUnavailableError } from '../errors.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { manifestTooLargeError, maxManifestBytes, parseManifestFor } from '../manifest/parse-manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore, ByteRange, ManifestRef, PartitionMetadataFile } from './backup-store.js';
import { isPartitionMetadataName, maxPartitionMetadataBytes, partitionMetadataPrefix } from './metadata-layout.js';
import { contentKey, manifestsPrefix, parseManifestKey } from './store-layout.js';

/** Zeebe's FILESYSTEM store: a directory, usually a shared mount, in the v2 layout. */
export class FilesystemStore implements BackupStore {
  readonly description: string;
  readonly maxConcurrentTransfers = 8;

  constructor(private readonly basePath: string) {
    this.description = `filesystem store ${basePath}`;
  }

  async listManifests(partitionId: number, checkpointId?: bigint): Promise<ManifestRef[]> {
    await this.requireBasePath();
    const partitionDirectory = join(this.basePath, manifestsPrefix(partitionId));
    const backupIds = checkpointId === undefined ? await this.entriesOf(partitionDirectory) : [String(checkpointId)];
    const keys = await Promise.all(
      backupIds.map(async (backupId) => {
        const nodeSegments = await this.entriesOf(join(partitionDirectory, backupId));
        return nodeSegments.map((nodeSegment) => `${manifestsPrefix(partitionId)}${backupId}/${nodeSegment}/manifest.json`);
      }),
    );
    return keys.flat().flatMap((key) => {
      const parsed = parseManifestKey(key, 'v2');
      return parsed ? [{ ...parsed, location: join(this.basePath, key) }] : [];
    });
  }

  /** A directory's entries; a directory that does not exist has none. */
  private async entriesOf(directory: string): Promise<string[]> {
    return this.call(`list ${directory}`, async () => {
      try {
        return await readdir(directory);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
        throw error;
      }
    });
  }

  async readManifest(ref: ManifestRef): Promise<BackupManifest> {
    const text = await this.call(`read ${ref.location}`, async () => {
      // Non-blocking, so a FIFO planted in the store cannot hang the restore; checked before reading.
      const handle = await open(ref.location, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          throw new BackupInvalidError(`Backup manifest ${ref.location} is not a regular file; the backup store has been altered.`);
        }
        if (info.size > maxManifestBytes) throw manifestTooLargeError(ref.location, info.size);
        return await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    });
    return parseManifestFor(text, ref);
  }

  async readPartitionMetadata(partitionId: number): Promise<PartitionMetadataFile[]> {
    await this.requireBasePath();
    const directory = join(this.basePath, partitionMetadataPrefix(partitionId));
    const names = (await this.entriesOf(directory)).filter(isPartitionMetadataName).sort();
    return Promise.all(
      names.map(async (name) => {
        const location = join(directory, name);
        const text = await this.call(`read ${location}`, async () => {
          const handle = await open(location, constants.O_RDONLY | constants.O_NONBLOCK);
          try {
            const info = await handle.stat();
            if (!info.isFile() || info.size > maxPartitionMetadataBytes) {
              throw new BackupInvalidError(`Backup metadata ${location} is not a regular file of at most ${maxPartitionMetadataBytes} bytes.`);
            }
            return await handle.readFile('utf8');
          } finally {
            await handle.close();
          }
        });
        return { location, text };
      }),
    );
  }

  async openFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(copy, kind, fileName);
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

  async readFileHead(copy: BackupCopy, kind: BackupFileKind, fileName: string, length: number): Promise<Buffer> {
    const path = this.pathOf(copy, kind, fileName);
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
   * supports it. Anything but a regular file (a FIFO, a device) is left to openFile's stream.
   */
  async copyToLocalFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, destination: string): Promise<boolean> {
    const path = this.pathOf(copy, kind, fileName);
    // stat, not open: opening a FIFO would block.
    if (!(await stat(path)).isFile()) return false;
    await copyFile(path, destination, constants.COPYFILE_FICLONE);
    return true;
  }

  async fileSize(copy: BackupCopy, kind: BackupFileKind, fileName: string): Promise<number | undefined> {
    const path = this.pathOf(copy, kind, fileName);
    return (await this.call(`stat ${path}`, () => stat(path))).size;
  }

  async close(): Promise<void> {}

  private pathOf(copy: BackupCopy, kind: BackupFileKind, fileName: string): string {
    const { partitionId, checkpointId, nodeSegment } = copy.ref;
    return join(this.basePath, contentKey(partitionId, checkpointId, nodeSegment, kind, fileName));
  }

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
