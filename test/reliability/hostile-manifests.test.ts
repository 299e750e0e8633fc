import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { maxManifestBytes, maxManifestFiles } from '../../src/manifest/parse-manifest.js';
import { writeSnapshotChecksumFile } from '../../src/snapshot/checksum-writer.js';
import { manifestKey } from '../../src/store/store-layout.js';
import {
  fixtureCheckpoint,
  fixturePartitionBackup,
  fixtures,
  fixtureSnapshotId,
  journalFilesFor,
  tempDir,
  treeOf,
} from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { createTestBucket, s3StoreEnv, s3TestClient } from '../support/s3-backup.js';

/**
 * Manifests are input from a shared store: broken by a bad copy, or written to attack the node.
 * Each one must be refused with exit 5 and a message naming it, before anything is written:
 * not in the data directory, not next to it, not next to the store.
 */

const backupId = 4242n;
const segmentNames = [1, 2, 3, 4, 5].map((id) => `raft-partition-partition-1-${id}.log`);
const snapshotNames = ['000021.sst', '000022.sst', 'CURRENT', 'MANIFEST-000009', 'OPTIONS-000011', 'zeebe.metadata', `${fixtureSnapshotId}.checksum`];

type Json = Record<string, unknown>;

/** A sound manifest of partition 1 from node 0, in the common dialect the filesystem store writes. */
function soundManifest(): Json {
  return {
    id: { nodeId: 0, partitionId: 1, checkpointId: Number(backupId) },
    descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: Number(fixtureCheckpoint), numberOfPartitions: 1, brokerVersion: '8.5.4' },
    statusCode: 'COMPLETED',
    snapshot: { files: snapshotNames.map((name) => ({ name })) },
    segments: { files: segmentNames.map((name) => ({ name })) },
    createdAt: '2026-11-21T10:00:00.123456789Z',
    modifiedAt: '2026-11-21T10:00:07.931Z',
  };
}

function withSegments(...names: unknown[]): Json {
  return { ...soundManifest(), segments: { files: names.map((name) => ({ name })) } };
}

function withSnapshotFiles(...names: unknown[]): Json {
  return { ...soundManifest(), snapshot: { files: names.map((name) => ({ name })) } };
}

function withDescriptor(changes: Json): Json {
  const manifest = soundManifest();
  return { ...manifest, descriptor: { ...(manifest.descriptor as Json), ...changes } };
}

function withId(changes: Json): Json {
  const manifest = soundManifest();
  return { ...manifest, id: { ...(manifest.id as Json), ...changes } };
}

interface Scene {
  work: string;
  store: string;
  data: string;
  manifestPath: string;
  env: Record<string, string>;
}

/**
 * work/canary.txt and work/data/lost+found next to the data directory; work/store-parent/canary.txt
 * next to the store in work/store-parent/backups. Names like `../../../../../canary.txt` aim at
 * exactly these files, from the partition directory and from the store's segment directory.
 */
async function scene(id = backupId): Promise<Scene> {
  const work = await tempDir();
  const store = join(work, 'store-parent/backups');
  await mkdir(store, { recursive: true });
  await writeFile(join(work, 'canary.txt'), 'next to the data directory');
  await writeFile(join(work, 'store-parent/canary.txt'), 'next to the store');
  await mkdir(join(work, 'data/lost+found'), { recursive: true });
  const manifestPath = join(store, manifestKey(1, id, '0'));
  await mkdir(dirname(manifestPath), { recursive: true });
  return {
    work,
    store,
    data: join(work, 'data'),
    manifestPath,
    env: {
      ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '1',
      ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
      ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store,
    },
  };
}

/** Writes `manifest` as node 0's copy of partition 1, runs the restore and expects a clean refusal. */
async function expectRefused(manifest: Json | string | Buffer, message: RegExp, id = backupId): Promise<string> {
  const { work, manifestPath, env } = await scene(id);
  await writeFile(manifestPath, typeof manifest === 'string' || Buffer.isBuffer(manifest) ? manifest : JSON.stringify(manifest));
  return expectRefusedIn(work, env, manifestPath, message, id);
}

