import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asLocalStorageError, RestoreError } from '../errors.js';
import { type TruncationResult, truncateJournalAtCheckpoint } from '../journal/truncate.js';
import type { ExpectedMembers } from '../cluster/partition-layout.js';
import type { LogSummary } from '../journal/log-summary.js';
import type { Logger } from '../log/logger.js';
import { readSnapshotPositions, type SnapshotPositions } from '../snapshot/snapshot-positions.js';
import { describeMembershipMismatch, membershipMismatch, type MembershipMismatch, requireStartable } from './broker-readiness.js';
import { verifySnapshot } from '../snapshot/verify-snapshot.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import { type Limit, runAll } from '../util/concurrency.js';
import { formatBytes } from '../util/format.js';
import { fsyncDirectory } from '../util/fsync.js';
import { filesOf } from './restore-plan.js';
import { type FileTransfer, type TransferredFile, transferFile } from './transfer-file.js';
import type { CopyPlan } from './validate-copy.js';

export interface PartitionRestore {
  store: BackupStore;
  expectedMembers: ExpectedMembers;
  copy: BackupCopy;
  plan: CopyPlan;
  /** Stored sizes the plan learnt: large raw files download in parts. */
  storedSizes?: Map<BackupFile, number>;
  /** `raft-partition/partitions/<p>` inside the staging area. */
  directory: string;
  /** Bounds file transfers across all partitions. */
  limit: Limit;
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
  /** What the broker will start from: the restored log, the snapshot's positions (see broker-readiness.ts). */
  log: LogSummary;
  snapshotPositions?: SnapshotPositions;
  /** The log's Raft members differ from the configuration's (a warning; an error for `verify --strict`). */
  membership?: MembershipMismatch;
}

/** restore-semantics.md §2.3, steps 3–6, for one partition, inside the staging area. */
export async function restorePartition(job: PartitionRestore): Promise<PartitionResult> {
  const { store, copy, plan, directory, limit, controller, log, expectedMembers } = job;
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
    ...(job.storedSizes?.has(file) ? { storedSize: job.storedSizes.get(file)! } : {}),
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
        .map((transfer) => async () => ({ name: transfer.file.name, ...(await transferFile(store, transfer, controller.signal, limit)) })),
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
  const startup = await checkStartup({ partitionId, source, directory, snapshotId: plan.snapshotId, log: truncation!.log, expectedMembers, logger: log });
  log.info(
    `Partition ${partitionId}: restored ${transfers.length} files (${formatBytes(bytes)}), ` +
      `${plan.snapshotId ? 'snapshot verified, ' : ''}log truncated after index ${truncation!.checkpointIndex} (checkpoint position ${plan.checkpointPosition}); ` +
      `${describeStartup(startup)}.`,
  );
  return {
    partitionId,
    nodeId: copy.ref.nodeId,
    files: transfers.length,
    bytes,
    checkpointPosition: plan.checkpointPosition,
    checkpointIndex: truncation!.checkpointIndex,
    ...(plan.snapshotId ? { snapshotId: plan.snapshotId } : {}),
    ...startup,
  };
}

interface StartupCheck {
  partitionId: number;
  /** Names the partition and its copy in messages. */
  source: string;
  /** The partition directory in the staging area. */
  directory: string;
  snapshotId: string | undefined;
  log: LogSummary;
  expectedMembers: ExpectedMembers;
  logger: Logger;
}

/**
 * What a broker needs to start on the restored partition (broker-readiness.ts): fails with exit
 * code 5 when it would not start; warns when the log's Raft members differ from the configuration's.
 */
export async function checkStartup(check: StartupCheck): Promise<Pick<PartitionResult, 'log' | 'snapshotPositions' | 'membership'>> {
  const { partitionId, source, directory, snapshotId, log, expectedMembers, logger } = check;
  const snapshotPositions = snapshotId ? await readSnapshotPositions(join(directory, 'snapshots', snapshotId), snapshotId) : undefined;
  await naming(source, async () => requireStartable({ partitionId, ...(snapshotId ? { snapshotId } : {}), ...(snapshotPositions ? { snapshot: snapshotPositions } : {}), log }), directory);
  const membership = membershipMismatch(log, expectedMembers.nodes);
  if (membership) logger.warn(describeMembershipMismatch(partitionId, membership, expectedMembers.layout));
  return { log, ...(snapshotPositions ? { snapshotPositions } : {}), ...(membership ? { membership } : {}) };
}

/** `the log (index 1 to 8835, positions 1 to 22641) holds the snapshot's processed position 21011 and exported position 20938`. */
export function describeStartup({ log, snapshotPositions }: Pick<PartitionResult, 'log' | 'snapshotPositions'>): string {
  const range = `index ${log.firstIndex} to ${log.lastIndex}${log.positions ? `, positions ${log.positions.first} to ${log.positions.last}` : ''}`;
  if (!snapshotPositions) return `the log (${range}) starts a broker without a snapshot`;
  const exported = snapshotPositions.exportedPosition > 0n ? ` and exported position ${snapshotPositions.exportedPosition}` : '';
  return `the log (${range}) continues the snapshot (index ${snapshotPositions.index}) and holds its processed position ${snapshotPositions.processedPosition}${exported}`;
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
