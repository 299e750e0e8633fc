import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createDeflate, createGzip, createZstdCompress } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PartitionBackup, SourceFile } from '../../src/demo/filesystem-backup-writer.js';
import { manifestOf as manifestOfBackup } from '../../src/demo/common-manifest.js';
import { manifestObject } from '../../src/manifest/write-manifest.js';
import { contentKey, manifestKey } from '../../src/store/store-layout.js';
import { fixturePartitionBackup } from './fixtures.js';

/** s3rver accepts only its built-in account. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function s3TestClient(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3rverCredentials });
}

/** The broker settings that point the agent at a bucket of the test S3 server. */
export function s3StoreEnv(endpoint: string, bucket: string): Record<string, string> {
  return {
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
    ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: bucket,
    ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: endpoint,
    ZEEBE_BROKER_DATA_BACKUP_S3_FORCEPATHSTYLEACCESS: 'true',
    ZEEBE_BROKER_DATA_BACKUP_S3_REGION: 'us-east-1',
    ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: s3rverCredentials.accessKeyId,
    ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: s3rverCredentials.secretAccessKey,
  };
}

/** A new bucket with a unique name, so tests never see each other's objects. */
export async function createTestBucket(client: S3Client): Promise<string> {
  const bucket = `backups-${randomUUID().slice(0, 13)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/**
 * The S3 manifest as brokers of each generation wrote it (backup-store-format.md §2.1):
 * 8.1 lists plain name arrays; 8.5 keys file sets by name with an optional compressionAlgorithm
 * and writes epoch-second timestamps with nanoseconds; 8.9 adds descriptor fields, writes ISO
 * timestamps and, with them, the v2 key layout.
 */
export type S3ManifestDialect = '8.1' | '8.5' | '8.9';

export type S3Compression = 'zstd' | 'gz' | 'deflate';

export interface S3PartitionBackup extends Omit<PartitionBackup, 'descriptor'> {
  dialect: S3ManifestDialect;
  descriptor?: PartitionBackup['descriptor'] & { firstLogPosition?: bigint };
  /** The broker's `compression` setting: files strictly larger than 8 MiB are stored compressed with it. */
  compression?: S3Compression;
  /**
   * Files strictly larger than this many bytes are compressed (default: the brokers' 8 MiB). The
   * agent goes by the manifest alone, so tests may compress small files to keep their data small.
   */
  compressionThreshold?: number;
  basePath?: string;
}

/** A fresh bucket holding partition 1 of Zeebe 8.5.4's fixture files, as an 8.9 broker writes them. */
export async function bucketWithFixturePartition(client: S3Client, backupId: bigint): Promise<string> {
  const bucket = await createTestBucket(client);
  await uploadS3Backup(client, bucket, { ...(await fixturePartitionBackup(backupId, { brokerVersion: '8.9.0' })), dialect: '8.9' });
  return bucket;
}

/** Brokers compress only files strictly larger than this. */
export const compressionThreshold = 8 * 1024 * 1024;

/**
 * Uploads one partition's backup under the keys, and with the manifest, its broker generation
 * writes. Returns the names of the files it stored compressed.
 */
export async function uploadS3Backup(client: S3Client, bucket: string, backup: S3PartitionBackup): Promise<string[]> {
  if (backup.compression && backup.dialect === '8.1') throw new Error('8.1 brokers did not compress backups');
  const keyOf = layoutOf(backup);
  const upload = async (kind: 'snapshot' | 'segments', files: SourceFile[]) => {
    const stored: Record<string, { compressionAlgorithm?: string }> = {};
    for (const file of files) {
      const compress = backup.compression && (await stat(file.source)).size > (backup.compressionThreshold ?? compressionThreshold);
      const body = compress ? await compressed(file.source, backup.compression!) : await readFile(file.source);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf.content(kind, file.name), Body: body }));
      stored[file.name] = compress ? { compressionAlgorithm: backup.compression! } : {};
    }
    return stored;
  };
  const snapshotFiles = await upload('snapshot', backup.snapshotFiles ?? []);
  const segmentFiles = await upload('segments', backup.segmentFiles);
  const manifest = manifestOf(backup, snapshotFiles, segmentFiles);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf.manifest, Body: JSON.stringify(manifest) }));
  return Object.entries({ ...snapshotFiles, ...segmentFiles }).flatMap(([name, meta]) => (meta.compressionAlgorithm ? [name] : []));
}

/** 8.9 brokers write the v2 layout, older ones the legacy one, below the base path. */
function layoutOf(backup: S3PartitionBackup) {
  const { partitionId: p, checkpointId: c, nodeId } = backup;
  const base = backup.basePath ? `${backup.basePath}/` : '';
  const layout = backup.dialect === '8.9' ? 'v2' : 'legacy';
  return {
    manifest: base + manifestKey(p, c, String(nodeId), layout),
    content: (kind: 'snapshot' | 'segments', name: string) => base + contentKey(p, c, String(nodeId), kind, name, layout),
  };
}

type FileSet = Record<string, { compressionAlgorithm?: string }>;

/** The manifest through the agent's own writer; 8.1 brokers listed plain name arrays instead of file sets. */
function manifestOf(backup: S3PartitionBackup, snapshotFiles: FileSet, segmentFiles: FileSet) {
  const createdAt = backup.createdAt ?? new Date().toISOString();
  const compressed = new Map(
    Object.entries({ ...snapshotFiles, ...segmentFiles }).flatMap(([name, meta]) => (meta.compressionAlgorithm ? [[name, meta.compressionAlgorithm] as const] : [])),
  );
  const since89 = backup.dialect === '8.9' && backup.descriptor ? { checkpointTimestamp: createdAt, checkpointType: 'MANUAL_BACKUP' } : {};
  const manifest = manifestOfBackup({ ...backup, createdAt, ...(backup.descriptor ? { descriptor: { ...backup.descriptor, ...since89 } } : {}) }, compressed);
  const json = manifestObject(manifest, backup.dialect === '8.9' ? 's3-iso' : 's3-epoch-seconds');
  if (backup.dialect !== '8.1') return json;
  const { snapshotFiles: _snapshot, segmentFiles: _segments, ...rest } = json;
  return { ...rest, snapshotFileNames: Object.keys(snapshotFiles), segmentFileNames: Object.keys(segmentFiles) };
}

/**
 * The file as commons-compress streams it: for zstd a frame without a content size, because
 * zstd-jni's output stream does not know the size up front. Node's streaming compressor behaves
 * the same; the check keeps the tests honest should that ever change.
 */
async function compressed(path: string, algorithm: S3Compression): Promise<Buffer> {
  const compressor = { zstd: createZstdCompress, gz: createGzip, deflate: createDeflate }[algorithm]();
  const [bytes] = await Promise.all([buffer(compressor), pipeline(createReadStream(path), compressor)]);
  // zstd-jni, like Node, declares the content size of an empty input (0): only then is it known.
  if (algorithm === 'zstd' && zstdFrameDeclaresContentSize(bytes) && (await stat(path)).size > 0) {
    throw new Error(`zstd output for ${path} declares its content size; brokers' streams do not`);
  }
  return bytes;
}

/** RFC 8878 §3.1.1.1.1: a content size is present if the FCS flag is set or the frame is single-segment. */
function zstdFrameDeclaresContentSize(frame: Buffer): boolean {
  const descriptor = frame[4]!;
  return descriptor >> 6 !== 0 || (descriptor & 0x20) !== 0;
}
