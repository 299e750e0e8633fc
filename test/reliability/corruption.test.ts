import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createZstdCompress } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { listJournalSegments, readSegmentFrames, type WrittenSegment } from '../../src/journal/journal-reader.js';
import { contentKey } from '../../src/store/store-layout.js';
import {
  fixtureCheckpoint,
  fixturePartitionBackup,
  fixtures,
  fixtureSnapshotId,
  flipByte,
  journalFilesFor,
  snapshotFiles,
  tempDir,
  treeOf,
} from '../support/fixtures.js';
import { runRestore } from '../support/run-restore.js';
import { createTestBucket, s3StoreEnv, s3TestClient, uploadS3Backup } from '../support/s3-backup.js';

/**
 * A corrupt backup is detected, reported with the partition, the file and, where the format
 * knows it, the byte offset, and fails with exit 5 leaving the data directory as it was found.
 * Partition 1 of a one-node cluster, made of the files Zeebe 8.5.4 wrote.
 */

const backupId = 5151n;
const segment = (id: number) => `raft-partition-partition-1-${id}.log`;
const sst = '000021.sst';
const checksumFile = `${fixtureSnapshotId}.checksum`;

interface Scene {
  work: string;
  /** Path of a file of the backup in the filesystem store. */
  stored(kind: 'snapshot' | 'segments', name: string): string;
  env: Record<string, string>;
}

async function filesystemScene(options: { checkpointPosition?: bigint; segments?: number[] } = {}): Promise<Scene> {
  const work = await tempDir();
  const store = join(work, 'backups');
  const segments = (await journalFilesFor(1)).filter((_, index) => !options.segments || options.segments.includes(index + 1));
  await writeFilesystemBackup(store, {
    partitionId: 1,
    checkpointId: backupId,
    nodeId: 0,
    descriptor: {
      snapshotId: fixtureSnapshotId,
      checkpointPosition: options.checkpointPosition ?? fixtureCheckpoint,
      numberOfPartitions: 1,
      brokerVersion: '8.5.4',
    },
    snapshotFiles: await snapshotFiles(),
    segmentFiles: segments,
  });
  return {
    work,
    stored: (kind, name) => join(store, contentKey(1, backupId, '0', kind, name)),
    env: {
      ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
      ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store,
    },
  };
}

/** Exit 5, the message, and the work directory (store, data directory and all) exactly as before. */
async function expectCorrupt({ work, env }: Pick<Scene, 'work' | 'env'>, ...messages: RegExp[]): Promise<string> {
  const before = await treeOf(work);
  const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
  expect(run.code, run.stdout + run.stderr).toBe(5);
  expect(run.stdout).not.toMatch(/Successfully restored/);
  for (const message of messages) expect(run.stderr).toMatch(message);
  expect(await treeOf(work)).toEqual(before);
  return run.stderr;
}

/** The frame of the fixture journal that holds byte `offset` of segment `id`, as Zeebe wrote it. */
async function frameAt(id: number, offset: number): Promise<{ offset: number; index: bigint; dataOffset: number }> {
  const segments = await listJournalSegments(join(fixtures, 'journal-b'), 2);
  const written = segments.find((candidate) => candidate.id === BigInt(id)) as WrittenSegment;
  for await (const frame of readSegmentFrames(written)) {
    if (frame.offset + frame.frameLength > offset) return { offset: frame.offset, index: frame.index, dataOffset: frame.offset + frame.frameLength - 10 };
  }
  throw new Error(`no frame at ${offset}`);
}

const partitionOne = /Partition 1 \(node 0's copy[,)]|partition 1 \(node 0's copy\)/;

