import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeTopologyFile } from '../../src/topology/cluster-topology.js';
import { type ChainBackupSpec, type ChainFixture, cutAndStoreChainBackups, expectedEntries, readJournalEntries } from '../support/chain-backups.js';
import { tempDir, treeOf } from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { oneBrokerEnv } from '../support/restore-checks.js';

const hourly = (ids: number[], extra: (k: number) => Partial<ChainBackupSpec> = () => ({})): ChainBackupSpec[] =>
  ids.map((id, k) => ({ checkpointId: BigInt(id), timestamp: `2026-01-10T1${k}:00:00Z`, ...extra(k) }));

/** Node 0 of a one-broker cluster restoring into `<node>/data` from the store below `work`. */
function storeEnv(node: string, work: string, partitionCount: number, store = 'backups'): Record<string, string> {
  return {
    ...oneBrokerEnv(node, partitionCount),
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
    ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, store),
  };
}

async function expectRestoredJournal(work: string, fixture: ChainFixture, fromBackup: number, toBackup: number): Promise<void> {
  const directory = join(work, 'data/raft-partition/partitions', String(fixture.partitionId));
  const first = fixture.backups[fromBackup]!;
  const last = fixture.backups[toBackup]!;
  const restored = await readJournalEntries(directory, fixture.partitionId);
  expect(restored.length).toBeGreaterThan(100);
  expect(restored).toEqual(expectedEntries(fixture, first.firstIndex, last.checkpointIndex));
  expect(restored.at(-1)!.asqn).toBe(last.checkpointPosition);
  expect(existsSync(join(directory, 'snapshots', fixture.snapshotId, 'CURRENT'))).toBe(true);
}

/** What Zeebe's restore puts into .topology.meta for node 0 of a one-broker cluster with these partitions. */
function expectRestoreTopology(decoded: Record<string, unknown>, partitionCount: number): void {
  const partitions = Object.fromEntries(
    Array.from({ length: partitionCount }, (_, i) => [String(i + 1), { state: 'ACTIVE', priority: 1, config: { exporting: {} } }]),
  );
  expect(decoded).toMatchObject({
    version: '1',
    members: { '0': { lastUpdated: { seconds: '-31557014167219200' }, state: 'ACTIVE', partitions } },
    currentChange: { id: '1', version: 1, status: 'IN_PROGRESS', pendingOperations: [{ memberId: '0', updateRoutingState: {} }] },
    routingState: {
      version: '1',
      requestHandling: { allPartitions: { partitionCount } },
      messageCorrelation: { hashMod: { partitionCount } },
    },
  });
  expect(Object.keys(decoded.members as object)).toEqual(['0']);
  expect(decoded).not.toHaveProperty('lastChange');
}

