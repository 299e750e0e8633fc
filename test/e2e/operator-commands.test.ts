import { createReadStream } from 'node:fs';
import { access, copyFile, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupStatus } from '../../src/manifest/manifest.js';
import { type PartitionBackup, writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { contentKey } from '../../src/store/store-layout.js';
import { fixtureCheckpoint, fixtures, fixtureSnapshotId, flipByte, journalFilesFor, snapshotFiles, tempDir, treeOf } from '../support/fixtures.js';
import { runRestore } from '../support/run-restore.js';
import { createTestBucket, s3StoreEnv, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';

/**
 * A store holding backups in every state the management API knows: 100 completed, 101 with a
 * failed partition, 102 with one still in progress, 103 with a deletion tombstone, 200 completed.
 */
const states: Record<string, (partitionId: number) => BackupStatus> = {
  '100': () => 'COMPLETED',
  '101': (p) => (p === 2 ? 'FAILED' : 'COMPLETED'),
  '102': (p) => (p === 3 ? 'IN_PROGRESS' : 'COMPLETED'),
  '103': (p) => (p === 1 ? 'DELETED' : 'COMPLETED'),
  '200': () => 'COMPLETED',
};

async function backupsOf(): Promise<PartitionBackup[]> {
  const backups: PartitionBackup[] = [];
  for (const [id, stateOf] of Object.entries(states)) {
    for (let partitionId = 1; partitionId <= 3; partitionId++) {
      const status = stateOf(partitionId);
      const complete = status === 'COMPLETED' || status === 'IN_PROGRESS';
      backups.push({
        partitionId,
        checkpointId: BigInt(id),
        nodeId: partitionId - 1,
        status,
        ...(status === 'FAILED' ? { failureReason: 'the leader changed' } : {}),
        ...(complete
          ? {
              descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: fixtureCheckpoint, numberOfPartitions: 3, brokerVersion: '8.5.4' },
              snapshotFiles: await snapshotFiles(),
            }
          : {}),
        segmentFiles: complete ? await journalFilesFor(partitionId) : [],
        createdAt: '2024-05-01T10:00:00.123Z',
      });
    }
  }
  return backups;
}

const cluster = { ZEEBE_BROKER_CLUSTER_NODEID: '0', ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '3', ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3', ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '3' };

const stores: { name: string; prepare: (work: string) => Promise<Record<string, string>> }[] = [
  {
    name: 'filesystem',
    prepare: async (work) => {
      for (const backup of await backupsOf()) await writeFilesystemBackup(join(work, 'backups'), backup);
      return { ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups') };
    },
  },
  {
    name: 'S3',
    prepare: async () => {
      const endpoint = inject('s3Endpoint');
      const client = s3TestClient(endpoint);
      const bucket = await createTestBucket(client);
      for (const backup of await backupsOf()) await uploadS3Backup(client, bucket, { ...backup, dialect: '8.5' });
      return {
        ...s3StoreEnv(endpoint, bucket),
      };
    },
  },
];

describe.each(stores)('operator commands against the $name store', ({ prepare }) => {
  let work: string;
  let env: Record<string, string>;
  const run = (args: string[], extra: Record<string, string> = {}) => runRestore(args, { cwd: work, env: { ...env, ...extra } });

  beforeAll(async () => {
    work = await tempDir();
    env = { ...cluster, ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'), ...(await prepare(work)) };
  }, 120_000);

  it('list --json reports every backup in the management API shape', async () => {
    const result = await run(['list', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const listed = JSON.parse(result.stdout) as { backupId: number; state: string; failureReason?: string; details: unknown[] }[];
    expect(listed.map((backup) => [backup.backupId, backup.state])).toEqual([
      [100, 'COMPLETED'],
      [101, 'FAILED'],
      [102, 'IN_PROGRESS'],
      [103, 'DELETED'],
      [200, 'COMPLETED'],
    ]);
    expect(listed[1]!.failureReason).toBe('Backup on partition 2 failed due to the leader changed. ');
    expect(listed.every((backup) => backup.details.length === 3)).toBe(true);
  });

  it('list with a prefix filter and as a table', async () => {
    const filtered = await run(['list', '10*', '--json']);
    expect((JSON.parse(filtered.stdout) as { backupId: number }[]).map((backup) => backup.backupId)).toEqual([100, 101, 102, 103]);
    const table = await run(['list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^Backup\s+State\s+Partitions\s+Last updated\s+Failure$/);
    expect(table.stdout).toMatch(/^102\s+IN_PROGRESS\s+2 COMPLETED, 1 IN_PROGRESS/m);
  });

  it('describe --json: every field of the API response', async () => {
    const result = await run(['describe', '101', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      backupId: 101,
      state: 'FAILED',
      failureReason: 'Backup on partition 2 failed due to the leader changed. ',
      details: [
        {
          partitionId: 1,
          state: 'COMPLETED',
          brokerId: 0,
          createdAt: expect.stringMatching(/^2024-05-01T10:00:00\.123/),
          lastUpdatedAt: expect.stringMatching(/^2024-05-01T10:00:00\.123/),
          brokerVersion: '8.5.4',
          snapshotId: fixtureSnapshotId,
          checkpointPosition: Number(fixtureCheckpoint),
        },
        {
          partitionId: 2,
          state: 'FAILED',
          brokerId: 1,
          failureReason: 'the leader changed',
          createdAt: expect.any(String),
          lastUpdatedAt: expect.any(String),
        },
        expect.objectContaining({ partitionId: 3, state: 'COMPLETED', brokerId: 2 }),
      ],
    });
  });

  it('describe of a backup that does not exist: exit code 4 with the API message', async () => {
    const result = await run(['describe', '999']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/Backup with id 999 does not exist/);
  });

  it('--backupId=latest --dry-run: plans the newest complete backup and writes nothing', async () => {
    const before = await treeOf(work);
    const result = await run(['--backupId=latest', '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/The latest backup completed for all partitions is 200/);
    expect(result.stdout).toMatch(/Plan: restore backup 200 on node 0 of 3 \(partitions 1, 2, 3 of 3\)/);
    expect(result.stdout).toMatch(/does not exist yet; the restore can proceed/);
    // 7 snapshot files, the checksum file and segments 1-3: segments 4 and 5 lie after the checkpoint.
    expect(result.stdout).toMatch(/^2\s+node 1\s+8\.5\.4\s+3806-2-9670-9600\s+9670\s+9600\s+11003\s+10\s+5\.2 MiB\s+none$/m);
    expect(result.stdout).toMatch(/Not downloaded: 6 log segments wholly after the checkpoint, which the restore would delete anyway\./);
    expect(await treeOf(work)).toEqual(before);
    const asJson = JSON.parse((await run(['plan', '--backupId=200', '--json'])).stdout);
    expect(asJson.partitions).toHaveLength(3);
    expect(asJson.partitions[0]).toMatchObject({
      partitionId: 1,
      fromNode: 0,
      checkpointPosition: 11003,
      brokerVersion: '8.5.4',
      segmentsAfterCheckpoint: ['raft-partition-partition-1-4.log', 'raft-partition-partition-1-5.log'],
    });
  });

  it('verify: every check passes for a sound backup and nothing is written', async () => {
    const before = await treeOf(work);
    const result = await run(['verify', '100']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^1\s+OK\s+node 0's copy: 10 files, .*checksums match, journal frames intact, checkpoint position 11003 at index 4336; the log \(index 1 to 4336, positions 1 to 11003\) continues the snapshot \(index 3806\) and holds its processed position 9670 and exported position 9600; no Raft configuration entry in the log to compare with nodes \d(, \d)*$/m);
    expect(await treeOf(work)).toEqual(before);
  });

  it('verify: a backup that is not complete fails with the restore exit code', async () => {
    const result = await run(['verify', '101', '--partitions', '2', '--json']);
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, partitions: [{ partitionId: 2, ok: false, exitCode: 4 }] });
  });
});

describe('verify and progress on a filesystem store', () => {
  let work: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    work = await tempDir();
    for (const backup of await backupsOf()) {
      if (backup.checkpointId === 100n) await writeFilesystemBackup(join(work, 'backups'), backup);
    }
    env = {
      ...cluster,
      ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
      ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
    };
  });

  it('logs progress lines while restoring and a summary per partition', async () => {
    // A FIFO fed the real segment slowly: the restore takes long enough for several progress lines.
    const segment = join(work, 'backups', contentKey(2, 100n, '1', 'segments', 'raft-partition-partition-2-1.log'));
    const original = join(fixtures, 'journal-b/raft-partition-partition-2-1.log');
    await rm(segment);
    execFileSync('mkfifo', [segment]);
    const restore = runRestore(['--backupId=100', '--progress-interval=0.05'], { cwd: work, env });
    const fifo = await open(segment, 'w');
    for await (const chunk of createReadStream(original, { highWaterMark: 64 * 1024 })) {
      await fifo.write(chunk as Buffer);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    await fifo.close();
    const result = await restore;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/INFO {2}Progress: Partition 1 .*; Partition 2 +\d+% .* of [\d.]+ MiB .*\/s {2}ETA \d+:\d\d/);
    expect(result.stdout).toMatch(/Partition 2: [\d.]+ MiB written from node 1's copy in \d+\.\d s/);
    await access(join(work, 'data/raft-partition/partitions/2'));
    await rm(segment);
    await copyFile(original, segment);
  });

  it('verify: a corrupt partition fails with exit code 5 and names the file', async () => {
    await flipByte(join(work, 'backups', contentKey(3, 100n, '2', 'snapshot', '000022.sst')), 10);
    const result = await runRestore(['verify', '100'], { cwd: work, env });
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(/^1\s+OK/m);
    expect(result.stdout).toMatch(/^3\s+FAILED\s+Partition 3 \(node 2's copy, \S+manifests\/3\/100\/2\/manifest\.json\): Expected snapshot 3806-2-9670-9600 to have checksums/m);
    expect(result.stderr).toMatch(/Backup 100 failed verification on partitions 3/);
  });
});
