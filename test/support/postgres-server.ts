import { execFileSync } from 'node:child_process';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type DatabaseServer, freePort, type MissingServer, missingServer, postgresBinDirectory, userIds } from './database-server.js';
import { startServerWithDirectory } from './server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server this test run started, or why there is none. */
    postgres: DatabaseServer | MissingServer;
  }
}

/**
 * Vitest global setup: one throw-away PostgreSQL server (Debian's package) for the whole run, on
 * 127.0.0.1 at a free port, with password authentication, stopped by its PID when the run ends.
 * PostgreSQL refuses to run as root, so under root it runs as the package's `postgres` user.
 */
export default async function startPostgres(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const bin = postgresBinDirectory();
  if (bin === undefined) {
    project.provide('postgres', missingServer('PostgreSQL is not installed (Debian package postgresql)'));
    return undefined;
  }
  const account = { user: 'postgres', password: 'pg-test-password' };
  const owner = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  const port = await freePort();
  const server = await startServerWithDirectory('postgres-', async (directory) => {
    const passwordFile = join(directory, 'password');
    await writeFile(passwordFile, account.password);
    if (owner) {
      await chown(directory, owner.uid, owner.gid);
      await chown(passwordFile, owner.uid, owner.gid);
    }
    const data = join(directory, 'data');
    execFileSync(join(bin, 'initdb'), ['-D', data, '-A', 'scram-sha-256', '-U', account.user, `--pwfile=${passwordFile}`, '--no-sync'], {
      cwd: directory,
      stdio: 'pipe',
      ...owner,
    });
    return {
      name: 'PostgreSQL',
      command: join(bin, 'postgres'),
      args: ['-D', data, '-p', String(port), '-k', directory, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      ready: /database system is ready to accept connections/,
      cwd: directory,
      // SIGTERM would wait for every client to disconnect; SIGINT ends the sessions and stops.
      stopSignal: 'SIGINT',
      ...owner,
    };
  });
  project.provide('postgres', { host: '127.0.0.1', port, ...account });
  return server.stop;
}