describe('Zeebe 8.8: --backupId=<id>,<id>… restores a chain of contiguous backups', () => {
  let work: string;
  let fixtures: ChainFixture[];

  beforeAll(async () => {
    work = await tempDir();
    fixtures = [];
    for (const partitionId of [1, 2]) {
      const specs = hourly([100, 200, 300]);
      const fixture = await cutAndStoreChainBackups(work, partitionId, specs, {
        basePath: join(work, 'backups'),
        numberOfPartitions: 2,
        brokerVersion: '8.8.2',
        legacyDescriptor: true,
      });
      fixtures.push(fixture);
      // The same backups with a gap before 300 in partition 2, in a store of their own.
      const gapSpecs = hourly([100, 200, 300], (k) => (partitionId === 2 && k === 2 ? { gapBefore: true } : {}));
      await cutAndStoreChainBackups(join(work, 'gap'), partitionId, gapSpecs, {
        basePath: join(work, 'gap-backups'),
        numberOfPartitions: 2,
        brokerVersion: '8.8.2',
        legacyDescriptor: true,
      });
    }
  });

  it('two backups: the journal is rebuilt entry for entry up to the second checkpoint, and node 0 gets .topology.meta', async () => {
    const node = await tempDir();
    const run = await runRestore(['--backupId=100,200'], { cwd: node, env: storeEnv(node, work, 2) });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Partition 1: restoring a chain of 2 backups: 100 \(node 0\), 200 \(node 0\)/);
    expect(run.stdout).toMatch(/Partition 2: restored \d+ files .* from backups 100, 200, snapshot verified, journal rebuilt with \d+ entries/);
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backups 100, 200');
    for (const fixture of fixtures) await expectRestoredJournal(node, fixture, 0, 1);
    expectRestoreTopology(decodeTopologyFile(await readFile(join(node, 'data/.topology.meta'))), 2);
    expect(run.stdout).toMatch(/Node 0 of a Zeebe 8\.8\.2 cluster: wrote the cluster topology \(1 brokers, 2 partitions, replication factor 1\)/);
    // Only the partitions, the topology file and the restore record: no download left over.
    expect(Object.keys(await treeOf(join(node, 'data'))).filter((path) => !path.startsWith('raft-partition'))).toEqual([
      '.topology.meta',
      '.zeebe-restore.json',
    ]);
    expect(Object.keys(await treeOf(join(node, 'data'))).some((path) => path.includes('.restore-backup-'))).toBe(false);
  });

  it('three backups, given in any order, are restored oldest first; a re-run is a no-op and a different chain is refused', async () => {
    const node = await tempDir();
    const env = storeEnv(node, work, 2);
    const run = await runRestore(['--backupId=300,100,200'], { cwd: node, env });
    expect(run.code, run.stderr).toBe(0);
    for (const fixture of fixtures) await expectRestoredJournal(node, fixture, 0, 2);
    const record = JSON.parse(await readFile(join(node, 'data/.zeebe-restore.json'), 'utf8'));
    expect(record).toMatchObject({ backupId: '300', backupIds: ['100', '200', '300'], nodeId: 0, partitions: [1, 2] });

    const before = await treeOf(node);
    const again = await runRestore(['--backupId=100,200,300'], { cwd: node, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Backups 100, 200, 300 was already restored on this node/);
    expect(messageOf(again.lastLine)).toBe('Successfully restored broker from backups 100, 200, 300');
    expect(await treeOf(node)).toEqual(before);

    const other = await runRestore(['--backupId=100,200'], { cwd: node, env });
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/it holds backups 100, 200, 300, restored at .*\. Backups 100, 200 was asked for\./);
    expect(await treeOf(node)).toEqual(before);
  });

  it('a gap between two backups fails clearly (exit 5), naming partition, backups and positions, and leaves nothing behind', async () => {
    const node = await tempDir();
    const run = await runRestore(['--backupId=100,200,300'], { cwd: node, env: storeEnv(node, work, 2, 'gap-backups') });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(
      /Backups 200 and 300 of partition 2 are not contiguous: backup 300's log \(node 0's copy\) does not contain backup 200's checkpoint record at position \d+; it starts later, at position \d+ \(index \d+\)\./,
    );
    expect(existsSync(join(node, 'data'))).toBe(false);
  });

  it('--dry-run shows one row per backup of each chain', async () => {
    const node = await tempDir();
    const run = await runRestore(['--backupId=100,200', '--dry-run'], { cwd: node, env: storeEnv(node, work, 2) });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Plan: restore backups 100, 200 on node 0 of 1/);
    expect(run.stdout).toMatch(/^Partition\s+Backup\s+Copy\s+Broker\s+Snapshot\s+Processed\s+Exported\s+Checkpoint/m);
    expect(run.stdout).toMatch(/^1\s+100\s+node 0\s+8\.8\.2\s+\d+-1-(\d+)-(\d+)-0\s+\1\s+\2\s+\d+\s+\d+/m);
    expect(run.stdout).toMatch(/^\s+200\s+node 0\s+8\.8\.2\s+\(log only\)\s+\d+/m);
    expect(run.stdout).toMatch(/the restore also writes \.topology\.meta/);
    expect(existsSync(join(node, 'data'))).toBe(false);
  });
});

