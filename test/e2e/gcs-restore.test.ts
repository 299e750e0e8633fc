import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backupId, describeCloudRestore, restoreFrom } from '../support/cloud-restore-suite.js';
import { restoredPartitionsOf, tempDir } from '../support/fixtures.js';
import {
  gcsTestClient,
  newBucketName,
  putGcsObject,
  startGcsErrorServer,
  startGkeMetadataServer,
  type TestHttpServer,
  uploadGcsBackup,
} from '../support/gcs-backup.js';
import { expectNoSecretIn, expectZeebeTruncatedJournal, zeebeFixtureBackups } from '../support/restore-checks.js';
import { startS3Proxy } from '../support/s3-proxy.js';

const endpoint = inject('gcsEndpoint');
const storage = gcsTestClient(endpoint);

/** The broker's GCS settings for an emulator: a custom host and no credentials. */
function gcsEnv(bucket: string, settings: Record<string, string> = {}): Record<string, string> {
  return {
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'GCS',
    ZEEBE_BROKER_DATA_BACKUP_GCS_BUCKETNAME: bucket,
    ZEEBE_BROKER_DATA_BACKUP_GCS_HOST: endpoint,
    ZEEBE_BROKER_DATA_BACKUP_GCS_AUTH: 'none',
    ...settings,
  };
}

let missingBucket: TestHttpServer;
beforeAll(async () => {
  missingBucket = await startGcsErrorServer(404, 'The specified bucket does not exist.');
});
afterAll(() => missingBucket.close());

describeCloudRestore({
  store: 'GCS',
  async newLocation() {
    const bucket = newBucketName();
    return {
      upload: async (backups) => {
        await Promise.all(backups.map((backup) => uploadGcsBackup(storage, bucket, backup)));
      },
      put: (key, text) => putGcsObject(storage, bucket, { key, text }),
      env: gcsEnv(bucket),
    };
  },
  missing: () => ({
    env: gcsEnv('no-such-bucket', { ZEEBE_BROKER_DATA_BACKUP_GCS_HOST: missingBucket.endpoint }),
    message: /gs:\/\/no-such-bucket\/manifests\/1\/1700000000789\/ .*the bucket does not exist/,
  }),
});

describe('GCS settings end to end', () => {
  it('restores below a basePath written with slashes around it', async () => {
    const bucket = newBucketName();
    await Promise.all((await zeebeFixtureBackups(backupId)).map((backup) => uploadGcsBackup(storage, bucket, backup, 'camunda/prod')));
    const work = await tempDir();
    const run = await restoreFrom(work, gcsEnv(bucket, { CAMUNDA_DATA_BACKUP_GCS_BASEPATH: '/camunda/prod/' }));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectZeebeTruncatedJournal(join(work, 'data/raft-partition/partitions/2'), 2);
  });

  it('authenticates with Application Default Credentials from the GKE metadata server (Workload Identity)', async () => {
    const bucket = newBucketName();
    await Promise.all((await zeebeFixtureBackups(backupId)).map((backup) => uploadGcsBackup(storage, bucket, backup)));
    const accessToken = 'ya29.recognisable-workload-identity-token';
    const metadata = await startGkeMetadataServer(accessToken);
    // The proxy shows what reaches "GCS": the emulator itself ignores credentials.
    const proxy = await startS3Proxy(endpoint);
    try {
      const work = await tempDir();
      const env = gcsEnv(bucket, {
        ZEEBE_BROKER_DATA_BACKUP_GCS_HOST: proxy.endpoint,
        ZEEBE_BROKER_DATA_BACKUP_GCS_AUTH: 'auto',
        GCE_METADATA_HOST: new URL(metadata.endpoint).host,
        HOME: work,
      });
      const run = await restoreFrom(work, env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(Object.keys(await restoredPartitionsOf(join(work, 'data'))).length).toBeGreaterThan(0);
      expect(metadata.requests.some(({ path }) => path.startsWith('/computeMetadata/v1/instance/service-accounts/default/token'))).toBe(true);
      expect(proxy.requests.length).toBeGreaterThan(10);
      expect(new Set(proxy.requests.map(({ headers }) => headers.authorization))).toEqual(new Set([`Bearer ${accessToken}`]));
      expectNoSecretIn(run.stdout + run.stderr, [accessToken]);
    } finally {
      await proxy.close();
      await metadata.close();
    }
  });

  it('explains missing Application Default Credentials', async () => {
    const work = await tempDir();
    const env = gcsEnv(newBucketName(), {
      ZEEBE_BROKER_DATA_BACKUP_GCS_AUTH: 'auto',
      GOOGLE_APPLICATION_CREDENTIALS: join(work, 'no-such-key.json'),
      HOME: work,
    });
    const run = await restoreFrom(work, env);
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/no usable Google credentials were found .*GOOGLE_APPLICATION_CREDENTIALS/);
  });
});
