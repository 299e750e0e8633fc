import { execFileSync } from 'node:child_process';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { contentKey } from '../../src/store/store-layout.js';
import { journalFilesFor, tempDir, treeOf, writeClusterBackup } from '../support/fixtures.js';
import { runRestore } from '../support/run-restore.js';

const backupId = 99n;
let work: string;
let env: Record<string, string>;

beforeEach(async () => {
  work = await tempDir();
  await writeClusterBackup({ basePath: join(work, 'backups'), backupId, partitionCount: 3 });
  // A fresh volume: the data directory exists and holds only lost+found, which must survive.
  await mkdir(join(work, 'data/lost+found'), { recursive: true });
  await writeFile(join(work, 'data/lost+found/#1234'), 'recovered');
  env = {
    ZEEBE_BROKER_CLUSTER_NODEID: '0',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '3',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '3',
    ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
  };
});

/** Runs the restore and checks the exit code, the message and that nothing on disk changed. */
async function expectFailure(args: string[], code: number, message: RegExp, extraEnv: Record<string, string> = {}) {
  const before = await treeOf(work);
  const run = await runRestore(args, { cwd: work, env: { ...env, ...extraEnv } });
  expect(run.code, run.stdout + run.stderr).toBe(code);
  expect(run.stderr).toMatch(message);
  expect(run.stdout).not.toMatch(/Successfully restored/);
  expect(await treeOf(work)).toEqual(before);
  return run;
}

describe('each failure class has its exit code and leaves the node as it was', () => {
  it('succeeds next to lost+found and keeps it', async () => {
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect((await treeOf(join(work, 'data')))['lost+found/#1234']).toBeDefined();
  });

  it('2: a backup id that is not a number', async () => {
    await expectFailure(['--backupId=yesterday'], 2, /--backupId must be a backup id/);
  });

  it('2: a missing --backupId and an unknown option', async () => {
    await expectFailure([], 2, /--backupId/);
    await expectFailure([`--backupId=${backupId}`, '--bakupId=1'], 2, /bakupId/);
  });

  it('2: a node id outside the cluster', async () => {
    await expectFailure([`--backupId=${backupId}`], 2, /node id 3.*0\.\.2|nodeId.*3/i, { ZEEBE_BROKER_CLUSTER_NODEID: '3' });
  });

  it('2: no backup store configured', async () => {
    await expectFailure([`--backupId=${backupId}`], 2, /No backup store is configured/, { ZEEBE_BROKER_DATA_BACKUP_STORE: 'NONE' });
  });

  it('3: a data directory that is not empty', async () => {
    await writeFile(join(work, 'data/gc.log'), 'jvm');
    const run = await expectFailure(
      [`--backupId=${backupId}`],
      3,
      /Brokers's data directory .*data is not empty\. Aborting restore to avoid overwriting data\. Please restart with a clean directory\. It contains: gc\.log/,
    );
    expect(run.stderr).not.toMatch(/lost\+found,/);
  });

  it('4: a backup id that does not exist', async () => {
    await expectFailure(['--backupId=12345'], 4, /Could not find a completed backup with id 12345: no copy of partition 1 exists/);
  });

  it('4: a backup whose only copy of a partition failed', async () => {
    await rm(join(work, 'backups/manifests/2'), { recursive: true });
    await writeFilesystemBackup(join(work, 'backups'), {
      partitionId: 2,
      checkpointId: backupId,
      nodeId: 1,
      status: 'FAILED',
      failureReason: 'Leader changed during backup',
      segmentFiles: [],
    });
    await expectFailure([`--backupId=${backupId}`], 4, /partition 2 has only FAILED from node 1: Leader changed during backup/);
  });

  it('5: a backup taken with a different partition count', async () => {
    await expectFailure([`--backupId=${backupId}`], 5, /Expected backup to have 4 partitions, but has 3/, {
      ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '4',
    });
  });

  it('5: a checkpoint position that is not in the log', async () => {
    await rm(join(work, 'backups/manifests/3'), { recursive: true });
    await rm(join(work, 'backups/contents/3'), { recursive: true });
    await writeFilesystemBackup(join(work, 'backups'), {
      partitionId: 3,
      checkpointId: backupId,
      nodeId: 2,
      descriptor: { checkpointPosition: 999999n, numberOfPartitions: 3, brokerVersion: '8.5.4' },
      segmentFiles: await journalFilesFor(3),
    });
    await expectFailure([`--backupId=${backupId}`], 5, /Cannot find a record at checkpoint position 999999 in the log/);
  });

  it('5: a file the manifest lists is missing from the store', async () => {
    await rm(join(work, 'backups', contentKey(1, backupId, '0', 'segments', 'raft-partition-partition-1-2.log')));
    await expectFailure([`--backupId=${backupId}`], 5, /raft-partition-partition-1-2\.log/);
  });

  it('6: a store base path that does not exist', async () => {
    await expectFailure([`--backupId=${backupId}`], 6, /does not exist or is not a directory/, {
      ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'not-mounted'),
    });
  });

  it('7: a data directory below a regular file', async () => {
    await writeFile(join(work, 'plain-file'), '');
    await expectFailure([`--backupId=${backupId}`], 7, /plain-file/, {
      ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'plain-file/data'),
    });
  });

  it('130: SIGTERM in the middle of a download removes what was written', async () => {
    // A FIFO fed slowly stands in for a slow store: the restore is reliably mid-transfer when signalled.
    const segment = join(work, 'backups', contentKey(2, backupId, '1', 'segments', 'raft-partition-partition-2-3.log'));
    await rm(segment);
    execFileSync('mkfifo', [segment]);
    const before = await treeOf(work);
    const restore = runRestore([`--backupId=${backupId}`], {
      cwd: work,
      env,
      onOutput: { waitFor: /Partition 2: restoring/, then: (pid) => setTimeout(() => process.kill(pid, 'SIGTERM'), 500) },
    });
    const feeder = await open(segment, 'w');
    const feeding = setInterval(() => void feeder.write(Buffer.alloc(4096)).catch(() => undefined), 50);
    const run = await restore.finally(() => clearInterval(feeding));
    await feeder.close().catch(() => undefined);
    expect(run.code, run.stdout + run.stderr).toBe(130);
    expect(run.stderr).toMatch(/interrupted by SIGTERM/);
    expect(await treeOf(work)).toEqual(before);
  });
});
