import { cp, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFilesIn, writeFilesystemBackup, type PartitionBackup, type SourceFile } from '../../src/demo/filesystem-backup-writer.js';
import { generatePartitionData } from '../../src/demo/synthetic-partition.js';
import { writeSnapshotChecksumFile } from '../../src/snapshot/checksum-writer.js';
import { fixtures, fixtureSnapshotId, journalFilesFor, tempDir, treeOf } from '../support/fixtures.js';
import { oneBrokerEnv } from '../support/restore-checks.js';
import { messageOf, runRestore } from '../support/run-restore.js';

const backupId = 1700000000555n;

/**
 * Zeebe 8.5.4's snapshot files under another snapshot id and with other positions in its
 * zeebe.metadata, with a checksum file computed for them as a broker would.
 */
async function fixtureSnapshot(snapshotId: string, metadata: { processedPosition: number; exportedPosition: number }): Promise<SourceFile[]> {
  const snapshots = await tempDir();
  const directory = join(snapshots, snapshotId);
  await cp(join(fixtures, 'snapshot-b', fixtureSnapshotId), join(snapshots, 'copy'), { recursive: true });
  await rename(join(snapshots, 'copy'), directory);
  await writeFile(join(directory, 'zeebe.metadata'), JSON.stringify({ version: 1, ...metadata, lastFollowupEventPosition: metadata.processedPosition }));
  const checksum = join(snapshots, `${snapshotId}.checksum`);
  await writeSnapshotChecksumFile(directory, checksum);
  return [...(await sourceFilesIn(directory)), { name: `${snapshotId}.checksum`, source: checksum }];
}

/** Restores one partition of a one-broker cluster from a filesystem store holding `backup`. */
async function restore(backup: Omit<PartitionBackup, 'partitionId' | 'checkpointId' | 'nodeId'>, args: string[] = [], env: Record<string, string> = {}) {
  const work = await tempDir();
  const store = join(work, 'backups');
  await writeFilesystemBackup(store, { partitionId: 1, checkpointId: backupId, nodeId: 0, ...backup });
  await mkdir(join(work, 'data/lost+found'), { recursive: true });
  const before = await treeOf(work);
  const run = await runRestore(args.length > 0 ? args : [`--backupId=${backupId}`], {
    cwd: work,
    env: { ...oneBrokerEnv(work, 1), ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store, ...env },
  });
  return { run, work, unchanged: async () => expect(await treeOf(work)).toEqual(before) };
}

const descriptor = (snapshotId: string, checkpointPosition: bigint) => ({ snapshotId, checkpointPosition, numberOfPartitions: 1, brokerVersion: '8.5.4' });

/** journal-b from segment 3 on (index 3807, position 9671): a log compacted up to the fixture snapshot at index 3806. */
const compactedJournal = async () => (await journalFilesFor(1)).slice(2);

