import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { TestProject } from 'vitest/node';
import { type DatabaseServer, findExecutable, freePort, type MissingServer, missingServer } from './database-server.js';
import { startServerWithDirectory } from './server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The MariaDB server this test run started, or why there is none. */
    mariadb: DatabaseServer | MissingServer;
  }
}

/**
 * Vitest global setup: one throw-away MariaDB server (Debian's package) for the whole run, on
 * 127.0.0.1 at a free port, stopped by its PID when the run ends. Tests connect as a user with a
 * password, over TCP, as a broker does.
 */
export default async function startMariadb(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const installDb = findExecutable('mariadb-install-db');
  const mariadbd = findExecutable('mariadbd');
  if (installDb === undefined || mariadbd === undefined) {
    project.provide('mariadb', missingServer('MariaDB is not installed (Debian package mariadb-server)'));
    return undefined;
  }
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const port = await freePort();
  let socketPath = '';
  const server = await startServerWithDirectory('mariadb-', (directory) => {
    const data = join(directory, 'data');
    socketPath = join(directory, 'socket');
    execFileSync(installDb, ['--no-defaults', `--datadir=${data}`, ...asRoot, '--auth-root-authentication-method=normal', '--skip-test-db'], {
      stdio: 'pipe',
    });
    return {
      name: 'MariaDB',
      command: mariadbd,
      args: ['--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socketPath}`, ...asRoot],
      ready: /ready for connections/,
    };
  });
  const account = { user: 'camunda', password: 'maria-test-password' };
  // A fresh server's root has no password on the local socket; it creates the account tests use.
  const root = await mysql.createConnection({ socketPath, user: 'root' });
  await root.query(`CREATE USER '${account.user}'@'%' IDENTIFIED BY '${account.password}'`);
  await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${account.user}'@'%'`);
  await root.end();
  project.provide('mariadb', { host: '127.0.0.1', port, ...account });
  return server.stop;
}
