import { describe, expect, it } from 'vitest';
import { backupStatus, backupStatusJson } from '../../src/backups/backup-status.js';
import type { BackupManifest } from '../../src/manifest/manifest.js';

function manifest(partitionId: number, nodeId: number, status: BackupManifest['status'], extra: Partial<BackupManifest> = {}): BackupManifest {
  return {
    nodeId,
    partitionId,
    checkpointId: 10n,
    status,
    snapshotFiles: [],
    segmentFiles: [],
    ...(status === 'COMPLETED' || status === 'IN_PROGRESS'
      ? { descriptor: { snapshotId: `1-1-${partitionId}-1`, checkpointPosition: 100n + BigInt(partitionId), numberOfPartitions: 3, brokerVersion: '8.5.4' } }
      : {}),
    createdAt: '2024-05-01T10:00:00.512345678Z',
    modifiedAt: '2024-05-01T10:00:07Z',
    ...extra,
  };
}

const cluster = (...partitions: BackupManifest[][]) => new Map(partitions.map((copies, i) => [i + 1, copies]));

describe('the state of a backup, as the management API computes it', () => {
  it('COMPLETED when every partition has a completed copy, taking the best copy per partition', () => {
    const status = backupStatus(
      10n,
      cluster(
        [manifest(1, 0, 'COMPLETED')],
        [manifest(2, 0, 'FAILED', { failureReason: 'leader changed' }), manifest(2, 1, 'COMPLETED')],
        [manifest(3, 2, 'IN_PROGRESS'), manifest(3, 0, 'COMPLETED')],
      ),
    );
    expect(status.state).toBe('COMPLETED');
    expect(status.details.map((detail) => [detail.partitionId, detail.state, detail.brokerId])).toEqual([
      [1, 'COMPLETED', 0],
      [2, 'COMPLETED', 1],
      [3, 'COMPLETED', 0],
    ]);
  });

  it('FAILED when any partition failed, with the reasons concatenated as Zeebe does', () => {
    const status = backupStatus(
      10n,
      cluster([manifest(1, 0, 'COMPLETED')], [manifest(2, 1, 'FAILED', { failureReason: 'disk full' })], [manifest(3, 2, 'FAILED', { failureReason: 'timeout' })]),
    );
    expect(status.state).toBe('FAILED');
    expect(status.failureReason).toBe('Backup on partition 2 failed due to disk full. Backup on partition 3 failed due to timeout. ');
  });

  it('INCOMPLETE when some partitions have a backup and others none', () => {
    expect(backupStatus(10n, cluster([manifest(1, 0, 'COMPLETED')], [manifest(2, 0, 'IN_PROGRESS')], [])).state).toBe('INCOMPLETE');
  });

  it('IN_PROGRESS when every partition has one and some are still running', () => {
    expect(backupStatus(10n, cluster([manifest(1, 0, 'COMPLETED')], [manifest(2, 0, 'IN_PROGRESS')], [manifest(3, 0, 'COMPLETED')])).state).toBe(
      'IN_PROGRESS',
    );
  });

  it('DELETED when a partition holds only a tombstone, DOES_NOT_EXIST when nothing is there', () => {
    expect(backupStatus(10n, cluster([manifest(1, 0, 'COMPLETED')], [manifest(2, 0, 'DELETED')], [manifest(3, 0, 'COMPLETED')])).state).toBe('DELETED');
    expect(backupStatus(10n, cluster([], [], [])).state).toBe('DOES_NOT_EXIST');
  });

  it('prints the API response body field by field, longs exact, absent values omitted', () => {
    const status = backupStatus(
      9223372036854775807n,
      cluster([manifest(1, 0, 'COMPLETED', { checkpointId: 9223372036854775807n })], [manifest(2, 1, 'FAILED', { failureReason: 'x' })]),
    );
    const json = JSON.stringify(backupStatusJson(status));
    expect(json).toContain('"backupId":9223372036854775807');
    expect(JSON.parse(json)).toEqual({
      backupId: 9223372036854776000,
      state: 'FAILED',
      failureReason: 'Backup on partition 2 failed due to x. ',
      details: [
        {
          partitionId: 1,
          state: 'COMPLETED',
          brokerId: 0,
          createdAt: '2024-05-01T10:00:00.512345678Z',
          lastUpdatedAt: '2024-05-01T10:00:07Z',
          brokerVersion: '8.5.4',
          snapshotId: '1-1-1-1',
          checkpointPosition: 101,
        },
        {
          partitionId: 2,
          state: 'FAILED',
          brokerId: 1,
          failureReason: 'x',
          createdAt: '2024-05-01T10:00:00.512345678Z',
          lastUpdatedAt: '2024-05-01T10:00:07Z',
        },
      ],
    });
  });
});
