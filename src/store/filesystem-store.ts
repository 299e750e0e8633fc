import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode, RestoreError, StoreUnavailableError } from '../errors.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { parseManifestFor } from '../manifest/parse-manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore, ManifestRef } from './backup-store.js';
import { contentKey, manifestKey, manifestsPrefix, nodeIdFromSegment } from './store-layout.js';

/** Zeebe's FILESYSTEM store: a directory, usually a shared mount, in the v2 layout. */
export class FilesystemStore implements BackupStore {
  readonly description: string;
  readonly maxConcurrentTransfers = 8;

  constructor(private readonly basePath: string) {
    this.description = `filesystem store ${basePath}`;
  }

  async listManifests(partitionId: number, checkpointId: bigint): Promise<ManifestRef[]> {
    await this.requireBasePath();
    const directory = join(this.basePath, manifestsPrefix(partitionId, checkpointId));
    const nodeSegments = await this.call(`list ${directory}`, async () => {
      try {
        return await readdir(directory);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return [];
        throw error;
      }
    });
    return nodeSegments.flatMap((nodeSegment) => {
      const nodeId = nodeIdFromSegment(nodeSegment);
      if (nodeId === undefined) return [];
      const location = join(this.basePath, manifestKey(partitionId, checkpointId, nodeSegment));
      return [{ partitionId, checkpointId, nodeId, nodeSegment, location }];
    });
  }

  async readManifest(ref: ManifestRef): Promise<BackupManifest> {
    const text = await this.call(`read ${ref.location}`, () => readFile(ref.location, 'utf8'));
    return parseManifestFor(text, ref);
  }

  async openFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, signal?: AbortSignal): Promise<Readable> {
    const path = this.pathOf(copy, kind, fileName);
    const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
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
