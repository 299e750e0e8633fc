import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServerProcess {
  /** The match of `ready` in the server's output, e.g. the port it listens on. */
  ready: RegExpExecArray;
  pid: number;
  /** Ends the server by its PID and waits until it has exited. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** Printed once the server accepts connections. */
  ready: RegExp;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Run as this user and group (the test runner is root; PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** What ends the server; SIGTERM unless it means something slower (PostgreSQL waits for its clients then). */
  stopSignal?: NodeJS.Signals;
}

/**
 * Starts a test server as a child process and resolves once its output matches `ready`. Output is
 * drained for the server's whole life (a full pipe would block it) and kept short, for the error
 * when it does not start.
 */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { name, timeoutMs = 30_000 } = options;
  const server = spawn(options.command, options.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill(options.stopSignal ?? 'SIGTERM');
      // A server that does not shut down within seconds is killed outright.
      const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await exited;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    let started = false;
    const fail = (reason: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${name} ${reason}: ${output.slice(-4000)}`)));
    };
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs / 1000} s`), timeoutMs);
    const read = (chunk: Buffer) => {
      if (started) return;
      output += chunk.toString();
      const match = options.ready.exec(output);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve({ ready: match, pid: server.pid!, stop });
      }
    };
    server.stdout.on('data', read);
    server.stderr.on('data', read);
    server.once('error', (error) => fail(`could not be started (${error.message})`));
    server.once('exit', (code, signal) => {
      if (!started) fail(`exited with ${code ?? signal} before it was ready`);
    });
  });
}

/**
 * Like startServerProcess, for a server that keeps its data in a directory of its own: a fresh
 * temporary one, removed when the server stops (or fails to start). `options` may prepare the
 * directory first (a database's initdb).
 */
export async function startServerWithDirectory(
  prefix: string,
  options: (directory: string) => ServerProcessOptions | Promise<ServerProcessOptions>,
): Promise<ServerProcess> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  const remove = () => rm(directory, { recursive: true, force: true });
  try {
    const server = await startServerProcess(await options(directory));
    return { ...server, stop: () => server.stop().finally(remove) };
  } catch (error) {
    await remove();
    throw error;
  }
}
