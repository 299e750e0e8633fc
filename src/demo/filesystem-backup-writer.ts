import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { jsonLong } from '../manifest/lossless-json.js';
import type { BackupStatus } from '../manifest/manifest.js';
import { contentKey, manifestKey } from '../store/store-layout.js';

/**
 * Writes one partition's backup into a filesystem store exactly as Zeebe's FILESYSTEM store lays
 * it out (common manifest dialect, v2 layout). The demo and the tests use it to prepare stores;
 * the restore itself never writes to a store.
 */
export interface PartitionBackup {
  partitionId: number;
  checkpointId: bigint;
  nodeId: number;
  status?: BackupStatus;
  failureReason?: string;
  descriptor?: {
    snapshotId?: string;
    checkpointPosition: bigint;
    numberOfPartitions: number;
    brokerVersion: string;
  };
  /** The snapshot's files, including its `.checksum` file. */
  snapshotFiles?: SourceFile[];
  /** The journal segment files. */
  segmentFiles: SourceFile[];
  createdAt?: string;
}

/** A file to put into the backup under `name`, copied from `source`. */
export interface SourceFile {
  name: string;
  source: string;
}

/** Files of a directory under their own names. */
export async function sourceFilesIn(directory: string): Promise<SourceFile[]> {
  const names = (await readdir(directory)).sort();
  return names.map((name) => ({ name, source: join(directory, name) }));
}

export async function writeFilesystemBackup(basePath: string, backup: PartitionBackup): Promise<void> {
  const { partitionId, checkpointId, nodeId } = backup;
  const node = String(nodeId);
  const copyAll = (kind: 'snapshot' | 'segments', files: SourceFile[]) =>
    Promise.all(
      files.map(async ({ name, source }) => {
        const target = join(basePath, contentKey(partitionId, checkpointId, node, kind, name));
        await mkdir(dirname(target), { recursive: true });
        await copyFile(source, target);
      }),
    );
  await copyAll('snapshot', backup.snapshotFiles ?? []);
  await copyAll('segments', backup.segmentFiles);

  const status = backup.status ?? 'COMPLETED';
  const names = (files: SourceFile[]) => ({ files: files.map(({ name }) => ({ name })) });
  const createdAt = backup.createdAt ?? new Date().toISOString();
  const manifest = {
    id: { nodeId, partitionId, checkpointId: jsonLong(checkpointId) },
    ...(backup.descriptor
      ? {
          descriptor: {
            ...(backup.descriptor.snapshotId ? { snapshotId: backup.descriptor.snapshotId } : {}),
            checkpointPosition: jsonLong(backup.descriptor.checkpointPosition),
            numberOfPartitions: backup.descriptor.numberOfPartitions,
            brokerVersion: backup.descriptor.brokerVersion,
          },
        }
      : {}),
    statusCode: status,
    ...(backup.failureReason ? { failureReason: backup.failureReason } : {}),
    snapshot: names(backup.snapshotFiles ?? []),
    segments: names(backup.segmentFiles),
    createdAt,
    modifiedAt: createdAt,
  };
  const manifestPath = join(basePath, manifestKey(partitionId, checkpointId, node));
  await mkdir(dirname(manifestPath), { recursive: true });
  await writeFile(manifestPath, JSON.stringify(manifest));
}
