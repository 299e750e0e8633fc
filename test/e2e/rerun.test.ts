import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDir, treeOf, writeClusterBackup } from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';

let work: string;
let env: Record<string, string>;
const data = () => join(work, 'data');

beforeEach(async () => {
  work = await tempDir();
  await writeClusterBackup({ basePath: join(work, 'backups'), backupId: 5n, partitionCount: 3 });
  await writeClusterBackup({ basePath: join(work, 'backups'), backupId: 6n, partitionCount: 3 });
  env = {
    ZEEBE_BROKER_CLUSTER_NODEID: '1',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '3',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '2',
    ZEEBE_BROKER_DATA_DIRECTORY: data(),
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
  };
  const first = await runRestore(['--backupId=5'], { cwd: work, env });
  expect(first.code, first.stderr).toBe(0);
});

describe('running the restore again on a node it already restored (a restarted init container)', () => {
  it('exits 0 and touches nothing, even after the broker changed the data directory', async () => {
    // What a broker does after starting: new segments, a topology file, a changed snapshot.
    await writeFile(join(data(), 'raft-partition/partitions/1/raft-partition-partition-1-9.log'), 'new entries');
    await writeFile(join(data(), '.topology.meta'), 'topology');
    await rm(join(data(), 'raft-partition/partitions/2/snapshots'), { recursive: true });
    const before = await treeOf(work);
    const run = await runRestore(['--backupId=5'], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Backup 5 was already restored on this node at .* \(partitions 1, 2\); nothing was changed\./);
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backup 5');
    expect(await treeOf(work)).toEqual(before);
  });

  it('refuses a different backup id like any non-empty data directory', async () => {
    const before = await treeOf(work);
    const run = await runRestore(['--backupId=6'], { cwd: work, env });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/is not empty: it holds backup 5, restored at .* as node 1 \(partitions 1, 2\)\. Backup 6 was asked for\./);
    expect(await treeOf(work)).toEqual(before);
  });

  it('refuses the same backup id under another node id', async () => {
    const run = await runRestore(['--backupId=5'], { cwd: work, env: { ...env, ZEEBE_BROKER_CLUSTER_NODEID: '2' } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/This run is configured as node 2 \(partitions 2, 3\): check the node id\./);
  });

  it('documents the record it keeps', async () => {
    const record = JSON.parse(await readFile(join(data(), '.zeebe-restore.json'), 'utf8'));
    expect(record).toEqual({
      backupId: '5',
      nodeId: 1,
      partitions: [1, 2],
      restoredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      agentVersion: expect.any(String),
    });
  });
});

describe('leftovers of a run that was killed', () => {
  it('removes an abandoned staging area and restores', async () => {
    await rm(data(), { recursive: true });
    await mkdir(join(data(), '.zeebe-restore-staging/raft-partition/partitions/1'), { recursive: true });
    await writeFile(
      join(data(), '.zeebe-restore-staging/owner.json'),
      JSON.stringify({ pid: 999999, hostname: 'elsewhere', backupId: '5', startedAt: '2026-01-01T00:00:00Z' }),
    );
    const run = await runRestore(['--backupId=5'], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Removing the staging area of an interrupted restore \(process 999999 on elsewhere/);
  });

  it('finishes a restore killed between writing its record and moving the partitions into place', async () => {
    await mkdir(join(data(), '.zeebe-restore-staging'));
    await rename(join(data(), 'raft-partition'), join(data(), '.zeebe-restore-staging/raft-partition'));
    const run = await runRestore(['--backupId=5'], { cwd: work, env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Finished the restore of backup 5 that was interrupted while moving the partitions into place/);
    expect(Object.keys(await treeOf(data())).filter((path) => !path.includes('/'))).toEqual(['.zeebe-restore.json', 'raft-partition']);
  });

  it('refuses to run next to a restore that is still running', async () => {
    await rm(data(), { recursive: true });
    await mkdir(join(data(), '.zeebe-restore-staging'), { recursive: true });
    await writeFile(
      join(data(), '.zeebe-restore-staging/owner.json'),
      JSON.stringify({ pid: process.pid, hostname: hostname(), backupId: '5', startedAt: '2026-01-01T00:00:00Z' }),
    );
    const run = await runRestore(['--backupId=5'], { cwd: work, env });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/Another restore \(process \d+ on .*\) is writing to .*if no restore is running, remove .*\.zeebe-restore-staging/);
  });
});