async function expectRefusedIn(work: string, env: Record<string, string>, manifestPath: string, message: RegExp, id = backupId): Promise<string> {
  const before = await treeOf(work);
  const run = await runRestore([`--backupId=${id}`], { cwd: work, env });
  expect(run.code, run.stdout + run.stderr).toBe(5);
  expect(run.stdout).not.toMatch(/Successfully restored/);
  expect(run.stderr).toContain(manifestPath);
  expect(run.stderr).toMatch(message);
  expect(await treeOf(work)).toEqual(before);
  return run.stderr;
}

const unsafe = /unsafe file name .*must be a plain file name without path separators/;

describe.concurrent('file names that would leave the partition directory', () => {
  it.each([
    ['a parent-directory name', '..'],
    ['a path up to the canary next to the data directory', '../../../../../canary.txt'],
    ['a path with a slash', 'raft-partition-partition-1-1.log/x'],
    ['a Windows path', '..\\..\\..\\..\\..\\canary.txt'],
    ['a NUL byte', 'raft-partition-partition-1-1.log\u0000.txt'],
    ['the current directory', '.'],
    ['an empty name', ''],
    ['a name longer than a file system allows', `${'x'.repeat(300)}.log`],
  ])('segment: %s', async (_case, name) => {
    await expectRefused(withSegments(segmentNames[0], name), name.length > 255 ? /unsafe file name/ : unsafe);
  });

  it('segment: an absolute path', async () => {
    const { work, manifestPath, env } = await scene();
    await writeFile(manifestPath, JSON.stringify(withSegments(join(work, 'absolute-target.log'))));
    await expectRefusedIn(work, env, manifestPath, unsafe);
  });

  it.each([
    ['a path up to the canary next to the data directory', '../../../../../../../canary.txt'],
    ['an absolute path', '/etc/cron.d/zeebe'],
    ['a backslash', 'sub\\000021.sst'],
  ])('snapshot file: %s', async (_case, name) => {
    await expectRefused(withSnapshotFiles(...snapshotNames, name), unsafe);
  });

  it.each([
    ['a parent path', '../../../../canary-directory'],
    ['a parent-directory name', '..'],
    ['an absolute path', '/tmp/zeebe-snapshot'],
  ])('snapshot id: %s', async (_case, snapshotId) => {
    await expectRefused(withDescriptor({ snapshotId }), unsafe);
  });

  it('a hostile name in the S3 dialect (files keyed by name) read from the same store', async () => {
    const manifest = soundManifest();
    delete manifest.segments;
    manifest.segmentFiles = { files: { [segmentNames[0]!]: {}, '../../../../../canary.txt': { compressionAlgorithm: 'zstd' } } };
    await expectRefused(manifest, unsafe);
  });

  it('a hostile name in an 8.1 name array', async () => {
    const manifest = soundManifest();
    delete manifest.segments;
    manifest.segmentFileNames = [segmentNames[0], '/var/lib/zeebe/raft-partition-partition-1-2.log'];
    await expectRefused(manifest, unsafe);
  });
});

describe.concurrent('duplicate names', () => {
  it('a segment listed twice', async () => {
    await expectRefused(withSegments(...segmentNames, segmentNames[2]), /lists the segment file "raft-partition-partition-1-3\.log" twice/);
  });

  it('a snapshot file listed twice', async () => {
    await expectRefused(withSnapshotFiles(...snapshotNames, 'CURRENT'), /lists the snapshot file "CURRENT" twice/);
  });

  it('two checksum files', async () => {
    await expectRefused(withSnapshotFiles(...snapshotNames, 'other.checksum'), /exactly one \.checksum file, found 2/);
  });

  it('a segment of another partition', async () => {
    await expectRefused(withSegments('raft-partition-partition-2-1.log'), /is not a log segment of partition 1/);
  });

  it('a snapshot file with the name of a segment is fine: they live in different directories', async () => {
    const work = await tempDir();
    const sources = join(work, 'sources');
    await cp(join(fixtures, 'snapshot-b'), sources, { recursive: true });
    await cp(join(fixtures, 'journal-b/raft-partition-partition-2-5.log'), join(sources, fixtureSnapshotId, 'raft-partition-partition-1-1.log'));
    await writeSnapshotChecksumFile(join(sources, fixtureSnapshotId), join(sources, `${fixtureSnapshotId}.checksum`));
    const snapshot = (await readdir(join(sources, fixtureSnapshotId))).map((name) => ({ name, source: join(sources, fixtureSnapshotId, name) }));
    await writeFilesystemBackup(join(work, 'backups'), {
      partitionId: 1,
      checkpointId: backupId,
      nodeId: 0,
      descriptor: { snapshotId: fixtureSnapshotId, checkpointPosition: fixtureCheckpoint, numberOfPartitions: 1, brokerVersion: '8.5.4' },
      snapshotFiles: [...snapshot, { name: `${fixtureSnapshotId}.checksum`, source: join(sources, `${fixtureSnapshotId}.checksum`) }],
      segmentFiles: await journalFilesFor(1),
    });
    const run = await runRestore([`--backupId=${backupId}`], {
      cwd: work,
      env: {
        ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
        ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
        ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
      },
    });
    expect(run.code, run.stderr).toBe(0);
    const restored = await treeOf(join(work, 'data/raft-partition/partitions/1'));
    expect(restored[`snapshots/${fixtureSnapshotId}/raft-partition-partition-1-1.log`]).toBeDefined();
    expect(restored['raft-partition-partition-1-1.log']).toBeDefined();
    expect(restored[`snapshots/${fixtureSnapshotId}/raft-partition-partition-1-1.log`]).not.toBe(restored['raft-partition-partition-1-1.log']);
  });
});

