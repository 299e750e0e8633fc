import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { generatePartitionData } from '../../src/demo/synthetic-partition.js';
import { projectRoot, tempDir, treeOf } from '../support/fixtures.js';
import { runRestore } from '../support/run-restore.js';

const backupId = 31n;
let work: string;
let reference: Record<string, string>;

function nodeEnv(dataDirectory: string): Record<string, string> {
  return {
    ZEEBE_BROKER_CLUSTER_NODEID: '0',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '1',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
    ZEEBE_BROKER_DATA_DIRECTORY: dataDirectory,
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
  };
}

/** The restored partitions plus the record without its timestamp: what must be identical. */
async function restoredState(dataDirectory: string): Promise<Record<string, string>> {
  const tree = await treeOf(dataDirectory);
  const { restoredAt: _ignored, ...record } = JSON.parse(await readFile(join(dataDirectory, '.zeebe-restore.json'), 'utf8'));
  delete tree['.zeebe-restore.json'];
  return { ...tree, record: JSON.stringify(record) };
}

/** Starts a restore and SIGKILLs it after `delayMs`, or as soon as `killOn` appears in its output. */
function killedRestore(dataDirectory: string, delayMs: number, killOn?: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(join(projectRoot, 'bin/restore'), [`--backupId=${backupId}`], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', ...nodeEnv(dataDirectory) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const kill = () => child.kill('SIGKILL');
    const timer = killOn ? undefined : setTimeout(kill, delayMs);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (killOn?.test(output)) kill();
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

beforeAll(async () => {
  work = await tempDir();
  for (let partitionId = 1; partitionId <= 3; partitionId++) {
    const data = await generatePartitionData({
      directory: join(work, 'generated', String(partitionId)),
      partitionId,
      journalBytes: 48 * 1024 * 1024,
      maxSegmentSize: 8 * 1024 * 1024,
      snapshotBytes: 24 * 1024 * 1024,
      seed: partitionId,
    });
    await writeFilesystemBackup(join(work, 'backups'), {
      partitionId,
      checkpointId: backupId,
      nodeId: 0,
      descriptor: { snapshotId: data.snapshotId, checkpointPosition: data.checkpointPosition, numberOfPartitions: 3, brokerVersion: '8.5.4' },
      snapshotFiles: data.snapshotFiles,
      segmentFiles: data.segmentFiles,
    });
  }
  const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: nodeEnv(join(work, 'reference')) });
  expect(run.code, run.stderr).toBe(0);
  reference = await restoredState(join(work, 'reference'));
}, 120_000);

describe('SIGKILL at any moment, then the same command again', () => {
  const delays = [0, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 1000, 1300];
  it.each(delays)('killed after %i ms: the re-run completes the restore', async (delayMs) => {
    const dataDirectory = join(work, `killed-after-${delayMs}`);
    await killedRestore(dataDirectory, delayMs);
    const rerun = await runRestore([`--backupId=${backupId}`], { cwd: work, env: nodeEnv(dataDirectory) });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await restoredState(dataDirectory)).toEqual(reference);
  });

  it.each([/Partition \d: restoring/, /Partition \d: restored/, /Restored partitions/])(
    'killed right after logging %s: the re-run completes the restore',
    async (killOn) => {
      const dataDirectory = join(work, `killed-on-${killOn.source.replace(/\W+/g, '-')}`);
      await killedRestore(dataDirectory, 0, killOn);
      const rerun = await runRestore([`--backupId=${backupId}`], { cwd: work, env: nodeEnv(dataDirectory) });
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(await restoredState(dataDirectory)).toEqual(reference);
    },
  );
});
