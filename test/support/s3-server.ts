import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { projectRoot } from './fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the s3rver this test run started. */
    s3Endpoint: string;
  }
}

/**
 * Vitest global setup: one real S3-compatible server (s3rver) for the whole run, on 127.0.0.1 at
 * a port the OS picks, stopped by its PID when the run ends. Tests reach it through
 * `inject('s3Endpoint')` and use their own buckets.
 */
export default async function startS3Server(project: TestProject): Promise<() => Promise<void>> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  // Without the legacy provider, paginated listings fail with 500 on OpenSSL 3 (test-servers.md).
  const server = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(projectRoot, 'node_modules/s3rver/bin/s3rver.js'),
      '-d', directory, '-a', '127.0.0.1', '-p', '0', '--no-vhost-buckets', '--silent'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await listeningPort(server);
    project.provide('s3Endpoint', `http://127.0.0.1:${port}`);
  } catch (error) {
    server.kill();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return async () => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill();
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
}

/** s3rver prints `S3rver listening on 127.0.0.1:<port>` once it accepts connections, even with --silent. */
function listeningPort(server: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${output}`)), 20_000);
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code} before listening: ${output}`));
    });
  });
}
