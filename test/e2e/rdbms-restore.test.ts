import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChainBackupSpec, type ChainFixture, cutAndStoreChainBackups, expectedEntries, readJournalEntries } from '../support/chain-backups.js';
import { freePort } from '../support/database-server.js';
import { type ExporterPositionDatabase, exporterPositionDatabase, type Vendor } from '../support/exporter-position-table.js';
import { tempDir } from '../support/fixtures.js';
import { oneBrokerEnv } from '../support/restore-checks.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { createTestBucket, s3StoreEnv, s3TestClient } from '../support/s3-backup.js';

/**
 * Zeebe 8.9 with an RDBMS as secondary storage: `bin/restore` without a backup id reads each
 * partition's exported position from a real PostgreSQL or MariaDB (the table as Camunda creates
 * it), chooses every partition's chain from the 8.9 backup metadata in a filesystem or S3 store,
 * and restores it. Backups 100…400 are hourly from 10:00, one range per partition.
 */
const specs: ChainBackupSpec[] = [100, 200, 300, 400].map((id, k) => ({ checkpointId: BigInt(id), timestamp: `2026-01-10T1${k}:00:00Z` }));

const setups = [
  { name: 'PostgreSQL, filesystem store, no table prefix', vendor: 'postgresql', store: 'filesystem', prefix: '' },
  { name: 'MariaDB, S3 store, table prefix c8_', vendor: 'mariadb', store: 's3', prefix: 'c8_' },
] as const;

