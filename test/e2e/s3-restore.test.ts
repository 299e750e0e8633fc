import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { sourceFilesIn } from '../../src/demo/filesystem-backup-writer.js';
import { writeSnapshotChecksumFile } from '../../src/snapshot/checksum-writer.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generatePartitionData, type PartitionData } from '../../src/demo/synthetic-partition.js';
import {
  fixtureCheckpoint,
  fixtures,
  fixtureSnapshotId,
  journalFilesFor,
  snapshotFiles,
  tempDir,
  restoredPartitionsOf,
  treeOf,
} from '../support/fixtures.js';
import { expectZeebeTruncatedJournal, filesystemRestoreReference, oneBrokerEnv, zeebeFixtureBackups, zeebeTruncations } from '../support/restore-checks.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { bucketWithFixturePartition, compressionThreshold, createTestBucket, type S3Compression, type S3ManifestDialect, type S3PartitionBackup, s3StoreEnv, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';
import { startS3Proxy } from '../support/s3-proxy.js';

const endpoint = inject('s3Endpoint');
const backupId = 1700000000456n;
const brokerVersions: Record<S3ManifestDialect, string> = { '8.1': '8.1.14', '8.5': '8.5.4', '8.9': '8.9.0' };

function s3Env(work: string, bucket: string, settings: Record<string, string> = {}): Record<string, string> {
  return {
    ...oneBrokerEnv(work, 2),
    ...s3StoreEnv(endpoint, bucket),
    ...settings,
  };
}

/**
 * Node 0 of a one-broker cluster owns both partitions: partition 1 holds generated data with
 * files over 8 MiB (so brokers compress them), partition 2 the files Zeebe 8.5.4 wrote.
 */
describe('restoring from an S3 store', () => {
  let partitionOne: PartitionData;
  let partitionTwoFiles: Pick<S3PartitionBackup, 'snapshotFiles' | 'segmentFiles'>;
  /** The data directory a FILESYSTEM restore of the same backup produces: the byte-for-byte reference. */
  let reference: Record<string, string>;
  let client: S3Client;

  const partitionBackups = (dialect: S3ManifestDialect, compression?: S3Compression): S3PartitionBackup[] => {
    const common = { dialect, checkpointId: backupId, nodeId: 0, ...(compression ? { compression } : {}) };
    const descriptor = (snapshotId: string, checkpointPosition: bigint) => ({
      snapshotId,
      checkpointPosition,
      numberOfPartitions: 2,
      brokerVersion: brokerVersions[dialect],
      firstLogPosition: 1n,
    });
    return [
      {
        ...common,
        partitionId: 1,
        descriptor: descriptor(partitionOne.snapshotId, partitionOne.checkpointPosition),
        snapshotFiles: partitionOne.snapshotFiles,
        segmentFiles: partitionOne.segmentFiles,
      },
      { ...common, partitionId: 2, descriptor: descriptor(fixtureSnapshotId, fixtureCheckpoint), ...partitionTwoFiles },
    ];
  };

  const uploadAll = async (bucket: string, backups: S3PartitionBackup[]) =>
    (await Promise.all(backups.map((backup) => uploadS3Backup(client, bucket, backup)))).flat();

  const expectRestoredLikeReference = async (work: string) => {
    const data = join(work, 'data');
    expect(await restoredPartitionsOf(data)).toEqual(reference);
    expectZeebeTruncatedJournal(join(data, 'raft-partition/partitions/2'), 2);
  };

  beforeAll(async () => {
    client = s3TestClient(endpoint);
    const sources = await tempDir();
    partitionOne = await generatePartitionData({
      directory: join(sources, 'partition-1'),
      partitionId: 1,
      journalBytes: 36 * 1024 * 1024,
      maxSegmentSize: 12 * 1024 * 1024,
      snapshotBytes: 20 * 1024 * 1024,
      seed: 85,
    });
    partitionTwoFiles = { snapshotFiles: await snapshotFiles(), segmentFiles: await journalFilesFor(2) };

    reference = await filesystemRestoreReference(partitionBackups('8.5'), backupId);
  });

  afterAll(() => client.destroy());

  it.each(['zstd', 'gz', 'deflate'] as const)(
    'restores an 8.5 backup in the legacy layout whose files over 8 MiB are %s-compressed',
    async (compression) => {
      const bucket = await createTestBucket(client);
      const compressed = await uploadAll(bucket, partitionBackups('8.5', compression));
      const large = [...partitionOne.snapshotFiles, ...partitionOne.segmentFiles].filter(({ source }) => statSync(source).size > compressionThreshold);
      expect(large.length).toBeGreaterThanOrEqual(3);
      expect(compressed.sort()).toEqual(large.map(({ name }) => name).sort());

      const work = await tempDir();
      const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: s3Env(work, bucket) });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
      // The all-zero preallocated segment is told apart from its first compressed bytes.
      expect(run.stdout).toMatch(/Partition 1: restoring .*; 1 log segment after the checkpoint not downloaded\./);
      await expectRestoredLikeReference(work);
    },
  );

  it('restores an 8.1 backup whose manifest lists plain name arrays', async () => {
    const bucket = await createTestBucket(client);
    await uploadAll(bucket, partitionBackups('8.1'));
    const work = await tempDir();
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: s3Env(work, bucket) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await expectRestoredLikeReference(work);
  });

  it('restores an 8.9 backup in the v2 layout below a basePath', async () => {
    const bucket = await createTestBucket(client);
    const backups = partitionBackups('8.9', 'zstd').map((backup) => ({ ...backup, basePath: 'camunda/backups' }));
    expect(await uploadAll(bucket, backups)).not.toEqual([]);
    const work = await tempDir();
    const env = s3Env(work, bucket, { ZEEBE_BROKER_DATA_BACKUP_S3_BASEPATH: 'camunda/backups' });
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await expectRestoredLikeReference(work);
  });

  it('restores the one completed copy when other nodes left failed and in-progress ones', async () => {
    const bucket = await createTestBucket(client);
    const completed = partitionBackups('8.5', 'zstd').map((backup) => ({ ...backup, nodeId: 2 }));
    const failed = completed.map((backup) => ({
      ...backup,
      nodeId: 0,
      status: 'FAILED' as const,
      failureReason: 'Leader changed before the backup was taken',
      snapshotFiles: [],
      segmentFiles: [],
    }));
    // An in-progress copy lists files it never uploaded.
    const inProgress = completed.map((backup) => ({ ...backup, nodeId: 1, status: 'IN_PROGRESS' as const }));
    await uploadAll(bucket, [...failed, ...completed]);
    await Promise.all(inProgress.map((backup) => uploadS3Backup(client, bucket, { ...backup, segmentFiles: [], snapshotFiles: [] })));

    const work = await tempDir();
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: s3Env(work, bucket) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Partition 1: restoring node 2's copy/);
    expect(run.stdout).toMatch(/Partition 2: restoring node 2's copy/);
    await expectRestoredLikeReference(work);
  });
});

