import { join } from 'node:path';
import { constants, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { readFile, stat } from 'node:fs/promises';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import type { PartitionBackup, SourceFile } from '../../../src/demo/common-manifest.js';
import { writeFilesystemBackup } from '../../../src/demo/filesystem-backup-writer.js';
import { createTestBucket, s3StoreEnv, type S3Compression, type S3ManifestDialect, uploadS3Backup } from '../s3-backup.js';
import { SeededRandom } from './seeded-random.js';
import { GENERATED_PARTITION_ID, type GeneratedPartition } from './write-partition.js';

/*
 * Puts a generated partition into a backup store the way brokers do, in every variant the agent
 * must read: filesystem, S3 in each manifest dialect, raw or compressed with each algorithm, with
 * each zstd frame layout a standard encoder can produce.
 */

export type StorageShape = FilesystemStorage | S3Storage;

export interface FilesystemStorage {
  store: 'filesystem';
  brokerVersion: string;
}

export interface S3Storage {
  store: 's3';
  dialect: S3ManifestDialect;
  compression?: S3Compression;
  /** Compress every file, or only the files larger than one of them (chosen by `encodingSeed`). */
  compressAll: boolean;
  /** Chooses the size threshold and each compressed file's encoding. */
  encodingSeed: number;
}

/** A backup in a store, and the broker settings that point the agent at it. */
export interface StoredBackup {
  storeEnv: Record<string, string>;
  remove(): Promise<void>;
}

export const filesystemStorage: fc.Arbitrary<StorageShape> = fc.record({
  store: fc.constant('filesystem' as const),
  brokerVersion: fc.constantFrom('8.7.2', '8.8.3'),
});

/** S3 storage with the given compression; brokers up to 8.1 could not compress. */
export function s3Storage(compression?: S3Compression): fc.Arbitrary<StorageShape> {
  const dialects: S3ManifestDialect[] = compression ? ['8.5', '8.9'] : ['8.1', '8.5', '8.9'];
  return fc.record({
    store: fc.constant('s3' as const),
    dialect: fc.constantFrom(...dialects),
    compressAll: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    encodingSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  }).map((storage) => (compression ? { ...storage, compression } : storage));
}

const brokerVersionOf: Record<S3ManifestDialect, string> = { '8.1': '8.1.14', '8.5': '8.5.4', '8.9': '8.9.0' };

export function partitionBackupOf(partition: GeneratedPartition, backupId: bigint, brokerVersion: string): PartitionBackup {
  const { snapshot } = partition;
  return {
    partitionId: GENERATED_PARTITION_ID,
    checkpointId: backupId,
    nodeId: 0,
    descriptor: {
      ...(snapshot ? { snapshotId: snapshot.id } : {}),
      checkpointPosition: partition.plan.checkpointPosition,
      numberOfPartitions: 1,
      brokerVersion,
    },
    snapshotFiles: snapshot?.files ?? [],
    segmentFiles: partition.segmentFiles,
  };
}

export async function storeBackup(
  storage: StorageShape,
  partition: GeneratedPartition,
  backupId: bigint,
  where: { directory: string; s3?: { client: S3Client; endpoint: string } },
): Promise<StoredBackup> {
  if (storage.store === 'filesystem') {
    const basePath = join(where.directory, 'store');
    await writeFilesystemBackup(basePath, partitionBackupOf(partition, backupId, storage.brokerVersion));
    return {
      storeEnv: { ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: basePath },
      remove: async () => {},
    };
  }
  if (!where.s3) throw new Error('an S3 storage needs the test S3 server');
  const { client, endpoint } = where.s3;
  const bucket = await createTestBucket(client);
  const remove = () => removeBucket(client, bucket);
  try {
    await uploadToS3(client, bucket, storage, partition, backupId);
  } catch (error) {
    await remove();
    throw error;
  }
  return { storeEnv: s3StoreEnv(endpoint, bucket), remove };
}

async function uploadToS3(client: S3Client, bucket: string, storage: S3Storage, partition: GeneratedPartition, backupId: bigint): Promise<void> {
  // A backup without snapshot is only restorable up to 8.8: Zeebe 8.9 checks every partition has one after a restore.
  const dialect = storage.dialect === '8.9' && !partition.snapshot ? '8.5' : storage.dialect;
  const files = [...partition.segmentFiles, ...(partition.snapshot?.files ?? [])];
  const random = new SeededRandom(`encoding:${storage.encodingSeed}`);
  const compressed = await uploadS3Backup(client, bucket, {
    ...partitionBackupOf(partition, backupId, brokerVersionOf[dialect]),
    dialect,
    ...(storage.compression ? { compression: storage.compression, compressionThreshold: await compressionThreshold(storage, files, random) } : {}),
  });
  if (storage.compression) await reencodeSome(client, bucket, files.filter(({ name }) => compressed.includes(name)), storage.compression, random);
}

/** Files strictly larger than the threshold are compressed. */
async function compressionThreshold(storage: S3Storage, files: SourceFile[], random: SeededRandom): Promise<number> {
  if (!storage.compressAll) return (await stat(random.pick(files).source)).size;
  return -1;
}

/**
 * The broker's zstd stream is one frame without content size or checksum, as uploadS3Backup
 * writes it. Other encoders add a checksum, a content size or several frames: all standard zstd,
 * all to be decoded and checked. For gzip and deflate, the fastest level and stored blocks
 * (level 0) give the decoder other block layouts than the default level.
 */
const encodings: Record<S3Compression, Record<string, ((bytes: Buffer, random: SeededRandom) => Buffer) | 'asUploaded'>> = {
  zstd: {
    brokerStream: 'asUploaded',
    withChecksum: (bytes) => zstdFrame(bytes, { checksum: true, contentSize: false }),
    withContentSizeAndChecksum: (bytes) => zstdFrame(bytes, { checksum: true, contentSize: true }),
    severalFrames: (bytes, random) => {
      const cuts = [0, ...Array.from({ length: random.int(1, 3) }, () => random.int(0, bytes.length)).sort((a, b) => a - b), bytes.length];
      const checksum = random.chance(0.5);
      return Buffer.concat(cuts.slice(1).map((end, i) => zstdFrame(bytes.subarray(cuts[i]!, end), { checksum, contentSize: false })));
    },
  },
  gz: {
    defaultLevel: 'asUploaded',
    fastest: (bytes) => gzipSync(bytes, { level: 1 }),
    storedBlocks: (bytes) => gzipSync(bytes, { level: 0 }),
  },
  deflate: {
    defaultLevel: 'asUploaded',
    fastest: (bytes) => deflateSync(bytes, { level: 1 }),
    storedBlocks: (bytes) => deflateSync(bytes, { level: 0 }),
  },
};

function zstdFrame(bytes: Buffer, flags: { checksum: boolean; contentSize: boolean }): Buffer {
  return zstdCompressSync(bytes, {
    params: { [constants.ZSTD_c_checksumFlag]: Number(flags.checksum), [constants.ZSTD_c_contentSizeFlag]: Number(flags.contentSize) },
  });
}

/** Replaces the stored bytes of some compressed files by another valid encoding; the manifest stays. */
async function reencodeSome(client: S3Client, bucket: string, files: SourceFile[], compression: S3Compression, random: SeededRandom): Promise<void> {
  const keys = await keysIn(client, bucket);
  for (const file of files) {
    const encoding = encodings[compression][random.pick(Object.keys(encodings[compression]))]!;
    if (encoding === 'asUploaded') continue;
    // The layout differs by dialect; the file's own object is the one that ends in its name.
    const key = keys.find((candidate) => candidate.endsWith(`/${file.name}`));
    if (!key) throw new Error(`no object for ${file.name} in bucket ${bucket}`);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: encoding(await readFile(file.source), random) }));
  }
}

async function keysIn(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    keys.push(...(page.Contents ?? []).map(({ Key }) => Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Deletes the bucket and its objects, so the S3 server's disk does not fill up over hundreds of cases. */
async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  const keys = await keysIn(client, bucket);
  if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
