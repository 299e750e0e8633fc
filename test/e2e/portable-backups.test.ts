import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Header } from 'tar';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { archiveIndexName } from '../../src/store/archive-index.js';
import { azuriteConnectionString } from '../support/azurite-server.js';
import { azureTestClient, createTestContainer } from '../support/azure-backup.js';
import { flipByte, projectRoot, restoredPartitionsOf, tempDir, treeOf } from '../support/fixtures.js';
import { newBucketName } from '../support/gcs-backup.js';
import { oneBrokerEnv, zeebeFixtureBackups } from '../support/restore-checks.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { createTestBucket, s3rverCredentials, s3StoreEnv, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';
import { startS3Proxy } from '../support/s3-proxy.js';

const backupId = 1763683200123n;
const s3Endpoint = inject('s3Endpoint');
const gcsEndpoint = inject('gcsEndpoint');
const azureEndpoint = inject('azuriteBlobEndpoint');

/** A broker configuration file naming only a backup store: what `copy --to` reads. */
async function storeConfigFile(work: string, name: string, backup: Record<string, unknown>): Promise<string> {
  const path = join(work, `${name}.yaml`);
  await writeFile(path, stringify({ zeebe: { broker: { data: { backup } } } }));
  return path;
}

/** The broker settings of each store kind, as a YAML `backup` section and as environment variables. */
const stores = {
  s3: (bucket: string) => ({ store: 'S3', s3: { bucketName: bucket, endpoint: s3Endpoint, forcePathStyleAccess: true, region: 'us-east-1', accessKey: s3rverCredentials.accessKeyId, secretKey: s3rverCredentials.secretAccessKey } }),
  gcs: (bucket: string) => ({ store: 'GCS', gcs: { bucketName: bucket, host: gcsEndpoint, auth: 'none' } }),
  azure: (container: string) => ({ store: 'AZURE', azure: { basePath: container, connectionString: azuriteConnectionString(azureEndpoint) } }),
  filesystem: (basePath: string) => ({ store: 'FILESYSTEM', filesystem: { basePath } }),
};

/** Node 0 of a one-broker, two-partition cluster, reading the store `configFile` names. */
function run(work: string, args: string[], configFile: string, env: Record<string, string> = {}) {
  return runRestore([...args, `--config=${configFile}`], { cwd: work, env: { ...oneBrokerEnv(work, 2), ...env } });
}