describe('a restore succeeds only when a broker can start from what it wrote', () => {
  it('refuses a snapshot whose exported position the log no longer holds (exit code 5), writing nothing', async () => {
    // The fixture's own snapshot (processed 9670, exported 9600) over a log that starts at 9671:
    // the stream processor could resume, the exporters could not.
    const { run, unchanged } = await restore({
      descriptor: descriptor(fixtureSnapshotId, 11003n),
      snapshotFiles: await fixtureSnapshot(fixtureSnapshotId, { processedPosition: 9670, exportedPosition: 9600 }),
      segmentFiles: await compactedJournal(),
    });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(
      `the exported position 9600 of snapshot ${fixtureSnapshotId}'s zeebe.metadata is not in the log (the log holds positions 9671 to 11003)`,
    );
    expect(run.stderr).not.toContain('processed position');
    expect(run.stderr).toMatch(/Partition 1 \(node 0's copy/);
    await unchanged();
  });

  it('refuses a snapshot whose processed position lies beyond the checkpoint (exit code 5)', async () => {
    const snapshotId = '3806-2-12000-9600';
    const { run, unchanged } = await restore({
      descriptor: descriptor(snapshotId, 11003n),
      snapshotFiles: await fixtureSnapshot(snapshotId, { processedPosition: 12000, exportedPosition: 9600 }),
      segmentFiles: await journalFilesFor(1),
    });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('the processed position 12000 of snapshot 3806-2-12000-9600');
    expect(run.stderr).toContain('(the log holds positions 1 to 11003): the stream processor would fail');
    await unchanged();
  });

  it('refuses a log that starts more than one entry after the snapshot (exit code 5)', async () => {
    const snapshotId = '3000-2-9670-0';
    const { run, unchanged } = await restore({
      descriptor: descriptor(snapshotId, 11003n),
      snapshotFiles: await fixtureSnapshot(snapshotId, { processedPosition: 9670, exportedPosition: 0 }),
      segmentFiles: await compactedJournal(),
    });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("the log starts at index 3807, more than one past the snapshot's index 3000: Raft would refuse to start");
    await unchanged();
  });

  it('restores the compacted log when the snapshot covers it, saying what it checked', async () => {
    const { run } = await restore({
      descriptor: descriptor(fixtureSnapshotId, 11003n),
      snapshotFiles: await fixtureSnapshot(fixtureSnapshotId, { processedPosition: 9670, exportedPosition: 9670 }),
      segmentFiles: await compactedJournal(),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'the log (index 3807 to 4336, positions 9671 to 11003) continues the snapshot (index 3806) and holds its processed position 9670 and exported position 9670',
    );
  });
});

describe("the log's Raft membership against the configured layout", () => {
  /** A generated partition whose log says it lives on nodes 2, 3 and 4: a cluster scaled after install. */
  const scaledCluster = async () => {
    const data = await generatePartitionData({
      directory: join(await tempDir(), 'partition'),
      partitionId: 1,
      journalBytes: 2 * 1024 * 1024,
      maxSegmentSize: 512 * 1024,
      snapshotBytes: 64 * 1024,
      seed: 7,
      members: [2, 3, 4],
    });
    return { descriptor: descriptor(data.snapshotId, data.checkpointPosition), snapshotFiles: data.snapshotFiles, segmentFiles: data.segmentFiles };
  };
  const warning =
    'Partition 1: the newest Raft configuration in the log (index 1) has members 2, 3, 4, but this configuration places the partition on nodes 0 ' +
    '(round-robin over 1 brokers with replication factor 1)';

  it('restores, with a warning that names both member lists and what to check', async () => {
    const { run } = await restore(await scaledCluster());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(warning);
    expect(run.stdout).toContain('check that clusterSize, partitionCount, replicationFactor and the partitioning scheme match');
    expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
  });

  it('verify warns; verify --strict fails with exit code 5', async () => {
    const backup = await scaledCluster();
    const lenient = await restore(backup, ['verify', String(backupId)]);
    expect(lenient.run.code).toBe(0);
    expect(lenient.run.stdout).toMatch(/1 +OK .*Warning: Partition 1: the newest Raft configuration/);

    const strict = await restore(backup, ['verify', String(backupId), '--strict']);
    expect(strict.run.code).toBe(5);
    expect(strict.run.stdout).toMatch(/1 +FAILED .*has members 2, 3, 4/);
    await strict.unchanged();
  });
});

describe('Zeebe 8.9 dynamic node ids (camunda.cluster.node-id-provider.type=S3)', () => {
  const fixtureBackup = async () => ({
    descriptor: descriptor(fixtureSnapshotId, 11003n),
    snapshotFiles: await fixtureSnapshot(fixtureSnapshotId, { processedPosition: 9670, exportedPosition: 9600 }),
    segmentFiles: await journalFilesFor(1),
  });

  it.each([
    ['the environment', { CAMUNDA_CLUSTER_NODEIDPROVIDER_TYPE: 'S3' }],
    ['the environment, another spelling', { CAMUNDA_CLUSTER_NODE_ID_PROVIDER_TYPE: 's3' }],
  ])('are refused with exit code 2 before anything is written (%s)', async (_source, env) => {
    const { run, unchanged } = await restore(await fixtureBackup(), [], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('camunda.cluster.node-id-provider.type=S3');
    expect(run.stderr).toContain('<data>/node-<id>/v<version>/');
    expect(run.stderr).toContain('Nothing was written.');
    await unchanged();
  });

  it('are refused when set in application.yaml, by the plan as well', async () => {
    const backup = await fixtureBackup();
    const work = await tempDir();
    await mkdir(join(work, 'config'), { recursive: true });
    await writeFile(join(work, 'config/application.yaml'), 'camunda:\n  cluster:\n    nodeIdProvider:\n      type: S3\n');
    const store = join(work, 'backups');
    await writeFilesystemBackup(store, { partitionId: 1, checkpointId: backupId, nodeId: 0, ...backup });
    const env = { ...oneBrokerEnv(work, 1), ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store };
    for (const args of [[`--backupId=${backupId}`], [`--backupId=${backupId}`, '--dry-run']]) {
      const run = await runRestore(args, { cwd: work, env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('S3 node-id provider');
    }
    expect(await treeOf(join(work))).not.toHaveProperty('data');
  });
});
