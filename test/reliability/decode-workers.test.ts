import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generatePartitionData } from '../../src/demo/synthetic-partition.js';
import { restoredPartitionsOf, tempDir, treeOf } from '../support/fixtures.js';
import { filesystemRestoreReference, oneBrokerEnv } from '../support/restore-checks.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { createTestBucket, type S3PartitionBackup, s3StoreEnv, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';

/*
 * zstd files decode in worker threads (src/restore/decode-workers.ts): the guarantees of the
 * main-thread pipeline must hold there too. Correct bytes and corruption are covered by the S3
 * end-to-end and corruption tests; here: signals mid-decode, and memory when the disk is slower
 * than the network.
 */

const backupId = 1700000000999n;
let client: S3Client;
let bucket: string;
let reference: Record<string, string>;

const env = (work: string) => ({ ...oneBrokerEnv(work, 1), ...s3StoreEnv(inject('s3Endpoint'), bucket) });

beforeAll(async () => {
  client = s3TestClient(inject('s3Endpoint'));
  bucket = await createTestBucket(client);
  // Records of random bytes hardly compress, so the compressed objects are about as large as the files.
  const data = await generatePartitionData({
    directory: join(await tempDir(), 'partition'),
    partitionId: 1,
    journalBytes: 160 * 1024 * 1024,
    maxSegmentSize: 32 * 1024 * 1024,
    snapshotBytes: 48 * 1024 * 1024,
    seed: 14,
  });
  const backup: S3PartitionBackup = {
    dialect: '8.5',
    compression: 'zstd',
    partitionId: 1,
    checkpointId: backupId,
    nodeId: 0,
    descriptor: { snapshotId: data.snapshotId, checkpointPosition: data.checkpointPosition, numberOfPartitions: 1, brokerVersion: '8.5.4' },
    snapshotFiles: data.snapshotFiles,
    segmentFiles: data.segmentFiles,
  };
  expect(await uploadS3Backup(client, bucket, backup)).not.toHaveLength(0);
  reference = await filesystemRestoreReference([backup], backupId);
}, 180_000);

afterAll(() => client.destroy());

describe('signals while files decode in workers', () => {
  it('SIGTERM: exit code 130 and the data directory as it was found', async () => {
    const work = await tempDir();
    const before = await treeOf(work);
    const run = await runRestore([`--backupId=${backupId}`], {
      cwd: work,
      env: env(work),
      onOutput: { waitFor: /Partition 1: restoring/, then: (pid) => setTimeout(() => process.kill(pid, 'SIGTERM'), 150) },
    });
    expect(run.code, run.stdout + run.stderr).toBe(130);
    expect(await treeOf(work)).toEqual(before);
  });

  it.each([100, 400])('SIGKILL %i ms into the downloads: the same command again restores exactly', async (delayMs) => {
    const work = await tempDir();
    await runRestore([`--backupId=${backupId}`], {
      cwd: work,
      env: env(work),
      onOutput: { waitFor: /Partition 1: restoring/, then: (pid) => setTimeout(() => process.kill(pid, 'SIGKILL'), delayMs) },
    });
    const rerun = await runRestore([`--backupId=${backupId}`], { cwd: work, env: env(work) });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await restoredPartitionsOf(join(work, 'data'))).toEqual(reference);
  });
});

const strace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The peak memory the agent reports in its last summary line, in MiB. */
function peakMemoryMiB(stdout: string): number {
  const match = /peak memory ([\d.]+) MiB/.exec(stdout);
  if (!match) throw new Error(`no peak memory in:\n${stdout}`);
  return Number(match[1]);
}

describe.skipIf(!strace)('memory when the disk is slower than the network (strace delays every write)', () => {
  it('stays where a fast disk leaves it: the network reader waits for the workers', async () => {
    const fast = await tempDir();
    const fastRun = await runRestore([`--backupId=${backupId}`], { cwd: fast, env: env(fast) });
    expect(fastRun.code, fastRun.stderr).toBe(0);

    // 20 ms per positional write: about 50 MiB/s for the workers' 1 MiB writes, while s3rver on
    // loopback serves several hundred MiB/s. Without backpressure the ~200 MiB of compressed
    // objects would pile up in memory.
    const slow = await tempDir();
    const slowRun = await runRestore([`--backupId=${backupId}`], {
      cwd: slow,
      env: env(slow),
      wrapper: ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=pwrite64', '-e', 'inject=pwrite64:delay_enter=20000'],
    });
    expect(slowRun.code, slowRun.stderr).toBe(0);
    expect(messageOf(slowRun.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
    expect(await restoredPartitionsOf(join(slow, 'data'))).toEqual(reference);
    expect(peakMemoryMiB(slowRun.stdout)).toBeLessThan(peakMemoryMiB(fastRun.stdout) + 48);
  });
});
