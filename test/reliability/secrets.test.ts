import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { type RestoreRun, runRestore } from '../support/run-restore.js';
import { bucketWithFixturePartition, s3TestClient } from '../support/s3-backup.js';
import { type S3Proxy, type S3ProxyOptions, startS3Proxy } from '../support/s3-proxy.js';

/**
 * Every secret the S3 store knows (accessKey, secretKey, ssecKey) stays out of logs, error
 * messages and --print-config, in text and JSON logs, on success and on every kind of failure,
 * even when the server echoes them back.
 */

const endpoint = inject('s3Endpoint');
const backupId = 1700000000999n;

const ssecKeyBytes = Buffer.from('recognisable-customer-key-9911!!');
const secrets = {
  accessKey: 'AKIARECOGNISABLE9911',
  secretKey: 'recognisable/Secret+Key/9911',
  ssecKey: ssecKeyBytes.toString('base64'),
};

/** The secrets as written, as JSON would escape them, and the raw customer key. */
function expectNoSecretIn(run: RestoreRun): void {
  const output = run.stdout + run.stderr;
  for (const secret of [...Object.values(secrets), ssecKeyBytes.toString('utf8')]) {
    expect(output).not.toContain(secret);
    expect(output).not.toContain(JSON.stringify(secret).slice(1, -1));
  }
  expect(output).not.toMatch(/recognisable/i);
}

let client: S3Client;
let bucket: string;

beforeAll(async () => {
  client = s3TestClient(endpoint);
  bucket = await bucketWithFixturePartition(client, backupId);
});

afterAll(() => client.destroy());

/** s3rver knows only its own access key and does not check signatures: the proxy swaps the key id. */
const acceptRecognisableKey: S3ProxyOptions['rewriteHeaders'] = (headers) => ({
  ...headers,
  authorization: headers.authorization?.replace(`Credential=${secrets.accessKey}/`, 'Credential=S3RVER/'),
});

async function restoreWith(
  format: string,
  proxyOptions: S3ProxyOptions | undefined,
  settings: Record<string, string> = {},
  args: string[] = [`--backupId=${backupId}`],
): Promise<{ run: RestoreRun; proxy?: S3Proxy }> {
  const proxy = proxyOptions ? await startS3Proxy(endpoint, proxyOptions) : undefined;
  try {
    const work = await tempDir();
    const run = await runRestore([...args, `--log-format=${format}`], {
      cwd: work,
      env: {
        ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
        ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
        ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: bucket,
        ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: proxy?.endpoint ?? endpoint,
        ZEEBE_BROKER_DATA_BACKUP_S3_FORCEPATHSTYLEACCESS: 'true',
        ZEEBE_BROKER_DATA_BACKUP_S3_REGION: 'us-east-1',
        ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: secrets.accessKey,
        ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: secrets.secretKey,
        ZEEBE_BROKER_DATA_BACKUP_S3_SSECKEY: secrets.ssecKey,
        ZEEBE_BROKER_DATA_BACKUP_S3_APICALLTIMEOUT: 'PT2S',
        ...settings,
      },
    });
    return { run, ...(proxy ? { proxy } : {}) };
  } finally {
    await proxy?.close();
  }
}

describe.each(['text', 'json'])('%s logs never show the S3 secrets', (format) => {
  it('on success', async () => {
    const { run, proxy } = await restoreWith(format, { rewriteHeaders: acceptRecognisableKey });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.lastLine).toContain('Successfully restored broker from backup');
    // The secrets did go over the wire (signed with, and SSE-C headers): they were in use.
    expect(proxy!.requests.some((request) => request.headers.authorization?.includes(secrets.accessKey))).toBe(true);
    const objectRequests = proxy!.requests.filter((request) => !request.path.includes('list-type='));
    expect(objectRequests.length).toBeGreaterThan(12);
    for (const { headers } of objectRequests) expect(headers['x-amz-server-side-encryption-customer-key']).toBe(secrets.ssecKey);
    expectNoSecretIn(run);
  });

  it('when the server rejects the credentials', async () => {
    const { run } = await restoreWith(format, undefined);
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/InvalidAccessKeyId/);
    expectNoSecretIn(run);
  });

  it('when the server echoes the secrets back in its error message', async () => {
    const echo = `${secrets.accessKey} ${secrets.secretKey} ${secrets.ssecKey} were refused`;
    const { run } = await restoreWith(format, { script: () => ({ kind: 'error', status: 400, code: 'InvalidRequest', message: echo }) });
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/InvalidRequest/);
    expect(run.stderr).toContain('**** **** **** were refused');
    expectNoSecretIn(run);
  });

  it('when a download breaks off for good', async () => {
    const { run } = await restoreWith(format, {
      rewriteHeaders: acceptRecognisableKey,
      script: (request) => (request.path.includes('/segments/') ? { kind: 'error', status: 403, code: 'AccessDenied', message: secrets.secretKey } : undefined),
    });
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/access was denied/);
    expectNoSecretIn(run);
  });

  it('when the backup does not exist', async () => {
    const { run } = await restoreWith(format, { rewriteHeaders: acceptRecognisableKey }, {}, [`--backupId=${backupId + 1n}`]);
    expect(run.code).toBe(4);
    expectNoSecretIn(run);
  });

  it('when the backup is not valid for this cluster', async () => {
    const { run } = await restoreWith(format, { rewriteHeaders: acceptRecognisableKey }, { ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '2' });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/Expected backup to have 2 partitions, but has 1/);
    expectNoSecretIn(run);
  });

  it('in --print-config, masked', async () => {
    const { run } = await restoreWith(format, undefined, {}, ['--print-config']);
    expect(run.code).toBe(0);
    for (const setting of ['accessKey', 'secretKey', 'ssecKey']) {
      expect(run.stdout).toMatch(new RegExp(`backup\\.s3\\.${setting} = \\*\\*\\*\\*`));
    }
    expectNoSecretIn(run);
  });

  it('when a secret is not valid (an SSE-C key of the wrong length)', async () => {
    const wrong = Buffer.from('recognisable-but-too-short').toString('base64');
    const { run } = await restoreWith(format, undefined, { ZEEBE_BROKER_DATA_BACKUP_S3_SSECKEY: wrong });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ssecKey must be a base64-encoded 256-bit/);
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expectNoSecretIn(run);
  });

  it('when only one of accessKey and secretKey is set', async () => {
    const { run } = await restoreWith(format, undefined, { ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/secretKey is not set while its partner is/);
    expectNoSecretIn(run);
  });

  it('when the configuration file holding them is not valid YAML', async () => {
    const work = await tempDir();
    await mkdir(join(work, 'config'));
    await writeFile(
      join(work, 'config/application.yaml'),
      [
        'zeebe:',
        '  broker:',
        '    data:',
        '      backup:',
        '        store: S3',
        '        s3:',
        `          accessKey: ${secrets.accessKey}`,
        `          secretKey: "${secrets.secretKey}`,
        `          ssecKey: ${secrets.ssecKey}: broken`,
        '',
      ].join('\n'),
    );
    const run = await runRestore([`--backupId=${backupId}`, `--log-format=${format}`], { cwd: work, env: { ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data') } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/application\.yaml is not valid YAML/);
    expectNoSecretIn(run);
  });
});
