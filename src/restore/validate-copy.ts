import { BackupInvalidError } from '../errors.js';
import { parseSegmentFileName } from '../journal/segment-format.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy } from '../store/backup-store.js';

export interface CopyPlan {
  snapshotId?: string;
  checkpointPosition: bigint;
  /** Snapshot files that go into `snapshots/<snapshotId>/`. */
  snapshotFiles: BackupFile[];
  /** The one `.checksum` file, placed at `snapshots/<snapshotId>.checksum`. */
  checksumFile?: BackupFile;
  segmentFiles: BackupFile[];
  /** Segments of the backup left out because they lie wholly after the checkpoint (see withoutSegmentsAfterCheckpoint). */
  segmentsAfterCheckpoint?: BackupFile[];
  /** The first position in those segments: what the log holds next, for a checkpoint not found. */
  positionAfterKept?: bigint;
}

/**
 * Checks a completed copy before anything is downloaded, so a backup that cannot produce a
 * working partition fails without writing a byte.
 */
export function planCopy(copy: BackupCopy, expectedPartitionCount: number | undefined): CopyPlan {
  const { manifest, ref } = copy;
  const where = `partition ${ref.partitionId}, node ${ref.nodeId}'s copy (${ref.location})`;
  const invalid = (problem: string) => new BackupInvalidError(`Backup is not valid: ${problem} (${where}).`);
  const descriptor = manifest.descriptor;
  if (!descriptor) throw invalid('the completed manifest has no descriptor');
  if (expectedPartitionCount !== undefined && descriptor.numberOfPartitions !== expectedPartitionCount) {
    throw new BackupInvalidError(
      `Backup is not valid: Expected backup to have ${expectedPartitionCount} partitions, but has ` +
        `${descriptor.numberOfPartitions}. The broker's partition count must match the cluster that took the backup ` +
        `(${where}); set zeebe.restore.validateConfig=false only if you know why they differ.`,
    );
  }
  if (manifest.segmentFiles.length === 0) throw invalid('the backup holds no log segments');
  for (const { name } of manifest.segmentFiles) {
    const segment = parseSegmentFileName(name);
    if (!segment || segment.partitionId !== ref.partitionId) {
      throw invalid(`${JSON.stringify(name)} is not a log segment of partition ${ref.partitionId}`);
    }
  }
  const plan: CopyPlan = {
    checkpointPosition: descriptor.checkpointPosition,
    snapshotFiles: manifest.snapshotFiles.filter(({ name }) => !name.endsWith('.checksum')),
    segmentFiles: manifest.segmentFiles,
  };
  const checksumFiles = manifest.snapshotFiles.filter(({ name }) => name.endsWith('.checksum'));
  if (descriptor.snapshotId === undefined) {
    if (manifest.snapshotFiles.length > 0) throw invalid('it lists snapshot files but no snapshot id');
    return plan;
  }
  if (checksumFiles.length !== 1) {
    throw invalid(`snapshot ${descriptor.snapshotId} must come with exactly one .checksum file, found ${checksumFiles.length}`);
  }
  plan.snapshotId = descriptor.snapshotId;
  plan.checksumFile = checksumFiles[0]!;
  return plan;
}