describe.concurrent('flipped bytes', () => {
  it('in a segment before the checkpoint: the entry, the file and its byte offset', async () => {
    const scene = await filesystemScene();
    const frame = await frameAt(2, 200_000);
    await flipByte(scene.stored('segments', segment(2)), frame.dataOffset);
    await expectCorrupt(
      scene,
      partitionOne,
      new RegExp(`${segment(2).replaceAll('.', '\\.')} is corrupt at byte offset ${frame.offset} \\(entry index ${frame.index}\\): checksum mismatch`),
    );
  });

  it('in a snapshot SST file', async () => {
    const scene = await filesystemScene();
    await flipByte(scene.stored('snapshot', sst), 1_000_000);
    await expectCorrupt(scene, partitionOne, new RegExp(`Expected snapshot ${fixtureSnapshotId} to have checksums`), /000021\.sst has checksum [0-9a-f]+ but 77dfb300 was expected/);
  });

  it('in zeebe.metadata', async () => {
    const scene = await filesystemScene();
    await flipByte(scene.stored('snapshot', 'zeebe.metadata'), 10);
    await expectCorrupt(scene, partitionOne, /zeebe\.metadata has checksum [0-9a-f]+ but 6876b4fd was expected/);
  });

  it('in the checksum file, making a line unreadable: the file and the line', async () => {
    const scene = await filesystemScene();
    const path = scene.stored('snapshot', checksumFile);
    const text = await readFile(path, 'utf8');
    await flipByte(path, text.indexOf('77dfb300'));
    await expectCorrupt(scene, partitionOne, new RegExp(`Snapshot checksum file \\S*${checksumFile}, line 6: expected "<file name>   <crc32c hex>"`));
  });

  it('in the checksum file, changing a value: the snapshot file it no longer matches', async () => {
    const scene = await filesystemScene();
    const path = scene.stored('snapshot', checksumFile);
    await writeFile(path, (await readFile(path, 'utf8')).replace('CURRENT   4de178b8', 'CURRENT   4de178b9'));
    await expectCorrupt(scene, partitionOne, /CURRENT has checksum 4de178b8 but 4de178b9 was expected/);
  });

  it('in a segment descriptor: its checksum no longer matches', async () => {
    const scene = await filesystemScene();
    await flipByte(scene.stored('segments', segment(1)), 41);
    await expectCorrupt(scene, partitionOne, new RegExp(`${segment(1).replaceAll('.', '\\.')} has an unusable descriptor: checksum mismatch`));
  });

  it('a segment descriptor of version 1', async () => {
    const scene = await filesystemScene();
    const path = scene.stored('segments', segment(2));
    const bytes = await readFile(path);
    bytes[0] = 1;
    await writeFile(path, bytes);
    await expectCorrupt(scene, partitionOne, new RegExp(`${segment(2).replaceAll('.', '\\.')} has an unusable descriptor: it uses descriptor version 1`));
  });
});

describe.concurrent('truncated objects in a filesystem store', () => {
  it('a segment before the checkpoint: the frame cut off and its byte offset', async () => {
    const scene = await filesystemScene();
    const frame = await frameAt(2, 300_000);
    await truncate(scene.stored('segments', segment(2)), frame.offset + 30);
    await expectCorrupt(
      scene,
      partitionOne,
      new RegExp(`${segment(2).replaceAll('.', '\\.')} is corrupt at byte offset ${frame.offset} \\(entry index ${frame.index}\\): the \\d+-byte frame runs past the end of the file`),
    );
  });

  it('a snapshot file', async () => {
    const scene = await filesystemScene();
    await truncate(scene.stored('snapshot', sst), 1024 * 1024);
    await expectCorrupt(scene, partitionOne, /000021\.sst has checksum [0-9a-f]+ but 77dfb300 was expected/);
  });
});

describe.concurrent('a journal without the checkpoint entry', () => {
  it('the segment holding it is not in the backup', async () => {
    const scene = await filesystemScene({ segments: [1, 2] });
    await expectCorrupt(scene, partitionOne, /Cannot find a record at checkpoint position 11003 in the log\. Positions in the journal \S+ in \S+ run from 1 to 9670/);
  });

  it('the checkpoint position falls between two entries', async () => {
    const scene = await filesystemScene({ checkpointPosition: 4762n });
    await expectCorrupt(scene, partitionOne, /Cannot find a record at checkpoint position 4762 in the log\. .*go from 4760 straight to 4764/);
  });
});