describe.concurrent('wrong types', () => {
  it.each([
    ['a checkpoint position as a string', withDescriptor({ checkpointPosition: '11003' }), /descriptor\.checkpointPosition: expected a number/],
    ['a fractional checkpoint position', withDescriptor({ checkpointPosition: 11003.5 }), /descriptor\.checkpointPosition: expected a whole number, got 11003\.5/],
    ['a negative partition count', withDescriptor({ numberOfPartitions: -1 }), /descriptor\.numberOfPartitions: expected a non-negative int/],
    ['a node id as a string', withId({ nodeId: '0' }), /id\.nodeId: expected a number/],
    ['a checkpoint id in exponent notation', JSON.stringify(soundManifest()).replace('"checkpointId":4242', '"checkpointId":4.242e3'), /id\.checkpointId: expected a whole number, got 4\.242e3/],
    ['a numeric status', { ...soundManifest(), statusCode: 1 }, /statusCode/],
    ['an unknown status', { ...soundManifest(), statusCode: 'DONE' }, /statusCode/],
    ['files as a string', { ...soundManifest(), segments: { files: 'raft-partition-partition-1-1.log' } }, /segments\.files/],
    ['a file name as a number', withSegments(1), /segments\.files\.0\.name/],
    ['a descriptor that is an array', { ...soundManifest(), descriptor: [] }, /descriptor/],
    ['no id', { ...soundManifest(), id: null }, /id/],
    ['a JSON array', [soundManifest()] as unknown as Json, /\(root\)/],
    ['JSON null', 'null', /\(root\)/],
  ])('%s', async (_case, manifest, message) => {
    await expectRefused(manifest, new RegExp(`is malformed: .*${message.source}`));
  });
});

describe.concurrent('invalid JSON', () => {
  it.each([
    ['an empty file', ''],
    ['a manifest cut off in the middle', JSON.stringify(soundManifest()).slice(0, 120)],
    ['a trailing comma', JSON.stringify(soundManifest()).replace(/}$/, ',}')],
    ['binary garbage', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xff, 0x10, 0x80])],
    ['a byte-order mark', `\ufeff${JSON.stringify(soundManifest())}`],
  ])('%s', async (_case, manifest) => {
    await expectRefused(manifest, /is not valid JSON/);
  });
});

describe.concurrent('a manifest that does not describe its key', () => {
  it.each([
    ['another partition', withId({ partitionId: 2 }), /describes partition 2, backup 4242, node 0, but its key says partition 1, backup 4242, node 0/],
    ['another node', withId({ nodeId: 1 }), /describes partition 1, backup 4242, node 1, but its key says partition 1, backup 4242, node 0/],
    ['another backup', withId({ checkpointId: 4243 }), /describes partition 1, backup 4243, node 0, but its key says partition 1, backup 4242, node 0/],
  ])('%s', async (_case, manifest, message) => {
    await expectRefused(manifest, message);
  });

  it('a backup id that differs only beyond 2^53, where doubles cannot tell them apart', async () => {
    const key = 9007199254740993n;
    const text = JSON.stringify(withId({ checkpointId: 0 })).replace('"checkpointId":0', '"checkpointId":9007199254740992');
    expect(Number(key)).toBe(9007199254740992);
    await expectRefused(text, /describes partition 1, backup 9007199254740992, node 0, but its key says partition 1, backup 9007199254740993/, key);
  });
});

