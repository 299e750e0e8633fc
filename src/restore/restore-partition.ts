import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asLocalStorageError, RestoreError } from '../errors.js';
import { type TruncationResult, truncateJournalAtCheckpoint } from '../journal/truncate.js';
import type { Logger } from '../log/logger.js';
import { verifySnapshot } from '../snapshot/verify-snapshot.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import { runAll } from '../util/concurrency.js';
import { formatBytes } from '../util/format.js';
import { fsyncDirectory } from '../util/fsync.js';
import { filesOf } from './restore-plan.js';
import { type FileTransfer, type TransferredFile, transferFile } from './transfer-file.js';
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
  /** The node whose copy was restored (of the first backup, for a chain). */
  nodeId: number;
  /** A chain: every backup used, oldest first, with the node whose copy was used. */
  chain?: { backupId: bigint; nodeId: number }[];
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

  const checksumPath = join(snapshotsDirectory, `${plan.snapshotId}.checksum`);
  const destinationOf = (kind: BackupFileKind, file: BackupFile) =>
    kind === 'segments' ? join(directory, file.name) : file === plan.checksumFile ? checksumPath : join(snapshotDirectory!, file.name);
  const transfers: FileTransfer[] = filesOf(plan).map(({ kind, file }) => ({
    copy,
    kind,
    file,
    destination: destinationOf(kind, file),
    checksum: kind === 'snapshot' && file !== plan.checksumFile,
  }));
  log.info(
    `Partition ${partitionId}: restoring node ${copy.ref.nodeId}'s copy` +
      (plan.snapshotId ? ` (snapshot ${plan.snapshotId}, ` : ' (no snapshot, ') +
      `${plan.segmentFiles.length} log segments, checkpoint position ${plan.checkpointPosition})` +
      `${skippedSegmentsNote(plan.segmentsAfterCheckpoint?.length ?? 0)}.`,
  );
  const source = `Partition ${partitionId} (node ${copy.ref.nodeId}'s copy, ${copy.ref.location})`;
  const transferAll = (kind: BackupFileKind) =>
    runAll(
      transfers
        .filter((transfer) => transfer.kind === kind)
        .map((transfer) => () => limit(async () => ({ name: transfer.file.name, ...(await transferFile(store, transfer, controller.signal)) }))),
      controller,
    );
  let bytes = 0;
  let truncation: TruncationResult | undefined;
  // The log is checked and cut as soon as its segments are in, while snapshot files still arrive;
  // snapshot files are checksummed as they are written. What is left after the last byte is small.
  await runAll(
    [
      async () => {
        const segments = await transferAll('segments');
        bytes += totalBytes(segments);
        truncation = await naming(
          source,
          () => truncateJournalAtCheckpoint(directory, partitionId, plan.checkpointPosition, plan.positionAfterKept),
          directory,
        );
      },
      async () => {
        const files = await transferAll('snapshot');
        bytes += totalBytes(files);
        if (!snapshotDirectory) return;
        await Promise.all([snapshotsDirectory, snapshotDirectory].map(fsyncDirectory));
        if (!plan.checksumFile) return;
        const checksums = new Map(files.flatMap(({ name, crc32c }) => (crc32c === undefined ? [] : [[name, crc32c] as const])));
        await naming(source, () => verifySnapshot(snapshotDirectory, checksumPath, plan.snapshotId!, checksums), directory);
      },
    ],
    controller,
  );
  log.info(
    `Partition ${partitionId}: restored ${transfers.length} files (${formatBytes(bytes)}), ` +
      `${plan.snapshotId ? 'snapshot verified, ' : ''}log truncated after index ${truncation!.checkpointIndex} (checkpoint position ${plan.checkpointPosition}).`,
  );
  const result: PartitionResult = {
    partitionId,
    nodeId: copy.ref.nodeId,
    files: transfers.length,
    bytes,
    checkpointPosition: plan.checkpointPosition,
    checkpointIndex: truncation!.checkpointIndex,
  };
  if (plan.snapshotId) result.snapshotId = plan.snapshotId;
  return result;
}

function totalBytes(files: TransferredFile[]): number {
  return files.reduce((total, file) => total + file.bytes, 0);
}

/** `; 1 log segment after the checkpoint not downloaded`, or nothing. */
export function skippedSegmentsNote(count: number): string {
  return count === 0 ? '' : `; ${count} log segment${count === 1 ? '' : 's'} after the checkpoint not downloaded`;
}

/**
 * Checks on local files do not know which partition and copy they belong to; the operator needs
 * it. Paths inside the staging area, which is gone by the time anyone reads the message, are shown
 * relative to the partition (`snapshots/<id>/000021.sst`).
 */
export async function naming<T>(source: string, step: () => Promise<T>, stagingDirectory?: string): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof RestoreError)) throw error;
    const message = stagingDirectory ? error.message.split(`${stagingDirectory}/`).join('') : error.message;
    throw new RestoreError(error.failureClass, `${source}: ${message}`, { cause: error });
  }
}