describe('Zeebe 8.9: --from/--to choose a restore point common to all partitions', () => {
  let work: string;
  let fixtures: ChainFixture[];

  beforeAll(async () => {
    work = await tempDir();
    fixtures = [];
    for (const partitionId of [1, 2, 3]) {
      // Partition 3 has no backup 400 (it failed there), and no metadata file: its manifests are read.
      const specs = hourly([100, 200, 300, 400], (k) => (partitionId === 3 && k === 3 ? { missing: true } : {}));
      const fixture = await cutAndStoreChainBackups(work, partitionId, specs, {
        basePath: join(work, 'backups'),
        numberOfPartitions: 3,
        brokerVersion: '8.9.1',
        metadata: partitionId !== 3,
      });
      fixtures.push(fixture);
    }
  });

  it('plan: the newest backup at or before --to that every partition has, from the newest backup at or before --from', async () => {
    const node = await tempDir();
    const run = await runRestore(['plan', '--from=2026-01-10T10:30:00Z', '--to=2026-01-10T13:30:00Z'], {
      cwd: node,
      env: storeEnv(node, work, 3),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Plan: restore the time range --from=2026-01-10T10:30:00Z --to=2026-01-10T13:30:00Z on node 0 of 1/);
    expect(run.stdout).toMatch(/Restore point: checkpoint 300 \(2026-01-10T12:00:00Z\), common to all 3 partitions; chosen from backup metadata .*metadata\/1\/metadata\.json, .*the backup manifests/);
    for (const partitionId of [1, 2, 3]) {
      expect(run.stdout).toMatch(new RegExp(`^${partitionId}\\s+100\\s+node 0\\s+8\\.9\\.1\\s+\\d+-1-`, 'm'));
    }
    expect(run.stdout.match(/^\s+200\s+node 0\s+8\.9\.1\s+\(log only\)/gm)).toHaveLength(3);
    expect(run.stdout.match(/^\s+300\s+node 0\s+8\.9\.1\s+\(log only\)/gm)).toHaveLength(3);
    expect(run.stdout).not.toMatch(/^\s+400\s/m);
    expect(run.stderr).toMatch(/restore point is checkpoint 300 .* partition 1 from backups 100, 200, 300; partition 2 from backups 100, 200, 300; partition 3 from backups 100, 200, 300/);
  });

  it('--to alone restores the newest common backup at or before it, on its own', async () => {
    const node = await tempDir();
    const run = await runRestore(['--to=2026-01-10T11:30:00Z', '--dry-run', '--json'], { cwd: node, env: storeEnv(node, work, 3) });
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan).toMatchObject({ backupId: 200, restorePoint: { checkpointId: 200, timestamp: '2026-01-10T11:00:00Z' }, writesTopologyFile: true });
    expect(plan.partitions.map((p: { backups: { backupId: number }[] }) => p.backups.map((b) => b.backupId))).toEqual([[200], [200], [200]]);
  });

  it('restores from ZEEBE_RESTORE_FROM_TIMESTAMP/TO_TIMESTAMP like the Zeebe image: every partition rebuilt up to checkpoint 300', async () => {
    const node = await tempDir();
    const env = {
      ...storeEnv(node, work, 3),
      ZEEBE_RESTORE_FROM_TIMESTAMP: '2026-01-10T10:30:00Z',
      ZEEBE_RESTORE_TO_TIMESTAMP: '2026-01-10T13:30:00Z',
    };
    const run = await runRestore([], { cwd: node, env });
    expect(run.code, run.stderr).toBe(0);
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backups 100, 200, 300');
    for (const fixture of fixtures) await expectRestoredJournal(node, fixture, 0, 2);
    expectRestoreTopology(decodeTopologyFile(await readFile(join(node, 'data/.topology.meta'))), 3);
    const record = JSON.parse(await readFile(join(node, 'data/.zeebe-restore.json'), 'utf8'));
    expect(record).toMatchObject({ backupId: '300', backupIds: ['100', '200', '300'], from: '2026-01-10T10:30:00Z', to: '2026-01-10T13:30:00Z' });
    const again = await runRestore([], { cwd: node, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/chosen for --from=2026-01-10T10:30:00Z --to=2026-01-10T13:30:00Z\) was already restored/);
  });

  it('a time range no backup fits: exit 4 with the ranges of every partition', async () => {
    const node = await tempDir();
    const run = await runRestore(['--from=2026-01-10T09:00:00Z', '--to=2026-01-10T13:30:00Z'], { cwd: node, env: storeEnv(node, work, 3) });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/No restore point fits --from=2026-01-10T09:00:00Z --to=2026-01-10T13:30:00Z/);
    expect(run.stderr).toMatch(/Partition 3: backup ranges \[100 … 300\] \(from the backup manifests/);
    expect(existsSync(join(node, 'data'))).toBe(false);
  });

  it('--backupId and --from are mutually exclusive, and instants need a zone', async () => {
    const cwd = await tempDir();
    const both = await runRestore(['--backupId=100', '--from=2026-01-10T10:30:00Z'], { cwd, env: storeEnv(cwd, work, 3) });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--backupId and --from\/--to are mutually exclusive/);
    const local = await runRestore(['--to=2026-01-10T10:30:00'], { cwd, env: storeEnv(cwd, work, 3) });
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/--to=2026-01-10T10:30:00 is not an ISO-8601 instant with a zone/);
  });
});
