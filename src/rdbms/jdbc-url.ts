import { maskUrlCredentials } from '../config/mask-url-credentials.js';
import { UsageError } from '../errors.js';

/**
 * Where the broker's secondary database is, taken from the JDBC URL it connects with
 * (`camunda.data.secondary-storage.rdbms.url`). The broker's DataSource picks its JDBC driver by
 * the URL's scheme; the agent picks the Node.js client the same way: PostgreSQL's wire protocol, or
 * MySQL's, which MariaDB speaks too.
 */
export type WireProtocol = 'postgresql' | 'mysql';

export interface DatabaseHost {
  host: string;
  port: number;
}

export interface DatabaseAddress {
  protocol: WireProtocol;
  /** The product named by the URL, for messages: PostgreSQL, MariaDB or MySQL. */
  product: string;
  /** In the URL's order; a JDBC driver tries them in turn, and so does the agent. */
  hosts: DatabaseHost[];
  /** Empty when the URL names none (PostgreSQL then uses the user name, MySQL no default database). */
  database: string;
  /** The URL's parameters, names as written (`user`, `password`, `sslmode`, `currentSchema`, …). */
  parameters: Map<string, string>;
}

const products = {
  postgresql: { protocol: 'postgresql', product: 'PostgreSQL', port: 5432 },
  mariadb: { protocol: 'mysql', product: 'MariaDB', port: 3306 },
  mysql: { protocol: 'mysql', product: 'MySQL', port: 3306 },
} as const;

/** Schemes a Camunda broker accepts but this agent cannot read, with the reason. */
const unsupported: Record<string, string> = {
  h2: 'H2 runs inside the broker, so its data is not reachable from a restore',
  sqlserver: 'no SQL Server could be run to test the agent against one',
  oracle: 'no Oracle Database could be run to test the agent against one',
};

// jdbc:[aws-wrapper:]<vendor>[:<mode>]://<hosts>[/<database>][?<parameters>]; MariaDB's and
// MySQL's high-availability modes (`jdbc:mariadb:sequential://…`) list hosts to try in turn.
const jdbcPattern = /^jdbc:(?:aws-wrapper:)?([a-z0-9]+)(?::[a-z-]+)?:\/\/([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;

export function parseJdbcUrl(url: string, key: string): DatabaseAddress {
  const text = url.trim();
  const fail = (problem: string) => new UsageError(`${key} = ${maskUrlCredentials(text)} ${problem}.`);
  const scheme = /^jdbc:(?:aws-wrapper:)?([a-z0-9]+)/i.exec(text)?.[1]?.toLowerCase();
  if (scheme && unsupported[scheme]) {
    throw fail(
      `names a database this agent cannot read (${unsupported[scheme]}). Supported: PostgreSQL, MariaDB and MySQL. ` +
        `Restore by backup id instead (--backupId=<id>[,<id>…]): that never consults the database`,
    );
  }
  const match = jdbcPattern.exec(text);
  if (!match) {
    throw fail(
      'is not a JDBC URL the agent can read; write jdbc:postgresql://<host>[:<port>]/<database>, ' +
        'jdbc:mariadb://<host>[:<port>]/<database> or jdbc:mysql://<host>[:<port>]/<database>',
    );
  }
  const [, vendor = '', authority = '', database = '', query = ''] = match;
  const known = products[vendor.toLowerCase() as keyof typeof products];
  if (!known) throw fail(`names the database type '${vendor}'; supported are postgresql, mariadb and mysql`);
  const parameters = parseParameters(query);
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    // MySQL's `jdbc:mysql://user:password@host/…` form.
    const [user = '', password] = authority.slice(0, at).split(/:(.*)/s);
    if (user !== '') parameters.set('user', decoded(user));
    if (password !== undefined) parameters.set('password', decoded(password));
  }
  const hostList = authority.slice(at + 1);
  const hosts = hostList === '' ? [{ host: 'localhost', port: known.port }] : hostList.split(',').map((entry) => parseHost(entry, known.port, fail));
  return { protocol: known.protocol, product: known.product, hosts, database: decoded(database), parameters };
}

function parseHost(entry: string, defaultPort: number, fail: (problem: string) => Error): DatabaseHost {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d+))?$/i.exec(entry.trim());
  if (!match) throw fail(`has a host '${entry}' that is not <host>[:<port>]`);
  const [, ipv6, name, port] = match;
  const number = port === undefined ? defaultPort : Number(port);
  if (!(number >= 1 && number <= 65535)) throw fail(`has the port ${port}, which is not between 1 and 65535`);
  return { host: ipv6 ?? name!, port: number };
}

function parseParameters(query: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const [name = '', value = ''] = pair.split(/=(.*)/s);
    parameters.set(decoded(name), decoded(value));
  }
  return parameters;
}

/** Percent-decoded like JDBC drivers decode URLs; text that is not valid percent-encoding stays as written. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A parameter by name, ignoring case as JDBC drivers do for theirs (`sslMode`, `sslmode`). */
export function parameterOf(address: DatabaseAddress, name: string): string | undefined {
  for (const [key, value] of address.parameters) if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
}
