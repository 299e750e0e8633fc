import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * Zeebe 8.5.4's truncations of the fixture journal: at asqn 11003 inside a full segment, and at
 * asqn 14882 inside the active one (test/fixtures/zeebe-8.5.4/README.md).
 */
export const zeebeTruncations = {
  fullSegment: { checkpointPosition: fixtureCheckpoint, sums: 'journal-b-truncated-expected.sha256sums' },
  activeSegment: { checkpointPosition: 14882n, sums: 'journal-b-truncated-active-expected.sha256sums' },
} as const;

export type ZeebeTruncation = (typeof zeebeTruncations)[keyof typeof zeebeTruncations];

/**
 * A completed backup of partitions 1 and 2 made of the files Zeebe 8.5.4 wrote, taken by `nodeId`,
 * with the checkpoint of one of Zeebe's truncations.
 */
export async function zeebeFixtureBackups(
  checkpointId: bigint,
  nodeId = 0,
  { checkpointPosition }: ZeebeTruncation = zeebeTruncations.fullSegment,
): Promise<PartitionBackup[]> {
  return Promise.all(
    [1, 2].map(async (partitionId) => ({
      partitionId,
      checkpointId,
      nodeId,
      descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition, numberOfPartitions: 2, brokerVersion: '8.5.4' },
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

/**
 * Zeebe's own truncation of the fixture journal, for partition `p`: exactly the files it kept,
 * with exactly its bytes.
 */
export function expectZeebeTruncatedJournal(
  partitionDirectory: string,
  partitionId: number,
  { sums }: ZeebeTruncation = zeebeTruncations.fullSegment,
): void {
  const expected = readFileSync(join(fixtures, sums), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [hash, path] = line.split(/\s+/);
      return { hash, name: path!.split('/').at(-1)!.replace('partition-2-', `partition-${partitionId}-`) };
    });
  const segments = readdirSync(partitionDirectory).filter((name) => name.endsWith('.log'));
  expect(segments.sort()).toEqual(expected.map(({ name }) => name).sort());
  for (const { hash, name } of expected) expect(sha256(join(partitionDirectory, name)), name).toBe(hash);
}

/** Neither a secret nor a recognisable piece of one appears in `output`. */
export function expectNoSecretIn(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/recognisable/i);
}
