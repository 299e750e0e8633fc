import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asLocalStorageError, RestoreError } from '../errors.js';
import { truncateJournalAtCheckpoint } from '../journal/truncate.js';
import type { Logger } from '../log/logger.js';
import { verifySnapshot } from '../snapshot/verify-snapshot.js';
import type { BackupCopy, BackupStore } from '../store/backup-store.js';
import { runAll } from '../util/concurrency.js';
import { formatBytes } from '../util/format.js';
import { fsyncDirectory } from '../util/fsync.js';
import { type FileTransfer, transferFile } from './transfer-file.js';
import type { CopyPlan } from './validate-copy.js';

export interface PartitionRestore {
  store: BackupStore;
  copy: BackupCopy;
  plan: CopyPlan;
  /** `raft-partition/partitions/<p>` inside the staging area. */
  directory: string;
  /** Bounds file transfers across all partitions. */
  limit: <T>(task: () => Promise<T>) => Promise<T>;
  controller: AbortController;
  log: Logger;
}

export interface PartitionResult {
  partitionId: number;
  nodeId: number;
  snapshotId?: string;
  files: number;
  bytes: number;
  checkpointPosition: bigint;
  checkpointIndex: bigint;
}

/** restore-semantics.md §2.3, steps 3–6, for one partition, inside the staging area. */
export async function restorePartition(job: PartitionRestore): Promise<PartitionResult> {
  const { store, copy, plan, directory, limit, controller, log } = job;
  const partitionId = copy.ref.partitionId;
  const snapshotsDirectory = join(directory, 'snapshots');
  const snapshotDirectory = plan.snapshotId ? join(snapshotsDirectory, plan.snapshotId) : undefined;
  await mkdir(snapshotDirectory ?? directory, { recursive: true }).catch((error: unknown) => {
    throw asLocalStorageError(error, 'create', snapshotDirectory ?? directory);
  });

  const transfers: FileTransfer[] = [
    ...plan.segmentFiles.map((file) => ({ copy, kind: 'segments' as const, file, destination: join(directory, file.name) })),
    ...plan.snapshotFiles.map((file) => ({ copy, kind: 'snapshot' as const, file, destination: join(snapshotDirectory!, file.name) })),
    ...(plan.checksumFile
      ? [{ copy, kind: 'snapshot' as const, file: plan.checksumFile, destination: join(snapshotsDirectory, `${plan.snapshotId}.checksum`) }]
      : []),
  ];
  log.info(
    `Partition ${partitionId}: restoring node ${copy.ref.nodeId}'s copy` +
      (plan.snapshotId ? ` (snapshot ${plan.snapshotId}, ` : ' (no snapshot, ') +
      `${plan.segmentFiles.length} log segments, checkpoint position ${plan.checkpointPosition}).`,
  );
  const sizes = await runAll(
    transfers.map((transfer) => () => limit(() => transferFile(store, transfer, controller.signal))),
    controller,
  );
  await Promise.all(
    [directory, ...(snapshotDirectory ? [snapshotsDirectory, snapshotDirectory] : [])].map(fsyncDirectory),
  );

  const source = `Partition ${partitionId} (node ${copy.ref.nodeId}'s copy)`;
  if (plan.snapshotId && plan.checksumFile) {
    const checksumPath = join(snapshotsDirectory, `${plan.snapshotId}.checksum`);
    await naming(source, () => verifySnapshot(snapshotDirectory!, checksumPath, plan.snapshotId!));
  }
  controller.signal.throwIfAborted();
  const truncation = await naming(source, () =>
    truncateJournalAtCheckpoint(directory, partitionId, plan.checkpointPosition),
  );
  const bytes = sizes.reduce((sum, size) => sum + size, 0);
  log.info(
    `Partition ${partitionId}: restored ${transfers.length} files (${formatBytes(bytes)}), ` +
      `${plan.snapshotId ? 'snapshot verified, ' : ''}log truncated after index ${truncation.checkpointIndex} (checkpoint position ${plan.checkpointPosition}).`,
  );
  const result: PartitionResult = {
    partitionId,
    nodeId: copy.ref.nodeId,
    files: transfers.length,
    bytes,
    checkpointPosition: plan.checkpointPosition,
    checkpointIndex: truncation.checkpointIndex,
  };
  if (plan.snapshotId) result.snapshotId = plan.snapshotId;
  return result;
}

/** Checks on local files do not know which partition and copy they belong to; the operator needs it. */
async function naming<T>(source: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof RestoreError)) throw error;
    throw new RestoreError(error.failureClass, `${source}: ${error.message}`, { cause: error });
  }
}
