import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import type { PartitionBackup } from '../../src/demo/common-manifest.js';
import { fixtureCheckpoint, fixtures, fixtureSnapshotId, journalFilesFor, restoredPartitionsOf, sha256, snapshotFiles, tempDir } from './fixtures.js';
import { runRestore } from './run-restore.js';

/** Node 0 of a one-broker cluster, which owns all `partitionCount` partitions and restores into `<work>/data`. */
export function oneBrokerEnv(work: string, partitionCount: number): Record<string, string> {
  return {
    ZEEBE_BROKER_CLUSTER_NODEID: '0',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '1',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: String(partitionCount),
    ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
  };
}

/** A completed backup of partitions 1 and 2 made of the files Zeebe 8.5.4 wrote, taken by `nodeId`. */
export async function zeebeFixtureBackups(checkpointId: bigint, nodeId = 0): Promise<PartitionBackup[]> {
  return Promise.all(
    [1, 2].map(async (partitionId) => ({
      partitionId,
      checkpointId,
      nodeId,
      descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: fixtureCheckpoint, numberOfPartitions: 2, brokerVersion: '8.5.4' },
      snapshotFiles: await snapshotFiles(),
      segmentFiles: await journalFilesFor(partitionId),
    })),
  );
}

/**
 * The partitions a FILESYSTEM restore of `backups` produces (node 0 of a one-broker cluster):
 * the byte-for-byte reference for restores of the same backup from other stores.
 */
export async function filesystemRestoreReference(backups: PartitionBackup[], backupId: bigint): Promise<Record<string, string>> {
  const work = await tempDir();
  for (const backup of backups) await writeFilesystemBackup(join(work, 'backups'), { ...backup, status: 'COMPLETED' });
  const env = {
    ...oneBrokerEnv(work, backups.length),
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
  };
  const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
  expect(run.stderr).toBe('');
  return restoredPartitionsOf(join(work, 'data'));
}

/** Zeebe's own truncation of the fixture journal (journal-b-truncated-expected.sha256sums), for partition `p`. */
export function expectZeebeTruncatedJournal(partitionDirectory: string, partitionId: number): void {
  const expected = readFileSync(join(fixtures, 'journal-b-truncated-expected.sha256sums'), 'utf8').trim().split('\n');
  for (const line of expected) {
    const [hash, path] = line.split(/\s+/);
    const name = path!.split('/')[1]!.replace('partition-2-', `partition-${partitionId}-`);
    expect(sha256(join(partitionDirectory, name)), name).toBe(hash);
  }
}

/** Neither a secret nor a recognisable piece of one appears in `output`. */
export function expectNoSecretIn(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/recognisable/i);
}
