import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** A throw-away database server of this test run, on 127.0.0.1, and the account tests use. */
export interface DatabaseServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** A server the tests need but this machine lacks: why, for the skip message. */
export interface MissingServer {
  missing: string;
}

/** Tests skip a server that is not installed, saying why; CI installs it (.ci/run), so there it is an error. */
export function missingServer(reason: string): MissingServer {
  if (process.env.CI) throw new Error(`${reason}; .ci/run installs it`);
  return { missing: reason };
}

/** A port nothing listens on right now, for servers that cannot be told to pick one themselves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** An executable by name, on the PATH or in the sbin directories root's PATH usually has. */
export function findExecutable(name: string): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  return directories.map((directory) => join(directory, name)).find((path) => path !== name && existsSync(path));
}

/** PostgreSQL's server binaries of the newest installed Debian version (`/usr/lib/postgresql/<v>/bin`). */
export function postgresBinDirectory(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const [newest] = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin/postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return newest === undefined ? undefined : join(root, newest, 'bin');
}

/** The uid and gid of a system user, for running a server that refuses root. */
export function userIds(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
