import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GcsStoreConfig } from '../../src/config/restore-config.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { findCompletedCopy } from '../../src/restore/find-backup.js';
import { gcsBasePrefix, gcsClientOptions, GcsStore } from '../../src/store/gcs-store.js';
import { gcsTestClient, newBucketName, putGcsObject, startGcsErrorServer, type TestHttpServer, uploadGcsBackup } from '../support/gcs-backup.js';
import { describeObjectStoreContract, manifestOnly, quiet } from '../support/object-store-suite.js';
import { startS3Proxy } from '../support/s3-proxy.js';

const endpoint = inject('gcsEndpoint');
const storage = gcsTestClient(endpoint);

function configFor(bucketName: string, settings: Partial<GcsStoreConfig> = {}): GcsStoreConfig {
  return { type: 'GCS', bucketName, host: endpoint, auth: 'none', ...settings };
}

let missingBucket: TestHttpServer;
let deniedAccess: TestHttpServer;
beforeAll(async () => {
  missingBucket = await startGcsErrorServer(404, 'The specified bucket does not exist.');
  deniedAccess = await startGcsErrorServer(
    403,
    'restore@example.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.',
  );
});
afterAll(async () => {
  await missingBucket.close();
  await deniedAccess.close();
});

describeObjectStoreContract({
  name: 'GCS',
  endpoint,
  async newLocation() {
    const bucket = newBucketName();
    return {
      upload: (backup) => uploadGcsBackup(storage, bucket, backup),
      put: (key, text) => putGcsObject(storage, bucket, { key, text }),
      open: async ({ endpoint: host, ...options } = {}) => new GcsStore(configFor(bucket, host ? { host } : {}), options),
      nameOf: (key) => `gs://${bucket}/${key}`,
    };
  },
  isContentDownload: (request, fileName) => request.path.includes(fileName) && request.path.includes('alt=media'),
  openMissing: async () => new GcsStore(configFor('no-such-bucket', { basePath: 'zeebe', host: missingBucket.endpoint })),
  missing: /gs:\/\/no-such-bucket\/zeebe\/manifests\/1\/1\/ .*the bucket does not exist\. Check backup\.gcs\.bucketName/,
});

describe('GCS store settings', () => {
  it('sanitises basePath like Zeebe and reads only below it', async () => {
    const bucket = newBucketName();
    await uploadGcsBackup(storage, bucket, manifestOnly(1, 5n, 0), 'zeebe/prod');
    await uploadGcsBackup(storage, bucket, manifestOnly(1, 5n, 1));
    await uploadGcsBackup(storage, bucket, manifestOnly(1, 5n, 2), 'zeebe/prod-old');

    for (const basePath of ['zeebe/prod', ' /zeebe/prod/ ', 'zeebe/prod/']) {
      const store = new GcsStore(configFor(bucket, { basePath }));
      const copy = await findCompletedCopy(store, 1, 5n, quiet);
      expect(copy.ref.location).toBe('zeebe/prod/manifests/1/5/0/manifest.json');
      expect(store.description).toBe(`GCS bucket ${bucket} under zeebe/prod/ (host ${endpoint}, anonymous)`);
    }
    for (const basePath of [undefined, '', '/', '  ']) {
      const refs = await new GcsStore(configFor(bucket, { basePath })).listManifests(1, 5n);
      expect(refs.map((ref) => ref.location)).toEqual(['manifests/1/5/1/manifest.json']);
    }
    expect(gcsBasePrefix('//a/b//')).toBe('a/b/');
  });

  it('sends no credentials with auth=none, and Application Default Credentials with auth=auto', () => {
    const anonymous = gcsClientOptions(configFor('b'));
    expect(anonymous.authClient).toBeInstanceOf(PassThroughClient);
    expect(anonymous.useAuthWithCustomEndpoint).toBeUndefined();
    // ADC also towards a custom host (a private endpoint), as the broker's client does.
    const adc = gcsClientOptions(configFor('b', { auth: 'auto' }));
    expect(adc.authClient).toBeUndefined();
    expect(adc.useAuthWithCustomEndpoint).toBe(true);
    expect(gcsClientOptions(configFor('b', { host: undefined })).apiEndpoint).toBeUndefined();
    expect(adc.retryOptions).toMatchObject({ autoRetry: true, maxRetries: 4 });
  });

  it('does not send an Authorization header with auth=none', async () => {
    const bucket = newBucketName();
    await uploadGcsBackup(storage, bucket, manifestOnly(2, 3n, 0));
    const proxy = await startS3Proxy(endpoint);
    try {
      await findCompletedCopy(new GcsStore(configFor(bucket, { host: proxy.endpoint })), 2, 3n, quiet);
      expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
      expect(proxy.requests.map((request) => request.headers.authorization)).toEqual(proxy.requests.map(() => undefined));
    } finally {
      await proxy.close();
    }
  });

  it('explains denied access with what GCS said about the identity', async () => {
    const failure = await new GcsStore(configFor('backups', { host: deniedAccess.endpoint }))
      .listManifests(1, 1n)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(
      /gs:\/\/backups\/manifests\/1\/1\/ .*access was denied \(restore@example\.iam\.gserviceaccount\.com does not have storage\.objects\.list access.*\)\. Grant the identity/,
    );
  });
});