describe.concurrent('manifests too large to be real', () => {
  it(`more than ${maxManifestFiles} files`, async () => {
    const files = Array.from({ length: maxManifestFiles + 50_000 }, (_, i) => ({ name: `raft-partition-partition-1-${i + 1}.log` }));
    const started = performance.now();
    await expectRefused({ ...soundManifest(), segments: { files } }, new RegExp(`lists ${maxManifestFiles + 50_000 + snapshotNames.length} files, more than the ${maxManifestFiles}`));
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it(`more than ${maxManifestBytes} bytes`, async () => {
    const manifest = { ...soundManifest(), failureReason: 'x'.repeat(maxManifestBytes) };
    await expectRefused(manifest, new RegExp(`is ${JSON.stringify(manifest).length} bytes long, more than the ${maxManifestBytes}`));
  });
});

describe('an S3 manifest too large to be real', () => {
  it(`is refused by its size, before it is read`, async () => {
    const endpoint = inject('s3Endpoint');
    const client = s3TestClient(endpoint);
    try {
      const bucket = await createTestBucket(client);
      const key = `1/${backupId}/0/manifest.json`;
      const body = JSON.stringify({ ...soundManifest(), failureReason: 'x'.repeat(maxManifestBytes) });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      const work = await tempDir();
      const before = await treeOf(work);
      const run = await runRestore([`--backupId=${backupId}`], {
        cwd: work,
        env: {
          ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
          ...s3StoreEnv(endpoint, bucket),
        },
      });
      expect(run.code, run.stdout + run.stderr).toBe(5);
      expect(run.stderr).toContain(key);
      expect(run.stderr).toMatch(new RegExp(`is ${body.length} bytes long, more than the ${maxManifestBytes}`));
      expect(await treeOf(work)).toEqual(before);
    } finally {
      client.destroy();
    }
  });
});

describe.concurrent('manifests that are not files', () => {
  it('a directory', async () => {
    const { work, manifestPath, env } = await scene();
    await mkdir(manifestPath);
    await expectRefusedIn(work, env, manifestPath, /is not a regular file/);
  });

  it('a FIFO nobody writes to (reading it would hang forever)', async () => {
    const { work, manifestPath, env } = await scene();
    execFileSync('mkfifo', [manifestPath]);
    await expectRefusedIn(work, env, manifestPath, /is not a regular file/);
  });
});

describe('a hostile copy next to a sound one', () => {
  /** Node 0's copy is hostile; node 1's, written by the other broker, is sound. */
  async function twoCopies(hostile: Json) {
    const { work, store, data, manifestPath, env } = await scene();
    await writeFilesystemBackup(store, await fixturePartitionBackup(backupId, { nodeId: 1 }));
    await writeFile(manifestPath, JSON.stringify(hostile));
    const outside = await treeOf(work);
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
    expect(run.stdout).toMatch(/Partition 1: restoring node 1's copy/);
    // Everything outside the data directory as it was.
    const after = await treeOf(work);
    for (const path of Object.keys({ ...outside, ...after }).filter((path) => !path.startsWith('data/'))) {
      expect(after[path], path).toBe(outside[path]);
    }
    expect(await readdir(data)).toContain('raft-partition');
    return { run, manifestPath };
  }

  it('is restored from the sound copy when the hostile one cannot be read, with a warning naming it', async () => {
    const { run, manifestPath } = await twoCopies(withSegments('../../../../../canary.txt'));
    const warning = run.stdout.split('\n').find((line) => / WARN /.test(line));
    expect(warning).toMatch(/Partition 1: ignoring node 0's copy/);
    expect(warning).toContain(manifestPath);
  });

  it('is restored from the sound copy when the hostile one reads but cannot be restored', async () => {
    // Well-formed JSON, but it lists a segment of another partition and two checksum files.
    const hostile = { ...withSegments('raft-partition-partition-2-1.log'), snapshot: { files: [...snapshotNames, 'x.checksum'].map((name) => ({ name })) } };
    const { run, manifestPath } = await twoCopies(hostile);
    expect(run.stdout).toMatch(/WARN .*node 0's copy/);
    expect(run.stdout).toContain(manifestPath);
  });
});
