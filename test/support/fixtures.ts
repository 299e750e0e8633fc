import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PartitionBackup, writeFilesystemBackup, type SourceFile } from '../../src/demo/filesystem-backup-writer.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const fixtures = join(projectRoot, 'test/fixtures/zeebe-8.5.4');
export const fixtureSnapshotId = '3806-2-9670-9600';
/** asqn 11003 is index 4336 in -3.log; the expected truncation result is in the fixtures. */
export const fixtureCheckpoint = 11003n;

const createdTempDirs: string[] = [];

/** A fresh directory, removed after the test file by `test/support/cleanup.ts`. */
export async function tempDir(prefix = 'zeebe-restore-test-'): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  createdTempDirs.push(directory);
  return directory;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(createdTempDirs.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
}

/** Inverts one byte in place: the smallest corruption there is. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    await handle.write(Buffer.of(byte.readUInt8(0) ^ 0xff), 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** journal-b's segments renamed for partition `p` (segment bytes do not name the partition). */
export async function journalFilesFor(partitionId: number): Promise<SourceFile[]> {
  const directory = join(fixtures, 'journal-b');
  return (await readdir(directory)).sort().map((name) => ({
    name: name.replace('raft-partition-partition-2-', `raft-partition-partition-${partitionId}-`),
    source: join(directory, name),
  }));
}

export async function snapshotFiles(): Promise<SourceFile[]> {
  const directory = join(fixtures, 'snapshot-b', fixtureSnapshotId);
  const files = (await readdir(directory)).sort().map((name) => ({ name, source: join(directory, name) }));
  const checksum = `${fixtureSnapshotId}.checksum`;
  return [...files, { name: checksum, source: join(fixtures, 'snapshot-b', checksum) }];
}

/** Partition 1 of Zeebe 8.5.4's fixture files as one node's completed backup of a one-partition cluster. */
export async function fixturePartitionBackup(
  checkpointId: bigint,
  { nodeId = 0, brokerVersion = '8.5.4' }: { nodeId?: number; brokerVersion?: string } = {},
): Promise<PartitionBackup> {
  return {
    partitionId: 1,
    checkpointId,
    nodeId,
    descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: fixtureCheckpoint, numberOfPartitions: 1, brokerVersion },
    snapshotFiles: await snapshotFiles(),
    segmentFiles: await journalFilesFor(1),
  };
}

export interface ClusterBackupOptions {
  basePath: string;
  backupId: bigint;
  partitionCount: number;
  /** Node that took each partition's backup; defaults to (p - 1) % 3. */
  leaderOf?: (partitionId: number) => number;
  checkpointOf?: (partitionId: number) => bigint;
  brokerVersion?: string;
}

/** A completed backup of every partition, made of Zeebe-written fixture bytes. */
export async function writeClusterBackup(options: ClusterBackupOptions): Promise<void> {
  const { basePath, backupId, partitionCount } = options;
  for (let partitionId = 1; partitionId <= partitionCount; partitionId++) {
    await writeFilesystemBackup(basePath, {
      partitionId,
      checkpointId: backupId,
      nodeId: options.leaderOf?.(partitionId) ?? (partitionId - 1) % 3,
      descriptor: {
        snapshotId: fixtureSnapshotId,
        checkpointPosition: options.checkpointOf?.(partitionId) ?? fixtureCheckpoint,
        numberOfPartitions: partitionCount,
        brokerVersion: options.brokerVersion ?? '8.5.4',
      },
      snapshotFiles: await snapshotFiles(),
      segmentFiles: await journalFilesFor(partitionId),
    });
  }
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every path below `root` with its type and, for files, content hash: to prove "left as found". */
export async function treeOf(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (directory: string): Promise<void> => {
    for (const name of (await readdir(directory)).sort()) {
      const path = join(directory, name);
      const info = await lstat(path);
      const key = relative(root, path);
      if (info.isDirectory()) {
        result[key] = 'dir';
        await walk(path);
      } else {
        result[key] = info.isFile() ? createHash('sha256').update(await readFile(path)).digest('hex') : 'other';
      }
    }
  };
  await walk(root);
  return result;
}

/** What a broker reads from a restored data directory: the partitions, not the restore record. */
export async function restoredPartitionsOf(dataDirectory: string): Promise<Record<string, string>> {
  return treeOf(join(dataDirectory, 'raft-partition'));
}
