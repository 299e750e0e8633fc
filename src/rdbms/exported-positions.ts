import { acceptedKeys } from '../config/resolve.js';
import type { RdbmsConfig } from '../config/restore-config.js';
import { secondaryStorageSettings } from '../config/settings.js';
import { BackupNotFoundError, DatabaseUnavailableError, RestoreError, UsageError } from '../errors.js';
import { DatabaseError, type DatabaseFailure, type DatabaseSession, type SessionOptions } from './database-session.js';
import { type DatabaseAddress, type DatabaseHost, parameterOf, parseJdbcUrl } from './jdbc-url.js';

/**
 * Reads what Zeebe 8.9's restore reads from an RDBMS secondary storage (`RestoreManager`,
 * `ExporterPositionMapper.findOne`): each partition's `LAST_EXPORTED_POSITION` from
 * `<prefix>EXPORTER_POSITION`, the row Camunda's RDBMS exporter keeps per partition. The database
 * is only read, over one connection, with a short timeout.
 */
export interface ExportedPositions {
  /** Where they were read, for messages and the plan: product, host, port, database and table. */
  source: string;
  /** Per partition, as the exporter wrote it: -1 when it has exported nothing yet. */
  positions: Map<number, bigint>;
}

/** Zeebe 8.10's restore gives its database checks 10 s; a restore should not wait longer for an outage to show. */
export const databaseTimeoutMs = 10_000;

const openSession = {
  postgresql: async (options: SessionOptions) => (await import('./postgres-session.js')).openPostgresSession(options),
  mysql: async (options: SessionOptions) => (await import('./mysql-session.js')).openMysqlSession(options),
};

const [urlSetting] = secondaryStorageSettings.rdbms;

export async function readExportedPositions(config: RdbmsConfig, partitionIds: number[]): Promise<ExportedPositions> {
  if (config.url === undefined) {
    throw new UsageError(
      `The secondary storage is an RDBMS, but its JDBC URL is not set; set ${acceptedKeys(urlSetting!)}. ` +
        'A restore without --backupId reads the exported positions from that database.',
    );
  }
  const address = parseJdbcUrl(config.url, urlSetting!.keys[0]!);
  const table = `${config.prefix ?? ''}EXPORTER_POSITION`;
  const user = config.username ?? parameterOf(address, 'user');
  const password = config.password ?? parameterOf(address, 'password');
  const describe = (host: DatabaseHost) =>
    `${address.product} at ${host.host}:${host.port}, database ${address.database || '(default)'}, table ${table}${user === undefined ? '' : `, user ${user}`}`;
  const credentials = { ...(user === undefined ? {} : { user }), ...(password === undefined ? {} : { password }) };
  const optionsFor = (host: DatabaseHost): SessionOptions => ({ address, host, ...credentials, timeoutMs: databaseTimeoutMs });
  const { session, host } = await connect(address, optionsFor, describe, password);
  const source = describe(host);
  try {
    const rows = new Map<number, unknown>();
    for (const partitionId of partitionIds) {
      try {
        rows.set(partitionId, await session.exportedPosition(table, partitionId));
      } catch (error) {
        throw unavailable(error, source, password);
      }
    }
    return { source, positions: positionsOf(rows, source) };
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** The first host that answers; a JDBC driver given several tries them in the same order. */
async function connect(
  address: DatabaseAddress,
  optionsFor: (host: DatabaseHost) => SessionOptions,
  describe: (host: DatabaseHost) => string,
  password: string | undefined,
): Promise<{ session: DatabaseSession; host: DatabaseHost }> {
  const failures: RestoreError[] = [];
  for (const host of address.hosts) {
    try {
      return { session: await openSession[address.protocol](optionsFor(host)), host };
    } catch (error) {
      if (error instanceof RestoreError) throw error;
      const failure = unavailable(error, describe(host), password);
      if (!(error instanceof DatabaseError && (error.failure === 'unreachable' || error.failure === 'timeout'))) throw failure;
      failures.push(failure);
    }
  }
  throw failures.length === 1 ? failures[0]! : new DatabaseUnavailableError(failures.map((failure) => failure.message).join('\n'));
}

const hints: Record<DatabaseFailure, string> = {
  unreachable: 'check the host and port of camunda.data.secondary-storage.rdbms.url and that the database server runs',
  timeout: `no answer within ${databaseTimeoutMs / 1000} s; check the host, port and firewall, and the database server's load`,
  denied: 'check camunda.data.secondary-storage.rdbms.username and .password, and that this user may read the table',
  missingDatabase: 'check the database name in camunda.data.secondary-storage.rdbms.url',
  missingTable:
    'restore the database with its own tools first (see the README, "Zeebe 8.9 with an RDBMS"), and check camunda.data.secondary-storage.rdbms.prefix',
  other: 'check the database server and the connection settings',
};

const failureTitles: Record<DatabaseFailure, string> = {
  unreachable: 'the database server is unreachable',
  timeout: 'the database server did not answer in time',
  denied: 'the database denied access',
  missingDatabase: 'the database does not exist',
  missingTable: 'the exporter-position table does not exist',
  other: 'the database reported an error',
};

/** Exit code 6, naming where and what to fix; the password never appears, even if a driver echoed it. */
function unavailable(error: unknown, source: string, password: string | undefined): RestoreError {
  if (error instanceof RestoreError) return error;
  const { failure, message } = error instanceof DatabaseError ? error : new DatabaseError('other', String(error));
  const reason = password ? message.split(password).join('****') : message;
  return new DatabaseUnavailableError(
    `Cannot read the exported positions from the secondary database (${source}): ${failureTitles[failure]}: ${reason}. ` +
      `To fix: ${hints[failure]}.`,
    { cause: error },
  );
}

/**
 * Every partition needs a position, as in Zeebe's `RestoreManager.exportedPositions`; the message
 * is Zeebe's, followed by what the table does hold.
 */
function positionsOf(rows: Map<number, unknown>, source: string): Map<number, bigint> {
  const positions = new Map<number, bigint>();
  const missing: string[] = [];
  for (const [partitionId, value] of rows) {
    const position = parsePosition(value, partitionId, source);
    if (position === undefined) missing.push(`partition ${partitionId} ${value === undefined ? 'has no row' : 'has LAST_EXPORTED_POSITION NULL'}`);
    else positions.set(partitionId, position);
  }
  if (missing.length > 0) {
    const first = [...rows.keys()].find((partitionId) => !positions.has(partitionId))!;
    const found = [...positions].map(([partitionId, position]) => `partition ${partitionId} at ${position}`).join(', ');
    throw new BackupNotFoundError(
      `No exported position found for partition ${first} in RDBMS (${source}): ${missing.join('; ')}. ` +
        `${found === '' ? 'No partition has a position.' : `Positions found: ${found}.`} ` +
        'Restore the database completely (every partition has a row once the broker has opened its exporter), or restore by backup id.',
    );
  }
  return positions;
}

/** A 64-bit position, from whatever the driver returns for BIGINT/NUMERIC, without passing through a double. */
function parsePosition(value: unknown, partitionId: number, source: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new DatabaseUnavailableError(
    `The secondary database (${source}) returned ${JSON.stringify(String(value))} as LAST_EXPORTED_POSITION of partition ${partitionId}, ` +
      'which is not a whole number: is this the table Camunda created?',
  );
}