/**
 * Zeebe 8.5.4's journal holds records of 50–400 random bytes: it compresses a little, so zstd
 * writes compressed blocks of ~110 KiB and the first 64 KiB of a stored segment decode to nothing.
 * Its checkpoint 14882 lies in the segment the broker was still writing. Every file is stored
 * compressed, whatever its size (the agent goes by the manifest alone).
 */
describe('restoring a checkpoint in the active segment of poorly compressible records from S3', () => {
  let client: S3Client;
  let reference: Record<string, string>;
  const truncation = zeebeTruncations.activeSegment;
  const backups = async (compression?: S3Compression): Promise<S3PartitionBackup[]> =>
    (await zeebeFixtureBackups(backupId, 0, truncation)).map((backup) => ({
      ...backup,
      dialect: '8.5',
      ...(compression ? { compression, compressionThreshold: 0 } : {}),
    }));

  beforeAll(async () => {
    client = s3TestClient(endpoint);
    reference = await filesystemRestoreReference(await backups(), backupId);
  });

  afterAll(() => client.destroy());

  it.each(['raw', 'zstd', 'gz', 'deflate'] as const)('%s: byte for byte what Zeebe 8.5.4 writes', async (algorithm) => {
    const bucket = await createTestBucket(client);
    const compression = algorithm === 'raw' ? undefined : algorithm;
    const compressed = (await Promise.all((await backups(compression)).map((backup) => uploadS3Backup(client, bucket, backup)))).flat();
    expect(compressed).toHaveLength(compression ? 2 * 12 : 0);

    const work = await tempDir();
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: s3Env(work, bucket) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Only the preallocated segment lies after the checkpoint.
    expect(run.stdout).toMatch(/Partition 1: restoring .*4 log segments.*; 1 log segment after the checkpoint not downloaded\./);
    const data = join(work, 'data');
    expect(await restoredPartitionsOf(data)).toEqual(reference);
    for (const partitionId of [1, 2]) expectZeebeTruncatedJournal(join(data, `raft-partition/partitions/${partitionId}`), partitionId, truncation);
  });

  it('fails with exit code 5, naming the object, when a zstd object is cut short', async () => {
    const bucket = await createTestBucket(client);
    await Promise.all((await backups('zstd')).map((backup) => uploadS3Backup(client, bucket, backup)));
    const key = `1/${backupId}/0/segments/raft-partition-partition-1-4.log`;
    const stored = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: stored.subarray(0, stored.length - 1) }));

    const work = await tempDir();
    await mkdir(join(work, 'data/lost+found'), { recursive: true });
    const before = await treeOf(work);
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: s3Env(work, bucket) });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/Segment file raft-partition-partition-1-4\.log of partition 1 .* is not a valid zstd stream: .*cut short \(truncated\)/);
    expect(await treeOf(work)).toEqual(before);
  });
});

