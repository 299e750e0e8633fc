import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { generatePartitionData } from '../../src/demo/synthetic-partition.js';
import { isContent } from './fault-plan.js';
import { fixtureCheckpoint, fixtureSnapshotId, journalFilesFor, snapshotFiles, tempDir, treeOf } from './fixtures.js';
import { messageOf, type RestoreRun, runRestore } from './run-restore.js';
import { createTestBucket, type S3PartitionBackup, s3StoreEnv, s3TestClient, uploadS3Backup } from './s3-backup.js';
import { type FaultScript, type RecordedRequest, type S3Proxy, startS3Proxy } from './s3-proxy.js';

/**
 * One multi-partition S3 backup, a byte-for-byte reference restore of it, and a way to run
 * bin/restore against it through a fault-injecting proxy: what the S3 fault tests share.
 */

export const faultBackupId = 1763683200777n;
export const faultPartitionCount = 3;
/** Small, so stalls are noticed quickly; s3rver on 127.0.0.1 answers in milliseconds. */
const apiCallTimeout = 'PT1S';

export interface FaultyRun {
  run: RestoreRun;
  proxy: S3Proxy;
  work: string;
  /** The work directory before the run: a fresh volume with lost+found in the data directory. */
  before: Record<string, string>;
  seconds: number;
}

export interface FaultScenarios {
  client: S3Client;
  bucket: string;
  /** Objects stored zstd-compressed (partition 3's files are over 8 MiB). */
  compressedFiles: string[];
  /** File downloads only: GETs of content objects (the restore also HEADs them for their size). */
  isDownload(request: RecordedRequest): boolean;
  /** Runs bin/restore through a proxy that follows `script`. */
  restoreThrough(script: FaultScript, settings?: Record<string, string>): Promise<FaultyRun>;
  /** Exit 0 and exactly the partitions a filesystem-store restore of the same backup produces. */
  expectRestoredExactly(result: FaultyRun): Promise<void>;
  /** Exit 6 naming the bucket and `key`, nothing left behind, within `maxSeconds`. */
  expectCleanStoreFailure(result: FaultyRun, key: RegExp, maxSeconds: number): Promise<void>;
}

/**
 * Three partitions on one node: 1 and 2 hold the files Zeebe 8.5.4 wrote, in the legacy layout of
 * an 8.5 broker; 3 holds generated files over 8 MiB, zstd-compressed in the v2 layout of an 8.9
 * broker, so resumed downloads also run through the decompressor.
 */
async function backupOfCluster(): Promise<S3PartitionBackup[]> {
  const sources = await tempDir();
  const generated = await generatePartitionData({
    directory: join(sources, 'partition-3'),
    partitionId: 3,
    journalBytes: 28 * 1024 * 1024,
    maxSegmentSize: 9 * 1024 * 1024,
    snapshotBytes: 9 * 1024 * 1024,
    seed: 777,
  });
  const descriptor = (snapshotId: string, checkpointPosition: bigint, brokerVersion: string) => ({
    snapshotId,
    checkpointPosition,
    numberOfPartitions: faultPartitionCount,
    brokerVersion,
  });
  const fixture = async (partitionId: number): Promise<S3PartitionBackup> => ({
    dialect: '8.5',
    partitionId,
    checkpointId: faultBackupId,
    nodeId: 0,
    descriptor: descriptor(fixtureSnapshotId, fixtureCheckpoint, '8.5.4'),
    snapshotFiles: await snapshotFiles(),
    segmentFiles: await journalFilesFor(partitionId),
  });
  return [
    await fixture(1),
    await fixture(2),
    {
      dialect: '8.9',
      compression: 'zstd',
      partitionId: 3,
      checkpointId: faultBackupId,
      nodeId: 0,
      descriptor: descriptor(generated.snapshotId, generated.checkpointPosition, '8.9.0'),
      snapshotFiles: generated.snapshotFiles,
      segmentFiles: generated.segmentFiles,
    },
  ];
}

/** Uploads the backup to a fresh bucket and restores it once from a filesystem store as the reference. */
export async function prepareFaultScenarios(endpoint: string): Promise<FaultScenarios> {
  const client = s3TestClient(endpoint);
  const bucket = await createTestBucket(client);
  const backups = await backupOfCluster();
  const compressedFiles = (await Promise.all(backups.map((backup) => uploadS3Backup(client, bucket, backup)))).flat();

  const referenceWork = await tempDir();
  for (const backup of backups) {
    await writeFilesystemBackup(join(referenceWork, 'backups'), { ...backup, status: 'COMPLETED' });
  }
  const referenceRun = await runRestore([`--backupId=${faultBackupId}`], {
    cwd: referenceWork,
    env: {
      ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: String(faultPartitionCount),
      ZEEBE_BROKER_DATA_DIRECTORY: join(referenceWork, 'data'),
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
      ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(referenceWork, 'backups'),
    },
  });
  expect(referenceRun.code, referenceRun.stderr).toBe(0);
  const reference = await treeOf(join(referenceWork, 'data/raft-partition'));
  expect(Object.keys(reference).filter((path) => path.endsWith('.log'))).toHaveLength(3 + 3 + 2);

  const s3Env = (work: string, proxy: S3Proxy, settings: Record<string, string>): Record<string, string> => ({
    ZEEBE_BROKER_CLUSTER_NODEID: '0',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '1',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: String(faultPartitionCount),
    ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
    ...s3StoreEnv(proxy.endpoint, bucket),
    ZEEBE_BROKER_DATA_BACKUP_S3_APICALLTIMEOUT: apiCallTimeout,
    ...settings,
  });

  return {
    client,
    bucket,
    compressedFiles,
    isDownload: (request) => request.method === 'GET' && isContent(request, bucket),

    async restoreThrough(script, settings = {}) {
      const proxy = await startS3Proxy(endpoint, { script });
      try {
        const work = await tempDir();
        await mkdir(join(work, 'data/lost+found'), { recursive: true });
        await writeFile(join(work, 'data/lost+found/#7'), 'recovered');
        const before = await treeOf(work);
        const started = performance.now();
        // Every file at once: backoffs overlap instead of adding up wave after wave.
        const args = [`--backupId=${faultBackupId}`, '--concurrency=40'];
        const run = await runRestore(args, { cwd: work, env: s3Env(work, proxy, settings) });
        return { run, proxy, work, before, seconds: (performance.now() - started) / 1000 };
      } finally {
        await proxy.close();
      }
    },

    async expectRestoredExactly({ run, work }) {
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${faultBackupId}`);
      expect(await treeOf(join(work, 'data/raft-partition'))).toEqual(reference);
      expect((await treeOf(join(work, 'data')))['lost+found/#7']).toBeDefined();
    },

    async expectCleanStoreFailure({ run, work, before, seconds }, key, maxSeconds) {
      expect(run.code, run.stdout + run.stderr).toBe(6);
      expect(run.stdout).not.toMatch(/Successfully restored/);
      expect(run.stderr).toContain(`s3://${bucket}/`);
      expect(run.stderr).toMatch(key);
      expect(await treeOf(work)).toEqual(before);
      expect(seconds).toBeLessThan(maxSeconds);
    },
  };
}
