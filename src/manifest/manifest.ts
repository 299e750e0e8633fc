/**
 * One node's record of one partition's backup, normalised from either manifest dialect
 * (S3's, or the common one written by GCS, Azure and filesystem stores).
 */
export type BackupStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'DELETED';

export interface BackupFile {
  name: string;
  /** commons-compress algorithm name recorded by the broker; undefined means stored raw. */
  compression?: string;
}

export interface BackupDescriptor {
  /** Snapshot directory name; undefined for a backup that holds only log segments. */
  snapshotId?: string;
  checkpointPosition: bigint;
  numberOfPartitions: number;
  brokerVersion: string;
  firstLogPosition?: bigint;
  checkpointTimestamp?: string;
  checkpointType?: string;
}

export interface BackupManifest {
  nodeId: number;
  partitionId: number;
  checkpointId: bigint;
  status: BackupStatus;
  failureReason?: string;
  descriptor?: BackupDescriptor;
  snapshotFiles: BackupFile[];
  segmentFiles: BackupFile[];
  /** ISO-8601 UTC with the precision the broker wrote (up to nanoseconds). */
  createdAt?: string;
  modifiedAt?: string;
}
