import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { projectRoot } from './fixtures.js';
import { startServerWithDirectory } from './server-process.js';

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
  // Without the legacy provider, paginated listings fail with 500 on OpenSSL 3 (test-servers.md).
  // s3rver prints `S3rver listening on 127.0.0.1:<port>` once it accepts connections, even with --silent.
  const server = await startServerWithDirectory('s3rver-', (directory) => ({
    name: 's3rver',
    command: process.execPath,
    args: ['--openssl-legacy-provider', join(projectRoot, 'node_modules/s3rver/bin/s3rver.js'),
      '-d', directory, '-a', '127.0.0.1', '-p', '0', '--no-vhost-buckets', '--silent'],
    ready: /listening on [\d.]+:(\d+)/,
    timeoutMs: 20_000,
  }));
  project.provide('s3Endpoint', `http://127.0.0.1:${server.ready[1]}`);
  return server.stop;
}