describe('a large raw file', () => {
  it('downloads in parts over several connections, byte for byte', async () => {
    const client = s3TestClient(endpoint);
    try {
      // Zeebe 8.5.4's snapshot plus one 130 MiB file (a large RocksDB level), with a checksum file for all.
      const snapshots = await tempDir();
      const directory = join(snapshots, fixtureSnapshotId);
      await cp(join(fixtures, 'snapshot-b', fixtureSnapshotId), directory, { recursive: true });
      const large = randomBytes(130 * 1024 * 1024);
      await writeFile(join(directory, '000099.sst'), large);
      const checksum = join(snapshots, `${fixtureSnapshotId}.checksum`);
      await writeSnapshotChecksumFile(directory, checksum);
      const bucket = await createTestBucket(client);
      await uploadS3Backup(client, bucket, {
        dialect: '8.5',
        partitionId: 1,
        checkpointId: backupId,
        nodeId: 0,
        descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: fixtureCheckpoint, numberOfPartitions: 1, brokerVersion: '8.5.4' },
        snapshotFiles: [...(await sourceFilesIn(directory)), { name: `${fixtureSnapshotId}.checksum`, source: checksum }],
        segmentFiles: await journalFilesFor(1),
      });
      const proxy = await startS3Proxy(endpoint);
      try {
        const work = await tempDir();
        const env = { ...oneBrokerEnv(work, 1), ...s3StoreEnv(proxy.endpoint, bucket) };
        const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const restored = join(work, 'data/raft-partition/partitions/1/snapshots', fixtureSnapshotId, '000099.sst');
        expect(createHash('sha256').update(await readFile(restored)).digest('hex')).toBe(createHash('sha256').update(large).digest('hex'));
        const parts = proxy.requests.filter((request) => request.method === 'GET' && request.path.includes('000099.sst')).map(({ headers }) => headers.range);
        expect(parts.sort()).toEqual([`bytes=0-${65 * 1024 * 1024 - 1}`, `bytes=${65 * 1024 * 1024}-${130 * 1024 * 1024 - 1}`]);
      } finally {
        await proxy.close();
      }
    } finally {
      client.destroy();
    }
  });
});

describe('S3 settings that must not leak or be dropped', () => {
  let client: S3Client;
  let bucket: string;

  /** One partition of Zeebe 8.5.4's files in the v2 layout, as an 8.9 broker writes it. */
  beforeAll(async () => {
    client = s3TestClient(endpoint);
    bucket = await bucketWithFixturePartition(client, backupId);
  });

  afterAll(() => client.destroy());

  const onePartition = (work: string, settings: Record<string, string>) => ({
    ...s3Env(work, bucket, settings),
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '1',
  });

  it('sends the SSE-C customer key headers with every download', async () => {
    const key = randomBytes(32);
    const proxy = await startS3Proxy(endpoint);
    try {
      const work = await tempDir();
      const env = onePartition(work, {
        ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: proxy.endpoint,
        ZEEBE_BROKER_DATA_BACKUP_S3_SSECKEY: key.toString('base64'),
      });
      const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expectZeebeTruncatedJournal(join(work, 'data/raft-partition/partitions/1'), 1);

      const downloads = proxy.requests.filter((request) => request.method === 'GET' && !request.path.includes('list-type'));
      // The manifest, 7 snapshot files with the checksum file, the first bytes of segments 5, 4
      // and 3 (5 and 4 lie after the checkpoint), and segments 1-3.
      expect(downloads).toHaveLength(14);
      for (const { headers } of downloads) {
        expect(headers['x-amz-server-side-encryption-customer-algorithm']).toBe('AES256');
        expect(headers['x-amz-server-side-encryption-customer-key']).toBe(key.toString('base64'));
        expect(headers['x-amz-server-side-encryption-customer-key-md5']).toBe(createHash('md5').update(key).digest('base64'));
      }
    } finally {
      await proxy.close();
    }
  });

  describe('never prints credentials', () => {
    const secrets = {
      ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: 'AKIARECOGNISABLE7788',
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: 'recognisable/Secret+Key/7788',
      ZEEBE_BROKER_DATA_BACKUP_S3_SSECKEY: Buffer.from('recognisable-customer-key-7788!!').toString('base64'),
    };
    const expectNoSecretIn = (output: string) => {
      for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);
      expect(output).not.toMatch(/recognisable|RECOGNISABLE/i);
    };

    it('in --print-config', async () => {
      const work = await tempDir();
      const run = await runRestore(['--print-config'], { cwd: work, env: onePartition(work, secrets) });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/secretKey/);
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it.each(['text', 'json'])('when the server rejects them (%s log)', async (format) => {
      const work = await tempDir();
      const run = await runRestore([`--backupId=${backupId}`, `--log-format=${format}`], { cwd: work, env: onePartition(work, secrets) });
      expect(run.code).toBe(6);
      expect(run.stderr).toContain(`s3://${bucket}/`);
      expect(run.stderr).toMatch(/InvalidAccessKeyId/);
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it('when the bucket does not exist', async () => {
      const work = await tempDir();
      const env = onePartition(work, {
        ...secrets,
        ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: 'S3RVER',
        ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: 'no-such-bucket',
      });
      const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/s3:\/\/no-such-bucket\/.*the bucket does not exist/);
      expectNoSecretIn(run.stdout + run.stderr);
    });
  });
});
