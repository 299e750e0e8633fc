import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commonManifestJson, type PartitionBackup } from '../../src/demo/common-manifest.js';
import { manifestKey } from '../../src/store/store-layout.js';
import { restoredPartitionsOf, tempDir, treeOf } from './fixtures.js';
import { expectZeebeTruncatedJournal, filesystemRestoreReference, oneBrokerEnv, zeebeFixtureBackups, zeebeTruncations } from './restore-checks.js';
import { messageOf, runRestore } from './run-restore.js';

export const backupId = 1700000000789n;

/** One fresh bucket or container, filled as the brokers fill it. */
export interface RestoreLocation {
  upload(backups: PartitionBackup[]): Promise<void>;
  /** Stores any text under a key relative to the store's base. */
  put(key: string, text: string): Promise<void>;
  /** The store settings (environment variables) that read this location. */
  env: Record<string, string>;
}

export interface CloudRestoreHarness {
  store: 'GCS' | 'AZURE';
  newLocation(): Promise<RestoreLocation>;
  /** Store settings naming a bucket or container that does not exist, and the message expected for it. */
  missing(): { env: Record<string, string>; message: RegExp };
}

/** Runs `bin/restore --backupId` as node 0 of a one-broker cluster with two partitions. */
export function restoreFrom(work: string, storeEnv: Record<string, string>, args: string[] = []) {
  return runRestore([`--backupId=${backupId}`, ...args], { cwd: work, env: { ...oneBrokerEnv(work, 2), ...storeEnv } });
}

/** The end-to-end restores every store must get right, run against each store's emulator. */
export function describeCloudRestore(harness: CloudRestoreHarness): void {
  describe(`restoring from a ${harness.store} store`, () => {
    /** The partitions a FILESYSTEM restore of the same backup produces. */
    let reference: Record<string, string>;

    beforeAll(async () => {
      reference = await filesystemRestoreReference(await zeebeFixtureBackups(backupId), backupId);
    });

    const expectRestoredLikeReference = async (work: string) => {
      const data = join(work, 'data');
      expect(await restoredPartitionsOf(data)).toEqual(reference);
      for (const partitionId of [1, 2]) expectZeebeTruncatedJournal(join(data, `raft-partition/partitions/${partitionId}`), partitionId);
    };

    it('restores the files Zeebe 8.5.4 wrote, byte for byte', async () => {
      const location = await harness.newLocation();
      await location.upload(await zeebeFixtureBackups(backupId));
      const work = await tempDir();
      const run = await restoreFrom(work, location.env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
      await expectRestoredLikeReference(work);
    });

    it("restores a checkpoint inside the active segment byte for byte as Zeebe 8.5.4 truncates it", async () => {
      const truncation = zeebeTruncations.activeSegment;
      const location = await harness.newLocation();
      await location.upload(await zeebeFixtureBackups(backupId, 0, truncation));
      const work = await tempDir();
      const run = await restoreFrom(work, location.env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      for (const partitionId of [1, 2]) {
        expectZeebeTruncatedJournal(join(work, 'data', `raft-partition/partitions/${partitionId}`), partitionId, truncation);
      }
    });

    it('restores the one completed copy when other nodes left failed and in-progress ones', async () => {
      const location = await harness.newLocation();
      const completed = await zeebeFixtureBackups(backupId, 2);
      // Failed before it started on node 0 (no descriptor, no files); still in progress on node 1,
      // listing files it never uploaded.
      const failed = completed.map(({ partitionId }) => ({
        partitionId,
        checkpointId: backupId,
        nodeId: 0,
        status: 'FAILED' as const,
        failureReason: 'Leader changed before the backup was taken',
        segmentFiles: [],
      }));
      await location.upload([...failed, ...completed]);
      for (const backup of completed) {
        const inProgress = { ...backup, nodeId: 1, status: 'IN_PROGRESS' as const };
        await location.put(manifestKey(backup.partitionId, backupId, '1'), commonManifestJson(inProgress));
      }

      const work = await tempDir();
      const run = await restoreFrom(work, location.env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Partition 1: restoring node 2's copy/);
      expect(run.stdout).toMatch(/Partition 2: restoring node 2's copy/);
      await expectRestoredLikeReference(work);
    });

    /** A data directory holding only what restores may find there, and what it looked like before. */
    const untouchedDataDirectory = async () => {
      const work = await tempDir();
      await mkdir(join(work, 'data/lost+found'), { recursive: true });
      return { work, before: await treeOf(work) };
    };

    it('fails with exit code 4 when only failed and in-progress copies exist, touching nothing', async () => {
      const location = await harness.newLocation();
      const backups = await zeebeFixtureBackups(backupId);
      await location.upload([
        { ...backups[0]!, status: 'FAILED', failureReason: 'Disk full' },
        { ...backups[1]!, status: 'IN_PROGRESS', nodeId: 1 },
      ]);
      const { work, before } = await untouchedDataDirectory();
      const run = await restoreFrom(work, location.env);
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/partition 1 has only FAILED from node 0: Disk full/);
      expect(run.stderr).toMatch(/partition 2 has only IN_PROGRESS from node 1/);
      expect(await treeOf(work)).toEqual(before);
    });

    it(`fails with exit code 6 when the ${harness.store === 'GCS' ? 'bucket' : 'container'} does not exist, touching nothing`, async () => {
      const { work, before } = await untouchedDataDirectory();
      const missing = harness.missing();
      const run = await restoreFrom(work, missing.env);
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(missing.message);
      expect(await treeOf(work)).toEqual(before);
    });
  });
}
