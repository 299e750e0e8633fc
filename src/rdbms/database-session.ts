import type { DatabaseAddress, DatabaseHost } from './jdbc-url.js';
import type { TlsOptions } from './tls-mode.js';

/**
 * One read-only connection to the secondary database, through whichever client its wire protocol
 * needs. Each client module turns its driver's errors into a {@link DatabaseError}.
 */
export interface DatabaseSession {
  /**
   * `LAST_EXPORTED_POSITION` of the partition's row in `table`, as the driver returns it: a string
   * (or bigint) of digits, null when the column is NULL, undefined when there is no row.
   */
  exportedPosition(table: string, partitionId: number): Promise<unknown>;
  close(): Promise<void>;
}

export interface SessionOptions {
  address: DatabaseAddress;
  host: DatabaseHost;
  user?: string;
  password?: string;
  /** For connecting and for each statement; a restore must not hang on a database that does not answer. */
  timeoutMs: number;
}

/**
 * `ExporterPositionMapper.findOne` of Camunda, reading only the position. The table name is the
 * configured prefix (checked to be a plain name) and Camunda's name, unquoted like Camunda's SQL,
 * so each database folds its case as it did when Liquibase created the table.
 */
export function exportedPositionSql(table: string, parameter: string): string {
  return `SELECT LAST_EXPORTED_POSITION FROM ${table} WHERE PARTITION_ID = ${parameter}`;
}

/** Host, port, database, credentials and TLS, under the names both clients (pg, mysql2) use; unset ones left out. */
export function connectionFields({ address, host, user, password }: SessionOptions, ssl: TlsOptions | undefined) {
  return {
    host: host.host,
    port: host.port,
    ...(address.database === '' ? {} : { database: address.database }),
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(ssl === undefined ? {} : { ssl }),
  };
}

/** What went wrong, as far as the operator's fix goes. */
export type DatabaseFailure = 'unreachable' | 'timeout' | 'denied' | 'missingDatabase' | 'missingTable' | 'other';

export class DatabaseError extends Error {
  constructor(
    readonly failure: DatabaseFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/** Node's socket errors that mean "no server answers there". */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/**
 * A driver error as a DatabaseError: `byCode` maps the driver's own codes (SQLSTATE, MySQL error
 * names); socket errors and timeouts are the same for every driver.
 */
export function databaseErrorOf(error: unknown, byCode: Record<string, DatabaseFailure>): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  const failure =
    byCode[code] ?? (unreachableCodes.has(code) ? 'unreachable' : code === 'ETIMEDOUT' || /time(d)? ?out/i.test(message) ? 'timeout' : 'other');
  return new DatabaseError(failure, message || code, { cause: error });
}
