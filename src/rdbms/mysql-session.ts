import { UsageError } from '../errors.js';
import { connectionFields, type DatabaseSession, databaseErrorOf, type DatabaseFailure, exportedPositionSql, type SessionOptions } from './database-session.js';
import { type DatabaseAddress, parameterOf } from './jdbc-url.js';
import { type TlsMode, tlsOptionsOf } from './tls-mode.js';

/** MySQL's (and MariaDB's) error names that have an operator's fix. */
const failures: Record<string, DatabaseFailure> = {
  ER_ACCESS_DENIED_ERROR: 'denied',
  ER_DBACCESS_DENIED_ERROR: 'denied',
  ER_TABLEACCESS_DENIED_ERROR: 'denied',
  ER_HOST_NOT_PRIVILEGED: 'denied',
  ER_BAD_DB_ERROR: 'missingDatabase',
  ER_NO_SUCH_TABLE: 'missingTable',
  PROTOCOL_SEQUENCE_TIMEOUT: 'timeout',
  PROTOCOL_CONNECTION_LOST: 'unreachable',
};

/**
 * A session over MySQL's protocol with `mysql2`, loaded only here; MariaDB speaks the same
 * protocol. The session is read-only (`SET SESSION TRANSACTION READ ONLY`).
 */
export async function openMysqlSession(options: SessionOptions): Promise<DatabaseSession> {
  const { address, timeoutMs } = options;
  const mysql = await import('mysql2/promise');
  const ssl = tlsOptionsOf(tlsModeOf(address), parameterOf(address, 'serverSslCert'));
  let connection: Awaited<ReturnType<typeof mysql.createConnection>>;
  try {
    connection = await mysql.createConnection({
      ...connectionFields(options, ssl),
      connectTimeout: timeoutMs,
      // BIGINT as a string of digits: a JavaScript number would round positions above 2^53.
      supportBigNumbers: true,
      bigNumberStrings: true,
      rowsAsArray: true,
    });
  } catch (error) {
    throw databaseErrorOf(error, failures);
  }
  // A connection error after the handshake reaches the next query anyway; unlistened, it would crash the process.
  connection.on('error', () => undefined);
  try {
    await connection.query({ sql: 'SET SESSION TRANSACTION READ ONLY', timeout: timeoutMs });
  } catch (error) {
    await connection.end().catch(() => undefined);
    throw databaseErrorOf(error, failures);
  }
  return {
    async exportedPosition(table, partitionId) {
      try {
        const [rows] = await connection.query({ sql: exportedPositionSql(table, '?'), timeout: timeoutMs }, [partitionId]);
        const found = rows as unknown[][];
        return found.length === 0 ? undefined : found[0]![0];
      } catch (error) {
        throw databaseErrorOf(error, failures);
      }
    },
    close: () => connection.end(),
  };
}

/**
 * MariaDB Connector/J's `sslMode` (disable, trust, verify-ca, verify-full) and MySQL Connector/J's
 * (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY), or the older `useSSL=true` (checked
 * unless `trustServerCertificate=true`). PREFERRED cannot fall back here, so it connects without TLS.
 */
function tlsModeOf(address: DatabaseAddress): TlsMode {
  const sslMode = parameterOf(address, 'sslMode')?.toLowerCase().replace(/_/g, '-');
  if (sslMode === undefined) {
    if (parameterOf(address, 'useSSL')?.toLowerCase() !== 'true') return 'disable';
    return parameterOf(address, 'trustServerCertificate')?.toLowerCase() === 'true' ? 'trust' : 'verify-full';
  }
  const modes: Record<string, TlsMode> = {
    disable: 'disable',
    disabled: 'disable',
    preferred: 'disable',
    trust: 'trust',
    required: 'trust',
    'verify-ca': 'verify-ca',
    'verify-full': 'verify-full',
    'verify-identity': 'verify-full',
  };
  const mode = modes[sslMode];
  if (!mode) throw new UsageError(`The JDBC URL's sslMode=${sslMode} is not one of ${Object.keys(modes).join(', ')}.`);
  return mode;
}