describe('portable backups: export, --archive, copy', () => {
  let client: S3Client;
  let work: string;
  /** The S3 store holding the backup: an 8.5 broker's, with zstd-compressed files. */
  let sourceConfig: string;
  /** What a restore from S3 writes: the reference for every other way. */
  let reference: Record<string, string>;
  let describedAtSource: unknown;

  beforeAll(async () => {
    client = s3TestClient(s3Endpoint);
    work = await tempDir();
    const bucket = await createTestBucket(client);
    for (const backup of await zeebeFixtureBackups(backupId)) {
      await uploadS3Backup(client, bucket, { ...backup, dialect: '8.5', compression: 'zstd', compressionThreshold: 1024 });
    }
    sourceConfig = await storeConfigFile(work, 'source', stores.s3(bucket));
    const node = await tempDir();
    const restored = await run(node, [`--backupId=${backupId}`], sourceConfig);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    reference = await restoredPartitionsOf(join(node, 'data'));
    describedAtSource = JSON.parse((await run(work, ['describe', String(backupId), '--json'], sourceConfig)).stdout);
  });

  afterAll(() => client.destroy());

  /** Restores node 0 from the store `configFile` names (and `args`) into a fresh directory, and returns what it wrote. */
  async function restoreWith(configFile: string, args: string[] = []): Promise<Record<string, string>> {
    const node = await tempDir();
    const restored = await run(node, [`--backupId=${backupId}`, ...args], configFile);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(messageOf(restored.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
    return restoredPartitionsOf(join(node, 'data'));
  }

  it.each([
    ['uncompressed', [] as string[]],
    ['zstd-compressed', ['--compress']],
  ])('S3 → %s archive → restore equals restoring from S3 byte for byte', async (_kind, flags) => {
    const archive = join(await tempDir(), 'backup.tar');
    const exported = await run(work, ['export', 'latest', `--output=${archive}`, ...flags], sourceConfig);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/Wrote backup 1763683200123 \(2 copies of 2 partitions, \d+ files, .*\) to .*backup\.tar.*peak memory/);
    expect(await restoreWith(sourceConfig, [`--archive=${archive}`])).toEqual(reference);
    // The archive lists and describes as the store does.
    const described = await run(work, ['describe', 'latest', '--json', `--archive=${archive}`], sourceConfig);
    expect(JSON.parse(described.stdout)).toEqual(describedAtSource);
    const verified = await run(work, ['verify', 'latest', `--archive=${archive}`], sourceConfig);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('exports to standard output, and an uncompressed archive is a tar of the filesystem layout with its index last', async () => {
    const archive = join(await tempDir(), 'backup.tar');
    const output = openSync(archive, 'w');
    const exported = spawnSync(join(projectRoot, 'bin/restore'), ['export', String(backupId), '--output=-', `--config=${sourceConfig}`], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...oneBrokerEnv(work, 2) },
      stdio: ['ignore', output, 'pipe'],
    });
    closeSync(output);
    expect(exported.status, String(exported.stderr)).toBe(0);
    const names = (await entriesOf(archive)).map(({ name }) => name);
    expect(names.at(-1)).toBe(archiveIndexName);
    expect(names).toContain(`manifests/1/${backupId}/0/manifest.json`);
    expect(names).toContain(`contents/2/${backupId}/0/segments/raft-partition-partition-2-1.log`);
    expect(names.indexOf(`manifests/1/${backupId}/0/manifest.json`)).toBeGreaterThan(names.indexOf(`contents/2/${backupId}/0/segments/raft-partition-partition-2-1.log`));
  });

  it('S3 → GCS → Azure → filesystem → S3: every copy restores to the same data and describes as the source', async () => {
    const gcs = await storeConfigFile(work, 'gcs', stores.gcs(newBucketName()));
    const azure = await storeConfigFile(work, 'azure', stores.azure((await createTestContainer(azureTestClient(azureEndpoint))).containerName));
    const basePath = join(await tempDir(), 'store');
    await mkdir(basePath);
    const filesystem = await storeConfigFile(work, 'filesystem', stores.filesystem(basePath));
    const targetBucket = await createTestBucket(client);
    const s3 = await storeConfigFile(work, 's3', stores.s3(targetBucket));
    const hops: [string, string][] = [[sourceConfig, gcs], [gcs, azure], [azure, filesystem], [filesystem, s3]];
    for (const [from, to] of hops) {
      const copied = await run(work, ['copy', String(backupId), `--to=${to}`], from);
      expect(copied.code, copied.stdout + copied.stderr).toBe(0);
      expect(copied.stdout).toMatch(/every object read back and verified/);
      expect(await restoreWith(to)).toEqual(reference);
      const listed = JSON.parse((await run(work, ['list', '--json'], to)).stdout);
      expect(listed).toEqual([describedAtSource]);
    }
    // Back in S3 as an 8.5 broker writes it: the legacy layout, raw files after the common stores.
    const keys = (await client.send(new ListObjectsV2Command({ Bucket: targetBucket }))).Contents!.map(({ Key }) => Key);
    expect(keys).toContain(`1/${backupId}/0/manifest.json`);
    expect(keys).toContain(`2/${backupId}/0/segments/raft-partition-partition-2-1.log`);
  });

  it('finishes an interrupted copy when run again, and never overwrites a backup written otherwise', async () => {
    const basePath = join(await tempDir(), 'store');
    await mkdir(basePath);
    const filesystem = await storeConfigFile(work, 'again', stores.filesystem(basePath));
    const copy = () => run(work, ['copy', String(backupId), `--to=${filesystem}`], sourceConfig);
    expect((await copy()).code).toBe(0);
    // Stopped while writing manifests: partition 2's is missing, the backup there is INCOMPLETE.
    const manifest2 = join(basePath, `manifests/2/${backupId}/0/manifest.json`);
    const written = await readFile(manifest2);
    await rm(manifest2);
    expect(JSON.parse((await run(work, ['list', '--json'], filesystem)).stdout)[0].state).toBe('INCOMPLETE');
    const finished = await copy();
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);
    expect(finished.stdout).toMatch(/holds 1 of the 2 manifests of an earlier copy of backup 1763683200123; writing the others/);
    expect(await readFile(manifest2)).toEqual(written);
    expect(await restoreWith(filesystem)).toEqual(reference);
    // Run once more: nothing to do.
    const again = await copy();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already holds backup 1763683200123 as this copy writes it; nothing was written/);
    // A manifest the copy would not write is someone else's backup: refused, nothing touched.
    await writeFile(manifest2, written.toString().replace('"COMPLETED"', '"FAILED"'));
    const before = await treeOf(basePath);
    const refused = await copy();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already holds backup 1763683200123, written otherwise \(.*manifests\/2\/1763683200123\/0\/manifest\.json\)/);
    expect(await treeOf(basePath)).toEqual(before);
  });

  it('a copy that fails leaves no manifest: the target lists no backup', async () => {
    const bucket = await createTestBucket(client);
    const proxy = await startS3Proxy(s3Endpoint, {
      failWith: (request) => (request.method === 'PUT' && request.path.includes('partition-2-3.log') ? 'InternalError' : undefined),
    });
    try {
      const target = await storeConfigFile(work, 'failing', { store: 'S3', s3: { ...stores.s3(bucket).s3, endpoint: proxy.endpoint } });
      const copied = await run(work, ['copy', String(backupId), `--to=${target}`], sourceConfig);
      expect(copied.code, copied.stdout + copied.stderr).toBe(6);
      expect(copied.stderr).toMatch(/Could not upload s3:\/\/.*partition-2-3\.log/);
      const keys = ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map(({ Key }) => Key!);
      expect(keys.filter((key) => key.endsWith('manifest.json'))).toEqual([]);
      expect((await run(work, ['list'], target)).stdout).toMatch(/^No backups\./);
    } finally {
      await proxy.close();
    }
  });

  it("takes the target's credentials from its file alone, never from the source's environment", async () => {
    const bucket = await createTestBucket(client);
    const { accessKey: _accessKey, secretKey: _secretKey, ...withoutKeys } = stores.s3(bucket).s3;
    const target = await storeConfigFile(work, 'no-keys', { store: 'S3', s3: withoutKeys });
    const source = await storeConfigFile(work, 'source-by-env', { store: 'NONE' });
    // The source store and its keys come from the environment, as on a broker.
    // No instance metadata service to ask: the AWS default chain finds nothing here.
    const env = { ...s3StoreEnv(s3Endpoint, await bucketOf(sourceConfig)), AWS_EC2_METADATA_DISABLED: 'true' };
    const copied = await run(work, ['copy', String(backupId), `--to=${target}`], source, env);
    expect(copied.code, copied.stdout + copied.stderr).toBe(6);
    expect(copied.stderr).toMatch(/no AWS credentials were found|credentials were rejected/);
    expect(copied.stderr).not.toContain(s3rverCredentials.secretAccessKey);
  });

  describe('a damaged archive fails with exit code 5 naming the entry, and leaves the node as found', () => {
    let archive: string;
    let compressed: string;
    beforeAll(async () => {
      const directory = await tempDir();
      archive = join(directory, 'backup.tar');
      compressed = join(directory, 'backup.tar.zst');
      expect((await run(work, ['export', String(backupId), `--output=${archive}`], sourceConfig)).code).toBe(0);
      expect((await run(work, ['export', String(backupId), `--output=${compressed}`, '--compress'], sourceConfig)).code).toBe(0);
    });

    async function expectRefused(damaged: string, entry: RegExp) {
      const node = await tempDir();
      await mkdir(join(node, 'data/lost+found'), { recursive: true });
      const before = await treeOf(node);
      const restored = await run(node, [`--backupId=${backupId}`, `--archive=${damaged}`], sourceConfig);
      expect(restored.code, restored.stdout + restored.stderr).toBe(5);
      expect(restored.stderr).toMatch(entry);
      expect(await treeOf(node)).toEqual(before);
    }

    it('a flipped byte in a file', async () => {
      const damaged = join(await tempDir(), 'flipped.tar');
      await writeFile(damaged, await readFile(archive));
      const current = (await entriesOf(damaged)).find(({ name }) => name.endsWith('/snapshot/CURRENT'))!;
      await flipByte(damaged, current.offset + 3);
      await expectRefused(damaged, new RegExp(`entry ${current.name} does not match its CRC32C`));
    });

    it('an archive cut short', async () => {
      const damaged = join(await tempDir(), 'cut.tar');
      await writeFile(damaged, await readFile(archive));
      const segment = (await entriesOf(damaged)).find(({ name }) => name.endsWith('partition-2-2.log'))!;
      await truncate(damaged, segment.offset + 1000);
      await expectRefused(damaged, new RegExp(`entry ${segment.name} runs past the end of the file`));
    });

    it('a compressed archive cut short', async () => {
      const damaged = join(await tempDir(), 'cut.tar.zst');
      const bytes = await readFile(compressed);
      await writeFile(damaged, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expectRefused(damaged, /The archive .*cut\.tar\.zst is corrupt: entry contents\/\S+/);
    });

    it('a flipped byte in a compressed archive', async () => {
      const damaged = join(await tempDir(), 'flipped.tar.zst');
      await writeFile(damaged, await readFile(compressed));
      await flipByte(damaged, Math.floor((await readFile(compressed)).length / 2));
      await expectRefused(damaged, /The archive .*flipped\.tar\.zst is corrupt: entry contents\/\S+/);
    });
  });
});

/** Each tar entry's name and where its data starts, read with the tar package's header parser. */
async function entriesOf(archive: string): Promise<{ name: string; offset: number }[]> {
  const handle = await open(archive, 'r');
  try {
    const entries: { name: string; offset: number }[] = [];
    const block = Buffer.alloc(512);
    for (let offset = 0; ; ) {
      await handle.read(block, 0, 512, offset);
      const header = new Header(block);
      if (header.nullBlock) return entries;
      entries.push({ name: header.path!, offset: offset + 512 });
      offset += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
    }
  } finally {
    await handle.close();
  }
}

/** The bucket a store configuration file written by storeConfigFile names. */
async function bucketOf(configFile: string): Promise<string> {
  return /bucketName: (\S+)/.exec(await readFile(configFile, 'utf8'))![1]!;
}
