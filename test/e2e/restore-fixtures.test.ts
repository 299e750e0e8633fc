import { readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { contentKey } from '../../src/store/store-layout.js';
import { fixtureSnapshotId, fixtures, flipByte, sha256, tempDir, treeOf, writeClusterBackup } from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { expectZeebeTruncatedJournal, oneBrokerEnv, zeebeFixtureBackups, zeebeTruncations } from '../support/restore-checks.js';

const backupId = 1700000000123n;

/** Node 1 of a 2-node cluster with 2 partitions and RF 1 owns exactly partition 2, the fixture's. */
function nodeOneEnv(work: string): Record<string, string> {
  return {
    ZEEBE_BROKER_CLUSTER_NODEID: '1',
    ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '2',
    ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '2',
    ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
    ZEEBE_BROKER_DATA_DIRECTORY: join(work, 'data'),
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
  };
}


describe('restoring files written by Zeebe 8.5.4 from a filesystem store', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir();
    await writeClusterBackup({ basePath: join(work, 'backups'), backupId, partitionCount: 2 });
  });

  it('lays out the snapshot and a journal truncated byte-for-byte like Zeebe', async () => {
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: nodeOneEnv(work) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);

    const data = join(work, 'data');
    expect((await readdir(data)).sort()).toEqual(['.zeebe-restore.json', 'raft-partition']);
    expect(JSON.parse(readFileSync(join(data, '.zeebe-restore.json'), 'utf8'))).toMatchObject({
      backupId: String(backupId),
      nodeId: 1,
      partitions: [2],
    });
    expect(await readdir(join(data, 'raft-partition/partitions'))).toEqual(['2']);
    const partition = join(data, 'raft-partition/partitions/2');
    expect((await readdir(partition)).sort()).toEqual([
      'raft-partition-partition-2-1.log',
      'raft-partition-partition-2-2.log',
      'raft-partition-partition-2-3.log',
      'snapshots',
    ]);
    const expected = readFileSync(join(fixtures, 'journal-b-truncated-expected.sha256sums'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    for (const [hash, path] of expected) {
      expect(sha256(join(partition, path!.split('/')[1]!)), path).toBe(hash);
    }

    const snapshots = join(partition, 'snapshots');
    expect((await readdir(snapshots)).sort()).toEqual([fixtureSnapshotId, `${fixtureSnapshotId}.checksum`]);
    expect(sha256(join(snapshots, `${fixtureSnapshotId}.checksum`))).toBe(
      sha256(join(fixtures, 'snapshot-b', `${fixtureSnapshotId}.checksum`)),
    );
    const snapshotFiles = (await readdir(join(fixtures, 'snapshot-b', fixtureSnapshotId))).sort();
    expect((await readdir(join(snapshots, fixtureSnapshotId))).sort()).toEqual(snapshotFiles);
    for (const name of snapshotFiles) {
      expect(sha256(join(snapshots, fixtureSnapshotId, name))).toBe(
        sha256(join(fixtures, 'snapshot-b', fixtureSnapshotId, name)),
      );
    }
  });

  it('truncates inside the active segment byte for byte as Zeebe 8.5.4 does', async () => {
    const truncation = zeebeTruncations.activeSegment;
    const store = join(work, 'active-backups');
    for (const backup of await zeebeFixtureBackups(backupId, 0, truncation)) await writeFilesystemBackup(store, backup);
    const env = { ...oneBrokerEnv(work, 2), ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store };
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const partitionId of [1, 2]) {
      expectZeebeTruncatedJournal(join(work, 'data', `raft-partition/partitions/${partitionId}`), partitionId, truncation);
    }
  });

  it.each([
    ['a snapshot file', 'snapshot', '000021.sst', 1000, /000021\.sst/],
    ['a kept log segment', 'segments', 'raft-partition-partition-2-2.log', 4096, /raft-partition-partition-2-2\.log.*offset/],
  ] as const)('fails cleanly when one byte of %s is flipped', async (_case, kind, name, offset, message) => {
    const stored = join(work, 'backups', contentKey(2, backupId, '1', kind, name));
    await flipByte(stored, offset);
    await writeFile(join(work, 'marker'), 'x');
    const before = await treeOf(work);
    const run = await runRestore([`--backupId=${backupId}`], { cwd: work, env: nodeOneEnv(work) });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/partition 2/i);
    expect(await treeOf(work)).toEqual(before);
  });
});
