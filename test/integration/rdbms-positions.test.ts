import { describe, expect, inject, it } from 'vitest';
import type { RdbmsConfig } from '../../src/config/restore-config.js';
import { RestoreError } from '../../src/errors.js';
import { readExportedPositions } from '../../src/rdbms/exported-positions.js';
import { freePort } from '../support/database-server.js';
import { exporterPositionDatabase, type Vendor } from '../support/exporter-position-table.js';

/**
 * The database reader against the test run's real PostgreSQL and MariaDB servers, with the table
 * as Camunda's schema creates it and the drivers the agent ships.
 */
async function failure(action: Promise<unknown>): Promise<RestoreError> {
  try {
    await action;
  } catch (error) {
    expect(error).toBeInstanceOf(RestoreError);
    return error as RestoreError;
  }
  throw new Error('expected a failure');
}

describe.each(['postgresql', 'mariadb'] as Vendor[])('exported positions from %s', (vendor) => {
  const server = inject(vendor === 'postgresql' ? 'postgres' : 'mariadb');
  const available = !('missing' in server);
  const config = (url: string, overrides: Partial<RdbmsConfig> = {}): RdbmsConfig =>
    available ? { type: 'rdbms', url, username: server.user, password: server.password, ...overrides } : { type: 'rdbms' };

  it.skipIf(!available)('reads every partition, 64-bit positions and -1 exactly, with and without a table prefix', async () => {
    for (const prefix of ['', 'c8_']) {
      const database = await exporterPositionDatabase(vendor, server as never, { prefix });
      await database.setPositions({ 1: 9223372036854775807n, 2: -1n, 3: 9007199254740993n });
      const read = await readExportedPositions(config(database.jdbcUrl, { prefix }), [1, 2, 3]);
      expect(read.positions).toEqual(new Map([[1, 9223372036854775807n], [2, -1n], [3, 9007199254740993n]]));
      expect(read.source).toContain(`at 127.0.0.1:${(server as { port: number }).port}, database ${database.database}, table ${prefix}EXPORTER_POSITION`);
      await database.close();
    }
  });

  it.skipIf(!available)('a missing row or a NULL position: exit code 4 with Zeebe\'s message and what the table holds', async () => {
    const database = await exporterPositionDatabase(vendor, server as never);
    await database.setPositions({ 1: 250n, 3: null });
    const error = await failure(readExportedPositions(config(database.jdbcUrl), [1, 2, 3]));
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/^No exported position found for partition 2 in RDBMS \(/);
    expect(error.message).toContain('partition 2 has no row; partition 3 has LAST_EXPORTED_POSITION NULL. Positions found: partition 1 at 250.');
    await database.close();
  });

  it.skipIf(!available)('a wrong password, a missing table or database: exit code 6 naming host, port, database and table, never the password', async () => {
    const database = await exporterPositionDatabase(vendor, server as never, { withTable: false });
    const where = `127.0.0.1:${(server as { port: number }).port}, database ${database.database}, table EXPORTER_POSITION`;
    const denied = await failure(readExportedPositions(config(database.jdbcUrl, { password: 'Wrong-Secret-42' }), [1]));
    expect(denied.exitCode).toBe(6);
    expect(denied.message).toContain(where);
    expect(denied.message).toMatch(/the database denied access/);
    expect(denied.message).not.toContain('Wrong-Secret-42');
    const inUrl = await failure(readExportedPositions({ type: 'rdbms', url: `${database.jdbcUrl}?user=${(server as { user: string }).user}&password=Wrong-Secret-42` }, [1]));
    expect(inUrl.message).not.toContain('Wrong-Secret-42');
    const missingTable = await failure(readExportedPositions(config(database.jdbcUrl), [1]));
    expect(missingTable.exitCode).toBe(6);
    expect(missingTable.message).toContain(where);
    expect(missingTable.message).toMatch(/the exporter-position table does not exist: .*restore the database with its own tools first/);
    const missingDatabase = await failure(readExportedPositions(config(database.jdbcUrl.replace(database.database, 'no_such_db')), [1]));
    expect(missingDatabase.exitCode).toBe(6);
    expect(missingDatabase.message).toMatch(/database no_such_db, table EXPORTER_POSITION.*: the database does not exist/);
    await database.close();
  });

  it.skipIf(!available)('an unreachable server: exit code 6 within the timeout; the next host of the URL is tried', async () => {
    const closed = await freePort();
    const unreachable = await failure(readExportedPositions(config(`jdbc:${vendor}://127.0.0.1:${closed}/camunda`), [1]));
    expect(unreachable.exitCode).toBe(6);
    expect(unreachable.message).toContain(`at 127.0.0.1:${closed}, database camunda, table EXPORTER_POSITION`);
    expect(unreachable.message).toMatch(/the database server is unreachable/);
    const database = await exporterPositionDatabase(vendor, server as never);
    await database.setPositions({ 1: 7n });
    const url = database.jdbcUrl.replace('//127.0.0.1:', `//127.0.0.1:${closed},127.0.0.1:`);
    expect((await readExportedPositions(config(url), [1])).positions.get(1)).toBe(7n);
    await database.close();
  });
});

describe('PostgreSQL with a schema', () => {
  const server = inject('postgres');
  const available = !('missing' in server);
  const config = (url: string): RdbmsConfig => (available ? { type: 'rdbms', url, username: server.user, password: server.password } : { type: 'rdbms' });

  it.skipIf(!available)('the table in the schema the URL names as currentSchema', async () => {
    const database = await exporterPositionDatabase('postgresql', server as never, { schema: 'c8' });
    await database.setPositions({ 1: 42n });
    expect(database.jdbcUrl).toMatch(/\?currentSchema=c8$/);
    expect((await readExportedPositions(config(database.jdbcUrl), [1])).positions.get(1)).toBe(42n);
    const elsewhere = await failure(readExportedPositions(config(database.jdbcUrl.replace('currentSchema=c8', 'currentSchema=public')), [1]));
    expect(elsewhere.message).toMatch(/the exporter-position table does not exist/);
    await database.close();
  });
});
