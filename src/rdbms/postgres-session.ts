import { UsageError } from '../errors.js';
import { connectionFields, type DatabaseSession, databaseErrorOf, type DatabaseFailure, exportedPositionSql, type SessionOptions } from './database-session.js';
import { type DatabaseAddress, parameterOf } from './jdbc-url.js';
import { type TlsMode, tlsOptionsOf } from './tls-mode.js';

/** SQLSTATEs (PostgreSQL's error codes) that have an operator's fix. */
const failures: Record<string, DatabaseFailure> = {
  '28P01': 'denied', // invalid_password
  '28000': 'denied', // invalid_authorization_specification (pg_hba.conf rejects the connection)
  '42501': 'denied', // insufficient_privilege
  '3D000': 'missingDatabase', // invalid_catalog_name
  '42P01': 'missingTable', // undefined_table
  '3F000': 'missingTable', // invalid_schema_name (currentSchema names none)
  '57P03': 'unreachable', // cannot_connect_now: starting up or shutting down
};

/**
 * A session over PostgreSQL's protocol with `pg` (node-postgres), loaded only here. Every
 * transaction of the session is read-only, so not even a bug could write.
 */
export async function openPostgresSession(options: SessionOptions): Promise<DatabaseSession> {
  const { address, timeoutMs } = options;
  const { default: pg } = await import('pg');
  const schema = parameterOf(address, 'currentSchema');
  if (schema !== undefined && !/^[A-Za-z0-9_$,]+$/.test(schema)) {
    throw new UsageError(`The JDBC URL's currentSchema=${schema} is not a list of schema names (letters, digits, _ and $, separated by commas).`);
  }
  const ssl = tlsOptionsOf(tlsModeOf(address), parameterOf(address, 'sslrootcert'));
  const client = new pg.Client({
    ...connectionFields(options, ssl),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'zeebe-restore-agent',
  });
  // Errors of an idle connection reach the next query anyway; without a listener they would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Set by statements rather than startup options, which connection poolers such as PgBouncer refuse.
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    // pgjdbc's currentSchema sets the search path, which decides where an unqualified table name is found.
    if (schema !== undefined) await client.query(`SET search_path TO ${schema}`);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw databaseErrorOf(error, failures);
  }
  return {
    async exportedPosition(table, partitionId) {
      try {
        const result = await client.query({
          text: exportedPositionSql(table, '$1'),
          values: [partitionId],
          rowMode: 'array',
        });
        // pg returns BIGINT and NUMERIC as strings: no digit is lost.
        return result.rows.length === 0 ? undefined : (result.rows[0] as unknown[])[0];
      } catch (error) {
        throw databaseErrorOf(error, failures);
      }
    },
    close: () => client.end(),
  };
}

/**
 * pgjdbc's `sslmode` (`ssl=true` alone means verify-full). Without either, pgjdbc tries TLS and
 * falls back to none (`prefer`); node-postgres cannot fall back, so the agent connects without TLS
 * then, as it does for `allow`: a server that insists on TLS needs `sslmode=require` or stricter.
 */
function tlsModeOf(address: DatabaseAddress): TlsMode {
  const sslmode = parameterOf(address, 'sslmode')?.toLowerCase();
  if (sslmode === undefined) return parameterOf(address, 'ssl')?.toLowerCase() === 'true' ? 'verify-full' : 'disable';
  const modes: Record<string, TlsMode> = { disable: 'disable', allow: 'disable', prefer: 'disable', require: 'trust', 'verify-ca': 'verify-ca', 'verify-full': 'verify-full' };
  const mode = modes[sslmode];
  if (!mode) throw new UsageError(`The JDBC URL's sslmode=${sslmode} is not one of ${Object.keys(modes).join(', ')}.`);
  return mode;
}
