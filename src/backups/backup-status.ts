import type { BackupManifest } from '../manifest/manifest.js';

/**
 * The status of a backup as the broker's management API reports it (`GET actuator/backups/{id}`),
 * computed from the manifests in the store, so it can be asked while the cluster is down.
 * Rules from Zeebe's gateway (backup-store-format.md §4).
 */
export type PartitionBackupState = 'COMPLETED' | 'IN_PROGRESS' | 'FAILED' | 'DELETED' | 'DOES_NOT_EXIST';
export type OverallBackupState = 'COMPLETED' | 'IN_PROGRESS' | 'FAILED' | 'INCOMPLETE' | 'DELETED' | 'DOES_NOT_EXIST';

export interface PartitionBackupStatus {
  partitionId: number;
  state: PartitionBackupState;
  failureReason?: string;
  createdAt?: string;
  lastUpdatedAt?: string;
  brokerId?: number;
  brokerVersion?: string;
  snapshotId?: string;
  checkpointPosition?: bigint;
}

export interface BackupStatus {
  backupId: bigint;
  state: OverallBackupState;
  failureReason?: string;
  details: PartitionBackupStatus[];
}

/** Best first: the copy a partition's status is taken from. */
const copyPreference: BackupManifest['status'][] = ['COMPLETED', 'IN_PROGRESS', 'FAILED', 'DELETED'];

export function partitionBackupStatus(partitionId: number, copies: BackupManifest[]): PartitionBackupStatus {
  const best = [...copies].sort(
    (a, b) => copyPreference.indexOf(a.status) - copyPreference.indexOf(b.status) || a.nodeId - b.nodeId,
  )[0];
  if (!best) return { partitionId, state: 'DOES_NOT_EXIST' };
  const status: PartitionBackupStatus = { partitionId, state: best.status, brokerId: best.nodeId };
  if (best.failureReason !== undefined) status.failureReason = best.failureReason;
  if (best.createdAt !== undefined) status.createdAt = best.createdAt;
  if (best.modifiedAt !== undefined) status.lastUpdatedAt = best.modifiedAt;
  if (best.descriptor) {
    status.brokerVersion = best.descriptor.brokerVersion;
    if (best.descriptor.snapshotId !== undefined) status.snapshotId = best.descriptor.snapshotId;
    status.checkpointPosition = best.descriptor.checkpointPosition;
  }
  return status;
}

/** `copiesByPartition` holds every partition of the cluster, with no copies where none exist. */
export function backupStatus(backupId: bigint, copiesByPartition: Map<number, BackupManifest[]>): BackupStatus {
  const details = [...copiesByPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partitionId, copies]) => partitionBackupStatus(partitionId, copies));
  const states = new Set(details.map((detail) => detail.state));
  const status: BackupStatus = { backupId, state: overallState(states), details };
  if (status.state === 'FAILED') {
    status.failureReason = details
      .filter((detail) => detail.state === 'FAILED')
      .map((detail) => `Backup on partition ${detail.partitionId} failed due to ${detail.failureReason ?? 'an unknown reason'}. `)
      .join('');
  }
  return status;
}

function overallState(states: Set<PartitionBackupState>): OverallBackupState {
  if (states.has('FAILED')) return 'FAILED';
  if (states.has('DELETED')) return 'DELETED';
  const exists = states.has('IN_PROGRESS') || states.has('COMPLETED');
  if (exists && states.has('DOES_NOT_EXIST')) return 'INCOMPLETE';
  if (states.has('IN_PROGRESS')) return 'IN_PROGRESS';
  if (!exists) return 'DOES_NOT_EXIST';
  return 'COMPLETED';
}

/** The management API's JSON: longs as JSON numbers without rounding, absent values omitted. */
export function backupStatusJson(status: BackupStatus): unknown {
  return {
    backupId: JSON.rawJSON(status.backupId.toString()),
    state: status.state,
    ...(status.failureReason !== undefined ? { failureReason: status.failureReason } : {}),
    details: status.details.map(({ checkpointPosition, ...detail }) => ({
      ...detail,
      ...(checkpointPosition !== undefined ? { checkpointPosition: JSON.rawJSON(checkpointPosition.toString()) } : {}),
    })),
  };
}