describe('corrupt objects in an S3 store', () => {
  const endpoint = inject('s3Endpoint');
  let client: S3Client;

  beforeAll(() => {
    client = s3TestClient(endpoint);
  });
  afterAll(() => client.destroy());

  /** Partition 1 in the legacy layout of an 8.5 broker; `replace` rewrites stored objects before the restore. */
  async function s3Scene(): Promise<Scene & { bucket: string; key(kind: 'snapshot' | 'segments', name: string): string }> {
    const bucket = await createTestBucket(client);
    await uploadS3Backup(client, bucket, { ...(await fixturePartitionBackup(backupId)), dialect: '8.5' });
    const work = await tempDir();
    return {
      work,
      bucket,
      key: (kind, name) => `1/${backupId}/0/${kind}/${name}`,
      stored: () => {
        throw new Error('not a filesystem store');
      },
      env: {
        ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
        ...s3StoreEnv(endpoint, bucket),
      },
    };
  }

  const put = (bucket: string, key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

  /** Stores segment 2 zstd-compressed, as a broker with `compression: zstd` does for large files, after `damage`. */
  async function compressedSegment(bucket: string, damage: (compressed: Buffer) => void): Promise<void> {
    const original = await readFile(join(fixtures, 'journal-b/raft-partition-partition-2-2.log'));
    const compressed = await buffer(Readable.from([original]).pipe(createZstdCompress()));
    damage(compressed);
    await put(bucket, `1/${backupId}/0/segments/${segment(2)}`, compressed);
    const manifestKey = `1/${backupId}/0/manifest.json`;
    const manifest = (await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }))).Body!.transformToString()) as string;
    const marked = manifest.replace(`"${segment(2)}":{}`, `"${segment(2)}":{"compressionAlgorithm":"zstd"}`);
    expect(marked).not.toBe(manifest);
    await put(bucket, manifestKey, marked);
  }

  it('a truncated segment object', async () => {
    const scene = await s3Scene();
    const frame = await frameAt(2, 300_000);
    const bytes = await readFile(join(fixtures, 'journal-b/raft-partition-partition-2-2.log'));
    await put(scene.bucket, scene.key('segments', segment(2)), bytes.subarray(0, frame.offset + 30));
    await expectCorrupt(scene, partitionOne, new RegExp(`${segment(2).replaceAll('.', '\\.')} is corrupt at byte offset ${frame.offset}`));
  });

  it('a truncated snapshot object', async () => {
    const scene = await s3Scene();
    const bytes = await readFile(join(fixtures, 'snapshot-b', fixtureSnapshotId, sst));
    await put(scene.bucket, scene.key('snapshot', sst), bytes.subarray(0, 1024 * 1024));
    await expectCorrupt(scene, partitionOne, /000021\.sst has checksum [0-9a-f]+ but 77dfb300 was expected/);
  });

  it('a zstd stream with flipped bytes in the middle: the decoder refuses it', async () => {
    const scene = await s3Scene();
    await compressedSegment(scene.bucket, (compressed) => {
      const middle = Math.floor(compressed.length / 2);
      for (let i = middle; i < middle + 16; i++) compressed[i] = compressed[i]! ^ 0xff;
    });
    await expectCorrupt(
      scene,
      new RegExp(`Segment file ${segment(2).replaceAll('.', '\\.')} of partition 1 \\(node 0's copy\\) is not a valid zstd stream: .*corrupt`, 'i'),
    );
  });

  it('a zstd stream whose damage decodes without complaint: the journal checksums catch it', async () => {
    const scene = await s3Scene();
    // zstd frames written without a content checksum, as brokers write them, decode damaged
    // literals into wrong bytes rather than failing.
    await compressedSegment(scene.bucket, (compressed) => {
      for (let i = 1000; i < 1064; i++) compressed[i] = compressed[i]! ^ 0xff;
    });
    await expectCorrupt(scene, partitionOne, new RegExp(`${segment(2).replaceAll('.', '\\.')} is corrupt at byte offset \\d+ \\(entry index \\d+\\)`));
  });
});
