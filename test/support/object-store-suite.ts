import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionBackup } from '../../src/demo/common-manifest.js';
import { BackupInvalidError, BackupNotFoundError, StoreUnavailableError } from '../../src/errors.js';
import type { Logger } from '../../src/log/logger.js';
import { findCompletedCopy } from '../../src/restore/find-backup.js';
import type { BackupStore } from '../../src/store/backup-store.js';
import type { ObjectStoreOptions } from '../../src/store/object-store.js';
import { tempDir } from './fixtures.js';
import { type RecordedRequest, startS3Proxy } from './s3-proxy.js';

export const quiet: Logger = { info() {}, warn() {}, error() {} };

/** One fresh bucket or container of the store under test, and ways to fill and read it. */
export interface StoreLocation {
  /** Stores one partition's backup exactly as the broker does. */
  upload(backup: PartitionBackup): Promise<void>;
  /** Stores any text under a key relative to the store's base. */
  put(key: string, text: string): Promise<void>;
  /** The agent's store on this location; `endpoint` replaces the emulator's (to put a proxy in between). */
  open(options?: ObjectStoreOptions & { endpoint?: string }): Promise<BackupStore>;
  /** How the agent's messages name the object under `key`, e.g. `gs://<bucket>/<key>`. */
  nameOf(key: string): string;
}

export interface ObjectStoreHarness {
  name: string;
  /** The emulator's endpoint, for proxies. */
  endpoint: string;
  newLocation(): Promise<StoreLocation>;
  /** A request that downloads the bytes of the named content file (not its metadata, not a listing). */
  isContentDownload(request: RecordedRequest, fileName: string): boolean;
  /** The agent's store on a bucket or container that does not exist. */
  openMissing(): Promise<BackupStore>;
  /** The message for it, naming the bucket or container and what to check. */
  missing: RegExp;
}

/** A manifest without files: enough for listing and status tests. */
export function manifestOnly(partitionId: number, checkpointId: bigint, nodeId: number, extra: Partial<PartitionBackup> = {}): PartitionBackup {
  return {
    partitionId,
    checkpointId,
    nodeId,
    descriptor: { checkpointPosition: 100n, numberOfPartitions: 3, brokerVersion: '8.5.4' },
    segmentFiles: [],
    ...extra,
  };
}

/** Every status and omitted-field variant of the common dialect (backup-store-format.md §2.2) for one partition and backup. */
function copiesInEveryState(partitionId: number, checkpointId: bigint): PartitionBackup[] {
  const copy = (nodeId: number, extra: Partial<PartitionBackup>) => manifestOnly(partitionId, checkpointId, nodeId, extra);
  return [
    // Failed before it started (Manifest.createFailed): no descriptor, no snapshot, no segments.
    copy(0, { status: 'FAILED', failureReason: 'Leader changed', descriptor: undefined }),
    copy(2, { status: 'IN_PROGRESS' }),
    copy(3, { status: 'DELETED' }),
    // Failed after it started: descriptor and file lists kept.
    copy(4, { status: 'FAILED', failureReason: 'Disk full' }),
  ];
}

