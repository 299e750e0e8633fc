import type { TestProject } from 'vitest/node';
import { projectRoot } from './fixtures.js';
import { startServerWithDirectory } from './server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the GCS emulator this test run started. */
    gcsEndpoint: string;
  }
}

/**
 * The storage emulator of firebase-tools (pinned: these are its internals), started without the
 * Java rules runtime it cannot download here (test-servers.md): the rules engine is stubbed out,
 * and the JSON API the GCS client speaks is admin-only anyway. It needs a fixed port, so it takes
 * one the OS just handed out, and it keeps blobs under $TMPDIR, which is the run's own directory.
 */
const emulatorScript = `
const { createServer } = require('node:net');
const { StorageEmulator } = require('firebase-tools/lib/emulator/storage');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry');
const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer().once('error', reject);
  probe.listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
});
(async () => {
  const port = await freePort();
  const emulator = new StorageEmulator({ projectId: 'demo-test', host: '127.0.0.1', port, rules: [], auto_download: false });
  emulator._rulesRuntime.start = async () => {};
  emulator._rulesRuntime.stop = async () => {};
  emulator._rulesManager = { start: async () => [], stop: async () => {}, getRuleset: () => undefined };
  await EmulatorRegistry.start(emulator);
  console.log('GCS emulator listening on 127.0.0.1:' + port);
  process.once('SIGTERM', () => EmulatorRegistry.stop('storage').finally(() => process.exit(0)));
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** Vitest global setup: one GCS emulator for the whole run, stopped by its PID when the run ends. */
export default async function startGcsEmulator(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServerWithDirectory('gcs-emulator-', (directory) => ({
    name: 'GCS emulator',
    command: process.execPath,
    args: ['-e', emulatorScript],
    cwd: projectRoot,
    env: { ...process.env, TMPDIR: directory },
    ready: /GCS emulator listening on 127\.0\.0\.1:(\d+)/,
  }));
  project.provide('gcsEndpoint', `http://127.0.0.1:${server.ready[1]}`);
  return server.stop;
}
