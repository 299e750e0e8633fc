import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { S3StoreConfig } from '../../src/config/restore-config.js';
import { BackupInvalidError, StoreUnavailableError } from '../../src/errors.js';
import type { Logger } from '../../src/log/logger.js';
import { findCompletedCopy } from '../../src/restore/find-backup.js';
import type { BackupCopy } from '../../src/store/backup-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import { tempDir } from '../support/fixtures.js';
import { manifestOnly as commonManifestOnly } from '../support/object-store-suite.js';
import { createTestBucket, type S3PartitionBackup, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';
import { startS3Proxy } from '../support/s3-proxy.js';

const endpoint = inject('s3Endpoint');
const quiet: Logger = { info() {}, warn() {}, error() {} };

function configFor(bucketName: string, settings: Partial<S3StoreConfig> = {}): S3StoreConfig {
  return {
    type: 'S3',
    bucketName,
    endpoint,
    region: 'us-east-1',
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    forcePathStyleAccess: true,
    apiCallTimeoutMs: 30_000,
    maxConcurrentConnections: 8,
    connectionAcquisitionTimeoutMs: 45_000,
    supportLegacyMd5: false,
    ...settings,
  };
}

/** A manifest without files in the 8.5 dialect: enough for listing and status tests. */
function manifestOnly(partitionId: number, checkpointId: bigint, nodeId: number, extra: Partial<S3PartitionBackup> = {}): S3PartitionBackup {
  return { ...commonManifestOnly(partitionId, checkpointId, nodeId), dialect: '8.5', ...extra };
}

describe('S3 store against a real S3 server', () => {
  let client: S3Client;
  let bucket: string;
  const stores: S3Store[] = [];
  const open = (settings: Partial<S3StoreConfig> = {}) => {
    const store = new S3Store(configFor(bucket, settings));
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    client = s3TestClient(endpoint);
    bucket = await createTestBucket(client);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    client.destroy();
  });

  it('lists manifests of both layouts, matching partition and backup id exactly', async () => {
    await uploadS3Backup(client, bucket, manifestOnly(1, 7n, 0));
    await uploadS3Backup(client, bucket, manifestOnly(1, 7n, 2, { dialect: '8.9', descriptor: { checkpointPosition: 100n, numberOfPartitions: 3, brokerVersion: '8.9.0' } }));
    // Neighbours a prefix listing of `1/7` would also return.
    await uploadS3Backup(client, bucket, manifestOnly(1, 70n, 1));
    await uploadS3Backup(client, bucket, manifestOnly(1, 70n, 1, { dialect: '8.9' }));
    await uploadS3Backup(client, bucket, manifestOnly(11, 7n, 1));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: '1/7/0/snapshot/manifest.json', Body: '{}' }));

    const store = open();
    const refs = await store.listManifests(1, 7n);
    expect(refs.map(({ nodeId, location }) => ({ nodeId, location })).sort((a, b) => a.nodeId - b.nodeId)).toEqual([
      { nodeId: 0, location: '1/7/0/manifest.json' },
      { nodeId: 2, location: 'manifests/1/7/2/manifest.json' },
    ]);
    const manifests = await Promise.all(refs.map((ref) => store.readManifest(ref)));
    expect(manifests.map((manifest) => [manifest.nodeId, manifest.descriptor?.brokerVersion]).sort()).toEqual([
      [0, '8.5.4'],
      [2, '8.9.0'],
    ]);
  });

  it('follows listing pages past the first 1000 keys', async () => {
    const segmentKeys = Array.from({ length: 1100 }, (_, i) => `3/9/0/segments/raft-partition-partition-3-${String(i).padStart(4, '0')}.log`);
    for (let i = 0; i < segmentKeys.length; i += 100) {
      await Promise.all(
        segmentKeys.slice(i, i + 100).map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))),
      );
    }
    // Sorted after all of node 0's 1100 files: only on the second page.
    await uploadS3Backup(client, bucket, manifestOnly(3, 9n, 1));
    await uploadS3Backup(client, bucket, manifestOnly(3, 9n, 0));

    const refs = await open().listManifests(3, 9n);
    expect(refs.map((ref) => ref.location).sort()).toEqual(['3/9/0/manifest.json', '3/9/1/manifest.json']);
  });

  it('reads only below its basePath', async () => {
    await uploadS3Backup(client, bucket, manifestOnly(1, 5n, 0, { basePath: 'zeebe/prod' }));
    await uploadS3Backup(client, bucket, manifestOnly(1, 5n, 1, { basePath: 'zeebe/prod', dialect: '8.9' }));
    await uploadS3Backup(client, bucket, manifestOnly(1, 5n, 2));

    const store = open({ basePath: 'zeebe/prod' });
    const refs = await store.listManifests(1, 5n);
    expect(refs.map((ref) => ref.location).sort()).toEqual([
      'zeebe/prod/1/5/0/manifest.json',
      'zeebe/prod/manifests/1/5/1/manifest.json',
    ]);
    await Promise.all(refs.map((ref) => store.readManifest(ref)));
    expect((await open().listManifests(1, 5n)).map((ref) => ref.location)).toEqual(['1/5/2/manifest.json']);
  });

  it('picks the completed copy among failed and in-progress ones from other nodes', async () => {
    await uploadS3Backup(client, bucket, manifestOnly(2, 11n, 0, { status: 'FAILED', failureReason: 'Leader changed', descriptor: undefined }));
    await uploadS3Backup(client, bucket, manifestOnly(2, 11n, 1));
    await uploadS3Backup(client, bucket, manifestOnly(2, 11n, 2, { status: 'IN_PROGRESS' }));

    const copy = await findCompletedCopy(open(), 2, 11n, quiet);
    expect(copy.ref.nodeId).toBe(1);
    expect(copy.manifest.status).toBe('COMPLETED');
  });

  it('reports a backup that has only failed and in-progress copies', async () => {
    await uploadS3Backup(client, bucket, manifestOnly(2, 12n, 0, { status: 'FAILED', failureReason: 'Leader changed', descriptor: undefined }));
    await uploadS3Backup(client, bucket, manifestOnly(2, 12n, 2, { status: 'IN_PROGRESS', dialect: '8.1' }));

    await expect(findCompletedCopy(open(), 2, 12n, quiet)).rejects.toThrow(
      /partition 2 has only (FAILED from node 0: Leader changed; IN_PROGRESS from node 2|IN_PROGRESS from node 2; FAILED from node 0: Leader changed)/,
    );
  });

  it.each([
    ['8.8.3', '8.5', '4/1/0/segments/file.log'],
    ['8.10.0', '8.9', 'contents/4/1/0/segments/file.log'],
  ] as const)('reads the files of a %s broker from its layout', async (brokerVersion, dialect, key) => {
    const work = await tempDir();
    const content = randomBytes(1000);
    await writeFile(join(work, 'file.log'), content);
    await uploadS3Backup(client, bucket, {
      ...manifestOnly(4, 1n, 0, { dialect, descriptor: { checkpointPosition: 1n, numberOfPartitions: 1, brokerVersion } }),
      segmentFiles: [{ name: 'file.log', source: join(work, 'file.log') }],
    });
    const store = open();
    const [ref] = await store.listManifests(4, 1n);
    const copy: BackupCopy = { ref: ref!, manifest: await store.readManifest(ref!) };
    expect((await buffer(await store.openFile(copy, 'segments', 'file.log'))).equals(content)).toBe(true);
    expect(await store.fileSize(copy, 'segments', 'file.log')).toBe(1000);
    const missing = await store.openFile(copy, 'segments', 'other.log').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BackupInvalidError);
    expect((missing as Error).message).toContain(`s3://${bucket}/${key.replace('file.log', 'other.log')}`);
  });

  it.each([
    ['8.8.3', '8.5', '6/1/0/segments/'],
    ['8.10.0', '8.9', 'contents/6/1/0/segments/'],
  ] as const)('sizes the files of a %s broker from one listing, and a file it does not show by its own request', async (brokerVersion, dialect, directory) => {
    const work = await tempDir();
    const segmentFiles = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await writeFile(join(work, `${i}.log`), Buffer.alloc(1000 + i));
        return { name: `${i}.log`, source: join(work, `${i}.log`) };
      }),
    );
    await uploadS3Backup(client, bucket, {
      ...manifestOnly(6, 1n, 0, { dialect, descriptor: { checkpointPosition: 1n, numberOfPartitions: 1, brokerVersion } }),
      segmentFiles,
    });
    const proxy = await startS3Proxy(endpoint);
    try {
      const store = open({ endpoint: proxy.endpoint });
      const [ref] = await store.listManifests(6, 1n);
      const copy: BackupCopy = { ref: ref!, manifest: await store.readManifest(ref!) };
      const before = proxy.requests.length;
      const sizes = await Promise.all(segmentFiles.map(({ name }) => store.fileSize(copy, 'segments', name)));
      expect(sizes).toEqual(segmentFiles.map((_, i) => 1000 + i));
      expect(proxy.requests.slice(before).map(({ method, path }) => `${method} ${path}`)).toEqual([
        expect.stringMatching(new RegExp(`^GET /${bucket}/?\\?list-type=2&prefix=${encodeURIComponent(directory)}$`)),
      ]);

      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${directory}late.log`, Body: 'written after the listing' }));
      expect(await store.fileSize(copy, 'segments', 'late.log')).toBe(25);
      expect(proxy.requests.slice(before + 1).map(({ method, path }) => `${method} ${path}`)).toEqual([`HEAD /${bucket}/${directory}late.log`]);
    } finally {
      await proxy.close();
    }
  });

  it('resumes a download whose connection breaks mid-body, delivering the exact bytes', async () => {
    const work = await tempDir();
    const content = randomBytes(5 * 1024 * 1024);
    await writeFile(join(work, 'big.log'), content);
    await uploadS3Backup(client, bucket, { ...manifestOnly(5, 1n, 0), segmentFiles: [{ name: 'big.log', source: join(work, 'big.log') }] });
    const cutAt = [1_000_000, 2_500_000];
    const proxy = await startS3Proxy(endpoint, {
      cutResponseAfter: (request) => (request.path.includes('big.log') ? cutAt.shift() : undefined),
    });
    try {
      const store = open({ endpoint: proxy.endpoint });
      const [ref] = await store.listManifests(5, 1n);
      const copy: BackupCopy = { ref: ref!, manifest: await store.readManifest(ref!) };
      const bytes = await buffer(await store.openFile(copy, 'segments', 'big.log'));
      expect(bytes.length).toBe(content.length);
      expect(bytes.equals(content)).toBe(true);
      const gets = proxy.requests.filter((request) => request.path.includes('big.log'));
      expect(gets.map((request) => request.headers.range)).toEqual([undefined, 'bytes=1000000-', 'bytes=3500000-']);
    } finally {
      await proxy.close();
    }
  });

  it('reads a range of a file over its own request, resuming it where it breaks', async () => {
    const work = await tempDir();
    const content = randomBytes(4 * 1024 * 1024);
    await writeFile(join(work, 'part.log'), content);
    await uploadS3Backup(client, bucket, { ...manifestOnly(7, 1n, 0), segmentFiles: [{ name: 'part.log', source: join(work, 'part.log') }] });
    const cutAt = [500_000];
    const proxy = await startS3Proxy(endpoint, { cutResponseAfter: (request) => (request.path.includes('part.log') ? cutAt.shift() : undefined) });
    try {
      const store = open({ endpoint: proxy.endpoint });
      const copy = await findCompletedCopy(store, 7, 1n, quiet);
      const bytes = await buffer(await store.openFile(copy, 'segments', 'part.log', undefined, { start: 1_000_000, end: 3_000_000 }));
      expect(bytes.equals(content.subarray(1_000_000, 3_000_000))).toBe(true);
      const gets = proxy.requests.filter((request) => request.path.includes('part.log'));
      expect(gets.map((request) => request.headers.range)).toEqual(['bytes=1000000-2999999', 'bytes=1500000-2999999']);
    } finally {
      await proxy.close();
    }
  });

  it('retries throttling and server errors', async () => {
    const work = await tempDir();
    const content = randomBytes(1000);
    await writeFile(join(work, 'file.log'), content);
    await uploadS3Backup(client, bucket, { ...manifestOnly(6, 1n, 0), segmentFiles: [{ name: 'file.log', source: join(work, 'file.log') }] });
    const failures: ('SlowDown' | 'InternalError')[] = ['SlowDown', 'InternalError', 'SlowDown'];
    const proxy = await startS3Proxy(endpoint, { failWith: () => failures.shift() });
    try {
      const store = open({ endpoint: proxy.endpoint });
      const copy = await findCompletedCopy(store, 6, 1n, quiet);
      expect((await buffer(await store.openFile(copy, 'segments', 'file.log'))).equals(content)).toBe(true);
      expect(failures).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('names the bucket when it does not exist', async () => {
    const failure = await open({ bucketName: 'no-such-bucket', basePath: 'zeebe' })
      .listManifests(1, 1n)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/s3:\/\/no-such-bucket\/zeebe\/.*the bucket does not exist\. Check backup\.s3\.bucketName/);
    expect((failure as Error).message).toContain(endpoint);
  });

  it('explains rejected credentials without repeating them', async () => {
    const failure = await open({ accessKey: 'AKIA-RECOGNISABLE-ID', secretKey: 'recognisable-secret' })
      .listManifests(1, 1n)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/the credentials were rejected \(InvalidAccessKeyId\)\. Check accessKey and secretKey/);
    expect((failure as Error).message).not.toMatch(/RECOGNISABLE|recognisable/);
  });

  it('explains an unreachable endpoint', async () => {
    const failure = await open({ endpoint: 'http://127.0.0.1:9' })
      .listManifests(1, 1n)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/could not be reached \(ECONNREFUSED\)/);
  });
});