/** What every store of the common dialect must do, run against each store's emulator. */
export function describeObjectStoreContract(harness: ObjectStoreHarness): void {
  describe(`${harness.name} store: listing, manifests and downloads`, () => {
    const stores: BackupStore[] = [];
    const opened = async (store: Promise<BackupStore>) => {
      stores.push(await store);
      return stores[stores.length - 1]!;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    });

    it('lists every copy of exactly this partition and backup, across listing pages', async () => {
      const location = await harness.newLocation();
      for (const nodeId of [0, 1, 2, 3, 4]) await location.upload(manifestOnly(1, 7n, nodeId));
      // Neighbours a prefix listing of `1/7` would also return, and keys that are not manifests.
      await location.upload(manifestOnly(1, 70n, 1));
      await location.upload(manifestOnly(11, 7n, 1));
      await location.put('manifests/1/7/0/snapshot/manifest.json', '{}');
      await location.put('manifests/1/7/no-node/manifest.json', '{}');
      await location.put('metadata/1/7.json', '{}');

      const store = await opened(location.open({ listPageSize: 2 }));
      const refs = await store.listManifests(1, 7n);
      expect(refs.map(({ nodeId, location: key }) => ({ nodeId, key })).sort((a, b) => a.nodeId - b.nodeId)).toEqual(
        [0, 1, 2, 3, 4].map((nodeId) => ({ nodeId, key: `manifests/1/7/${nodeId}/manifest.json` })),
      );
      const manifests = await Promise.all(refs.map((ref) => store.readManifest(ref)));
      expect(manifests.map((manifest) => manifest.nodeId).sort()).toEqual([0, 1, 2, 3, 4]);

      const everyBackup = await store.listManifests(1);
      expect(everyBackup.map((ref) => `${ref.checkpointId}/${ref.nodeId}`).sort()).toEqual(['7/0', '7/1', '7/2', '7/3', '7/4', '70/1']);
    });

    it('reads the 8.9 per-partition backup metadata files, and only those', async () => {
      const location = await harness.newLocation();
      await location.put('metadata/1/metadata.json', '{"version":1}');
      await location.put('metadata/1/b.json', '{"sequenceNumber":2}');
      await location.put('metadata/1/nested/c.json', '{}');
      await location.put('metadata/1/notes.txt', 'x');
      await location.put('metadata/12/metadata.json', '{}');
      const store = await opened(location.open({ listPageSize: 2 }));
      expect(await store.readPartitionMetadata!(1)).toEqual([
        { location: expect.stringMatching(/metadata\/1\/b\.json$/), text: '{"sequenceNumber":2}' },
        { location: expect.stringMatching(/metadata\/1\/metadata\.json$/), text: '{"version":1}' },
      ]);
      expect(await store.readPartitionMetadata!(2)).toEqual([]);
    });

    it('reads every variant of the common manifest', async () => {
      const location = await harness.newLocation();
      const work = await tempDir();
      await writeFile(join(work, 'CURRENT'), 'MANIFEST-000004\n');
      await location.upload(manifestOnly(2, 9n, 1, {
        descriptor: { snapshotId: '10-1-20-20', checkpointPosition: 20n, numberOfPartitions: 3, brokerVersion: '8.5.4' },
        snapshotFiles: [{ name: 'CURRENT', source: join(work, 'CURRENT') }],
        createdAt: '2024-05-01T10:00:00.512345678Z',
      }));
      // A backup without a snapshot (log only): the descriptor has no snapshotId.
      await location.upload(manifestOnly(2, 10n, 1));
      for (const backup of copiesInEveryState(2, 9n)) await location.upload(backup);

      const store = await opened(location.open());
      const byNode = new Map((await Promise.all((await store.listManifests(2, 9n)).map((ref) => store.readManifest(ref)))).map((manifest) => [manifest.nodeId, manifest]));
      expect(byNode.get(1)).toMatchObject({
        status: 'COMPLETED',
        descriptor: { snapshotId: '10-1-20-20', checkpointPosition: 20n, numberOfPartitions: 3, brokerVersion: '8.5.4' },
        snapshotFiles: [{ name: 'CURRENT' }],
        segmentFiles: [],
        createdAt: '2024-05-01T10:00:00.512345678Z',
      });
      expect(byNode.get(0)).toEqual(expect.objectContaining({ status: 'FAILED', failureReason: 'Leader changed', snapshotFiles: [], segmentFiles: [] }));
      expect(byNode.get(0)!.descriptor).toBeUndefined();
      expect(byNode.get(2)!.status).toBe('IN_PROGRESS');
      expect(byNode.get(3)!.status).toBe('DELETED');
      expect(byNode.get(4)).toMatchObject({ status: 'FAILED', failureReason: 'Disk full', descriptor: { checkpointPosition: 100n } });

      const [logOnly] = await store.listManifests(2, 10n);
      expect((await store.readManifest(logOnly!)).descriptor).toEqual({ checkpointPosition: 100n, numberOfPartitions: 3, brokerVersion: '8.5.4' });
    });

    it('picks the completed copy among failed, in-progress and deleted ones', async () => {
      const location = await harness.newLocation();
      for (const backup of copiesInEveryState(3, 11n)) await location.upload(backup);
      await location.upload(manifestOnly(3, 11n, 1));

      const copy = await findCompletedCopy(await opened(location.open()), 3, 11n, quiet);
      expect(copy.ref.nodeId).toBe(1);
      expect(copy.manifest.status).toBe('COMPLETED');
    });

    it('reports a backup that has no completed copy, with what it found', async () => {
      const location = await harness.newLocation();
      for (const backup of copiesInEveryState(3, 12n)) await location.upload(backup);

      const failure = await findCompletedCopy(await opened(location.open()), 3, 12n, quiet).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(BackupNotFoundError);
      for (const found of ['FAILED from node 0: Leader changed', 'IN_PROGRESS from node 2', 'DELETED from node 3', 'FAILED from node 4: Disk full']) {
        expect((failure as Error).message).toContain(found);
      }
      const none = await findCompletedCopy(await opened(location.open()), 3, 13n, quiet).catch((error: unknown) => error);
      expect(none).toBeInstanceOf(BackupNotFoundError);
    });

    it('downloads a file\'s exact bytes; a missing file makes the backup invalid', async () => {
      const location = await harness.newLocation();
      const work = await tempDir();
      const content = randomBytes(300_000);
      await writeFile(join(work, 'file.log'), content);
      await location.upload({ ...manifestOnly(4, 1n, 0), segmentFiles: [{ name: 'file.log', source: join(work, 'file.log') }] });

      const store = await opened(location.open());
      const copy = await findCompletedCopy(store, 4, 1n, quiet);
      expect((await buffer(await store.openFile(copy, 'segments', 'file.log'))).equals(content)).toBe(true);
      expect(await store.fileSize(copy, 'segments', 'file.log')).toBe(content.length);
      const missing = await store.openFile(copy, 'segments', 'other.log').catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(BackupInvalidError);
      expect((missing as Error).message).toContain(location.nameOf('contents/4/1/0/segments/other.log'));
    });

    it('sizes the files of a directory from one listing, and a file it does not show by its own request', async () => {
      const location = await harness.newLocation();
      const work = await tempDir();
      const segmentFiles = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await writeFile(join(work, `${i}.log`), Buffer.alloc(1000 + i));
          return { name: `${i}.log`, source: join(work, `${i}.log`) };
        }),
      );
      await location.upload({ ...manifestOnly(6, 1n, 0), segmentFiles });
      const proxy = await startS3Proxy(harness.endpoint);
      try {
        const store = await opened(location.open({ endpoint: proxy.endpoint }));
        const copy = await findCompletedCopy(store, 6, 1n, quiet);
        const before = proxy.requests.length;
        const sizes = await Promise.all(segmentFiles.map(({ name }) => store.fileSize(copy, 'segments', name)));
        expect(sizes).toEqual(segmentFiles.map((_, i) => 1000 + i));
        expect(proxy.requests.length - before).toBe(1);

        await location.put('contents/6/1/0/segments/late.log', 'written after the listing');
        expect(await store.fileSize(copy, 'segments', 'late.log')).toBe(25);
        expect(proxy.requests.length - before).toBe(2);
      } finally {
        await proxy.close();
      }
    });

    it('retries server errors and resumes downloads that break mid-body, delivering the exact bytes', async () => {
      const location = await harness.newLocation();
      const work = await tempDir();
      const content = randomBytes(4 * 1024 * 1024);
      await writeFile(join(work, 'big.log'), content);
      await location.upload({ ...manifestOnly(5, 1n, 0), segmentFiles: [{ name: 'big.log', source: join(work, 'big.log') }] });
      const failures = ['SlowDown'] as const;
      const cuts = [1_000_000, 2_500_000];
      const proxy = await startS3Proxy(harness.endpoint, {
        failWith: (_request, index) => failures[index],
        cutResponseAfter: (request) => (harness.isContentDownload(request, 'big.log') ? cuts.shift() : undefined),
      });
      try {
        // The proxy closes the connection mid-body; GCS's client never notices, so the idle timeout must.
        const store = await opened(location.open({ endpoint: proxy.endpoint, idleTimeoutMs: 1000 }));
        const copy = await findCompletedCopy(store, 5, 1n, quiet);
        const bytes = await buffer(await store.openFile(copy, 'segments', 'big.log'));
        expect(bytes.length).toBe(content.length);
        expect(bytes.equals(content)).toBe(true);
        expect(cuts).toEqual([]);
        const downloads = proxy.requests.filter((request) => harness.isContentDownload(request, 'big.log'));
        const ranges = downloads.map(({ headers }) => headers.range ?? headers['x-ms-range']);
        expect(ranges).toHaveLength(3);
        expect(ranges.slice(1)).toEqual(['bytes=1000000-', 'bytes=3500000-']);
      } finally {
        await proxy.close();
      }
    });

    it('reads a range of a file over its own request, resuming it where it breaks', async () => {
      const location = await harness.newLocation();
      const work = await tempDir();
      const content = randomBytes(4 * 1024 * 1024);
      await writeFile(join(work, 'part.log'), content);
      await location.upload({ ...manifestOnly(6, 1n, 0), segmentFiles: [{ name: 'part.log', source: join(work, 'part.log') }] });
      const cuts = [500_000];
      const proxy = await startS3Proxy(harness.endpoint, {
        cutResponseAfter: (request) => (harness.isContentDownload(request, 'part.log') ? cuts.shift() : undefined),
      });
      try {
        const store = await opened(location.open({ endpoint: proxy.endpoint, idleTimeoutMs: 1000 }));
        const copy = await findCompletedCopy(store, 6, 1n, quiet);
        const bytes = await buffer(await store.openFile(copy, 'segments', 'part.log', undefined, { start: 1_000_000, end: 3_000_000 }));
        expect(bytes.equals(content.subarray(1_000_000, 3_000_000))).toBe(true);
        const ranges = proxy.requests.filter((request) => harness.isContentDownload(request, 'part.log')).map(({ headers }) => headers.range ?? headers['x-ms-range']);
        expect(ranges).toEqual(['bytes=1000000-2999999', 'bytes=1500000-2999999']);
      } finally {
        await proxy.close();
      }
    });

    it('names the missing bucket or container and what to check', async () => {
      const failure = await (await opened(harness.openMissing())).listManifests(1, 1n).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect((failure as Error).message).toMatch(harness.missing);
    });
  });
}