describe.each(setups)('RDBMS restore: $name', ({ vendor, store, prefix }) => {
  const server = inject(vendor === 'postgresql' ? 'postgres' : 'mariadb');
  const available = !('missing' in server);
  let work: string;
  let fixtures: ChainFixture[];
  let storeEnv: Record<string, string>;
  let database: ExporterPositionDatabase;

  beforeAll(async () => {
    if (!available) return;
    work = await tempDir();
    fixtures = [];
    let bucket = '';
    const client = s3TestClient(inject('s3Endpoint'));
    if (store === 's3') bucket = await createTestBucket(client);
    for (const partitionId of [1, 2]) {
      const fixture = await cutAndStoreChainBackups(work, partitionId, specs, {
        basePath: join(work, 'backups'),
        numberOfPartitions: 2,
        brokerVersion: '8.9.1',
        metadata: true,
        ...(store === 's3' ? { upload: async (key: string, body: Buffer) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))) } : {}),
      });
      fixtures.push(fixture);
    }
    storeEnv =
      store === 's3'
        ? s3StoreEnv(inject('s3Endpoint'), bucket)
        : { ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups') };
    database = await exporterPositionDatabase(vendor as Vendor, server as never, { prefix });
  });
  afterAll(async () => database?.close());

  /** The broker's environment: one broker, both partitions, the store, and the database in 8.9's documented variables. */
  const env = (node: string, overrides: Record<string, string> = {}): Record<string, string> => ({
    ...oneBrokerEnv(node, 2),
    ...storeEnv,
    CAMUNDA_DATA_SECONDARY_STORAGE_TYPE: 'rdbms',
    CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: database.jdbcUrl,
    CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_USERNAME: (server as { user: string }).user,
    CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PASSWORD: (server as { password: string }).password,
    ...(prefix ? { CAMUNDA_DATA_SECONDARYSTORAGE_RDBMS_PREFIX: prefix } : {}),
    ...overrides,
  });
  /** Checkpoint position of backup k (0 = 100 … 3 = 400) of a partition, plus `delta`. */
  const at = (partition: number, k: number, delta = 0n) => fixtures[partition - 1]!.backups[k]!.checkpointPosition + delta;
  const planOf = async (node: string, args: string[], overrides: Record<string, string> = {}) => {
    const run = await runRestore(['--dry-run', '--json', ...args], { cwd: node, env: env(node, overrides) });
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout);
    return { run, plan, chains: plan.partitions.map((p: { backups: { backupId: number }[] }) => p.backups.map((b) => b.backupId)) };
  };

  it.skipIf(!available)('ZEEBE_RESTORE=true alone: each partition restores its own chain, trimmed to its exported position, up to the common checkpoint', async () => {
    await database.setPositions({ 1: at(1, 1, 1n), 2: at(2, 2, 1n) });
    const node = await tempDir();
    const run = await runRestore([], { cwd: node, env: env(node, { ZEEBE_RESTORE: 'true' }) });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Exported positions for all partitions: {1=${at(1, 1, 1n)}, 2=${at(2, 2, 1n)}} (read from `);
    expect(run.stdout).toContain('Restoring RDBMS backups in range [null,null] to global checkpoint 400: {1=[200, 300, 400], 2=[300, 400]}');
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backups 200, 300, 400');
    for (const [partition, first] of [[1, 1], [2, 2]] as const) {
      const fixture = fixtures[partition - 1]!;
      const directory = join(node, 'data/raft-partition/partitions', String(partition));
      expect(await readJournalEntries(directory, partition)).toEqual(expectedEntries(fixture, fixture.backups[first]!.firstIndex, fixture.backups[3]!.checkpointIndex));
      expect(existsSync(join(directory, 'snapshots', fixture.backups[first]!.snapshotId, 'CURRENT'))).toBe(true);
    }
    const record = JSON.parse(await readFile(join(node, 'data/.zeebe-restore.json'), 'utf8'));
    expect(record).toMatchObject({ backupId: '400', backupIds: ['200', '300', '400'], exportedPositions: { 1: String(at(1, 1, 1n)), 2: String(at(2, 2, 1n)) } });
    // A restarted pod: the same invocation changes nothing, whatever the database holds by then.
    await database.setPositions({ 1: at(1, 3) });
    const again = await runRestore([], { cwd: node, env: env(node, { ZEEBE_RESTORE: 'true' }) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Backups 200, 300, 400 \(chosen for the secondary database's exported positions 1=\d+, 2=\d+\) was already restored/);
  });

  it.skipIf(!available)('plan: each partition\'s exported position, the chosen range, the common checkpoint and the chain; -1 restores everything', async () => {
    await database.setPositions({ 1: at(1, 1, 1n), 2: at(2, 2, 1n) });
    const node = await tempDir();
    const text = await runRestore(['plan'], { cwd: node, env: env(node) });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Plan: restore the exported positions of the secondary database on node 0 of 1');
    expect(text.stdout).toMatch(new RegExp(`Exported positions read from (PostgreSQL|MariaDB) at 127\\.0\\.0\\.1:\\d+, database ${database.database}, table ${prefix}EXPORTER_POSITION`));
    expect(text.stdout).toMatch(/Common checkpoint: 400 \(2026-01-10T13:00:00Z\) of all 2 partitions, chosen as Zeebe 8\.9 does/);
    expect(text.stdout).toMatch(new RegExp(`^1\\s+${at(1, 1, 1n)}\\s+\\[100 … 400\\]\\s+200, 300, 400$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^2\\s+${at(2, 2, 1n)}\\s+\\[100 … 400\\]\\s+300, 400$`, 'm'));
    expect(existsSync(join(node, 'data'))).toBe(false);

    await database.setPositions({ 1: -1n, 2: -1n });
    const { plan, chains } = await planOf(node, []);
    expect(chains).toEqual([[100, 200, 300, 400], [100, 200, 300, 400]]);
    expect(plan.exportedPositions.partitions.map((p: { exportedPosition: number }) => p.exportedPosition)).toEqual([-1, -1]);
  });

  it.skipIf(!available)('--to (ZEEBE_RESTORE_TO_TIMESTAMP alone): the checkpoint closest to it that covers the database, after --to if it must be', async () => {
    const node = await tempDir();
    await database.setPositions({ 1: at(1, 0, 1n), 2: at(2, 0, 1n) });
    const close = await planOf(node, [], { ZEEBE_RESTORE_TO_TIMESTAMP: '2026-01-10T11:10:00Z' });
    expect(close.run.stderr).toContain('--to=2026-01-10T11:10:00Z from ZEEBE_RESTORE_TO_TIMESTAMP.');
    expect(close.plan.restorePoint).toEqual({ checkpointId: 200, timestamp: '2026-01-10T11:00:00Z' });
    expect(close.chains).toEqual([[100, 200], [100, 200]]);
    await database.setPositions({ 2: at(2, 2, 1n) });
    const later = await planOf(node, ['--to=2026-01-10T11:10:00Z']);
    expect(later.plan.restorePoint.checkpointId).toBe(400);
    expect(later.chains).toEqual([[100, 200, 300, 400], [300, 400]]);
  });

  it.skipIf(!available)('--from (ZEEBE_RESTORE_FROM_TIMESTAMP alone) trims every chain to the backups taken from then on', async () => {
    const node = await tempDir();
    await database.setPositions({ 1: at(1, 2, 1n), 2: at(2, 2, 1n) });
    const { run, chains } = await planOf(node, [], { ZEEBE_RESTORE_FROM_TIMESTAMP: '2026-01-10T11:30:00Z' });
    expect(run.stderr).toContain('--from=2026-01-10T11:30:00Z from ZEEBE_RESTORE_FROM_TIMESTAMP.');
    expect(chains).toEqual([[300, 400], [300, 400]]);
  });

  it.skipIf(!available)('a position no backup covers, or a partition without a row: exit code 4 with what exists, nothing written', async () => {
    const node = await tempDir();
    await database.setPositions({ 1: at(1, 3, 10n), 2: at(2, 1) });
    const beyond = await runRestore([], { cwd: node, env: env(node) });
    expect(beyond.code).toBe(4);
    expect(beyond.stderr).toContain(`No usable range found for partition 1 with from=null, exportedPosition=${at(1, 3, 10n)}. Available ranges: [RangeEntry[start=100, end=400]]`);
    expect(beyond.stderr).toMatch(new RegExp(`Partition 1's backup ranges \\(per backup metadata .*metadata\\.json\\): \\[100 … 400\\] covers positions 1 to ${at(1, 3)}`));
    await database.setPositions({ 1: at(1, 1) });
    await database.deleteRow(2);
    const missing = await runRestore([], { cwd: node, env: env(node) });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/No exported position found for partition 2 in RDBMS \(.*\): partition 2 has no row\. Positions found: partition 1 at \d+\./);
    expect(existsSync(join(node, 'data'))).toBe(false);
  });

  it.skipIf(!available)('a wrong password or a missing table: exit code 6 naming host, port, database and table; the password is never printed', async () => {
    const node = await tempDir();
    const { port } = server as { port: number };
    const secret = 'Wrong-Password-Not-To-Print';
    const denied = await runRestore([], { cwd: node, env: env(node, { CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PASSWORD: secret }) });
    expect(denied.code).toBe(6);
    expect(denied.stderr).toContain(`at 127.0.0.1:${port}, database ${database.database}, table ${prefix}EXPORTER_POSITION`);
    expect(denied.stderr).toMatch(/the database denied access/);
    const printed = await runRestore(['--print-config'], { cwd: node, env: env(node, { CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PASSWORD: secret }) });
    expect(printed.stdout).toMatch(/secondaryStorage\.rdbms\.password = \*\*\*\*/);
    for (const output of [denied.stdout, denied.stderr, printed.stdout, printed.stderr]) expect(output).not.toContain(secret);
    const noTable = await runRestore([], { cwd: node, env: env(node, { CAMUNDA_DATA_SECONDARYSTORAGE_RDBMS_PREFIX: 'missing_' }) });
    expect(noTable.code).toBe(6);
    expect(noTable.stderr).toMatch(/table missing_EXPORTER_POSITION.*: the exporter-position table does not exist/);
    expect(existsSync(join(node, 'data'))).toBe(false);
  });

  it.skipIf(!available)('--backupId never consults the database, even an unreachable one', async () => {
    const node = await tempDir();
    const unreachable = `jdbc:${vendor}://127.0.0.1:${await freePort()}/camunda`;
    const run = await runRestore(['--backupId=300,400'], { cwd: node, env: env(node, { CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: unreachable }) });
    expect(run.code, run.stderr).toBe(0);
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backups 300, 400');
    expect(run.stdout).not.toMatch(/Exported positions/);
  });
});
