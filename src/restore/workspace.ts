import { lstat, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { asLocalStorageError, errnoCode } from '../errors.js';
import { topologyFileName } from '../topology/topology-file-name.js';
import { fsyncDirectory } from '../util/fsync.js';
import { makeDirectories } from '../util/make-directories.js';
import { removeRestoreRecord, type RestoreRecord, writeRestoreRecord } from './restore-record.js';

/** Everything a broker reads from a restored node lives under this top-level directory. */
export const raftDirectoryName = 'raft-partition';
export const stagingDirectoryName = '.zeebe-restore-staging';
const ownerFileName = 'owner.json';

/** Who is filling a staging area: tells a later run whether it is abandoned or still in use. */
export interface StagingOwner {
  pid: number;
  hostname: string;
  /** What is being restored: a backup id (older runs), or a description such as `backups 5, 6`. */
  backupId: string;
  startedAt: string;
}

/**
 * The staging area lives inside the data directory, so it is on the same file system even when
 * the data directory is a mount point, and the finished restore appears with one rename: a broker
 * never sees a half-restored node. Until then, discard() puts the node back as the guard found it.
 */
export class RestoreWorkspace {
  private committed = false;

  private constructor(
    readonly dataDirectory: string,
    readonly stagingDirectory: string,
    /** The outermost directory this run created, if the data directory did not exist. */
    private readonly createdRoot: string | undefined,
  ) {}

  static async create(dataDirectory: string, restoring: bigint | string): Promise<RestoreWorkspace> {
    const createdRoot = await makeDirectories(dataDirectory).catch((error: unknown) => {
      throw asLocalStorageError(error, 'create the data directory', dataDirectory);
    });
    const stagingDirectory = join(dataDirectory, stagingDirectoryName);
    const workspace = new RestoreWorkspace(dataDirectory, stagingDirectory, createdRoot);
    const owner: StagingOwner = {
      pid: process.pid,
      hostname: hostname(),
      backupId: restoring.toString(),
      startedAt: new Date().toISOString(),
    };
    try {
      await mkdir(stagingDirectory);
      await writeFile(join(stagingDirectory, ownerFileName), JSON.stringify(owner));
    } catch (error) {
      await workspace.discard();
      throw asLocalStorageError(error, 'create the staging directory', stagingDirectory);
    }
    return workspace;
  }

  partitionDirectory(partitionId: number): string {
    return join(this.stagingDirectory, raftDirectoryName, 'partitions', String(partitionId));
  }

  /** Where node 0 of an 8.8+ cluster stages `.topology.meta`; it moves into place with the partitions. */
  get topologyFile(): string {
    return join(this.stagingDirectory, topologyFileName);
  }

  /**
   * Records the restore, then moves the partitions into place in one rename. A crash between the
   * two leaves a record next to a complete staging area, which the next run finishes.
   */
  async commit(record: RestoreRecord): Promise<void> {
    try {
      // Every level a broker walks must be durable before the rename publishes it.
      await fsyncDirectory(join(this.stagingDirectory, raftDirectoryName, 'partitions'));
      await fsyncDirectory(join(this.stagingDirectory, raftDirectoryName));
      this.committed = true;
      await writeRestoreRecord(this.dataDirectory, record, join(this.stagingDirectory, 'restore-record.tmp'));
      await moveIntoPlace(this.dataDirectory);
    } catch (error) {
      throw asLocalStorageError(error, 'move the restored partitions into', this.dataDirectory);
    }
  }

  /** Removes everything this run created; the guard made sure none of it existed before. */
  async discard(): Promise<void> {
    if (this.committed) {
      await rm(join(this.dataDirectory, raftDirectoryName), { recursive: true, force: true });
      await rm(join(this.dataDirectory, topologyFileName), { force: true });
      await removeRestoreRecord(this.dataDirectory);
    }
    await rm(this.createdRoot ?? this.stagingDirectory, { recursive: true, force: true });
  }
}

/** The commit's second half, also used to finish a commit a crash interrupted. */
export async function moveIntoPlace(dataDirectory: string): Promise<void> {
  const staging = join(dataDirectory, stagingDirectoryName);
  // The topology file first: the partitions still in staging mark the commit as unfinished, so a
  // crash in between is finished by the next run, which finds the topology file already moved.
  await rename(join(staging, topologyFileName), join(dataDirectory, topologyFileName)).catch((error: unknown) => {
    if (errnoCode(error) !== 'ENOENT') throw error;
  });
  await rename(join(staging, raftDirectoryName), join(dataDirectory, raftDirectoryName));
  await fsyncDirectory(dataDirectory);
  await rm(staging, { recursive: true, force: true });
}

export interface StagingLeftover {
  path: string;
  /** Undefined when the owner file was not written yet (or is damaged). */
  owner?: StagingOwner;
  /** Whether it holds restored partitions; complete and verified only if a restore record exists. */
  holdsPartitions: boolean;
}

/** Only a real directory can be ours: a link or file of that name was put there by someone else. */
export async function findStagingLeftover(dataDirectory: string): Promise<StagingLeftover | undefined> {
  const path = join(dataDirectory, stagingDirectoryName);
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  let ownerText: string | undefined;
  try {
    ownerText = await readFile(join(path, ownerFileName), 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw asLocalStorageError(error, 'inspect', path);
  }
  const leftover: StagingLeftover = {
    path,
    holdsPartitions: await exists(join(path, raftDirectoryName)),
  };
  const owner = ownerText === undefined ? undefined : parseOwner(ownerText);
  if (owner) leftover.owner = owner;
  return leftover;
}

/** A live process on this host still owns the staging area: another restore is running. */
export function isOwnerAlive(owner: StagingOwner): boolean {
  if (owner.hostname !== hostname() || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

function parseOwner(text: string): StagingOwner | undefined {
  try {
    const owner = JSON.parse(text) as StagingOwner;
    return typeof owner.pid === 'number' && typeof owner.hostname === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
