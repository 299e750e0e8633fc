import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { asLocalStorageError } from '../errors.js';
import { fsyncDirectory } from '../util/fsync.js';

/** Everything a broker reads from a restored node lives under this top-level directory. */
export const raftDirectoryName = 'raft-partition';
export const stagingDirectoryName = '.zeebe-restore-staging';

/**
 * The staging area lives inside the data directory, so it is on the same file system even when
 * the data directory is a mount point, and the finished restore appears with one rename: a broker
 * never sees a half-restored node. Until then, discard() puts the node back as the guard found it.
 */
export class RestoreWorkspace {
  private moved = false;

  private constructor(
    readonly dataDirectory: string,
    readonly stagingDirectory: string,
    /** The outermost directory this run created, if the data directory did not exist. */
    private readonly createdRoot: string | undefined,
  ) {}

  static async create(dataDirectory: string): Promise<RestoreWorkspace> {
    const createdRoot = await mkdir(dataDirectory, { recursive: true }).catch((error: unknown) => {
      throw asLocalStorageError(error, 'create the data directory', dataDirectory);
    });
    const stagingDirectory = join(dataDirectory, stagingDirectoryName);
    const workspace = new RestoreWorkspace(dataDirectory, stagingDirectory, createdRoot);
    try {
      await mkdir(stagingDirectory);
    } catch (error) {
      await workspace.discard();
      throw asLocalStorageError(error, 'create the staging directory', stagingDirectory);
    }
    return workspace;
  }

  partitionDirectory(partitionId: number): string {
    return join(this.stagingDirectory, raftDirectoryName, 'partitions', String(partitionId));
  }

  /** Moves the restored partitions into place in one step and makes that durable. */
  async commit(): Promise<void> {
    const target = join(this.dataDirectory, raftDirectoryName);
    try {
      await fsyncDirectory(join(this.stagingDirectory, raftDirectoryName));
      await rename(join(this.stagingDirectory, raftDirectoryName), target);
      this.moved = true;
      await fsyncDirectory(this.dataDirectory);
      await rm(this.stagingDirectory, { recursive: true, force: true });
    } catch (error) {
      throw asLocalStorageError(error, 'move the restored partitions into', target);
    }
  }

  /** Removes everything this run created; the guard made sure none of it existed before. */
  async discard(): Promise<void> {
    if (this.moved) await rm(join(this.dataDirectory, raftDirectoryName), { recursive: true, force: true });
    await rm(this.createdRoot ?? this.stagingDirectory, { recursive: true, force: true });
  }
}
