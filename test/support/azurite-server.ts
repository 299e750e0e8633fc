import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { projectRoot } from './fixtures.js';
import { startServerProcess } from './server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>/devstoreaccount1`: the blob endpoint of the Azurite this test run started. */
    azuriteBlobEndpoint: string;
  }
}

/** Azurite's well-known development account (published in Azure's documentation). */
export const azuriteAccount = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
};

export function azuriteConnectionString(blobEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${azuriteAccount.name};AccountKey=${azuriteAccount.key};BlobEndpoint=${blobEndpoint};`;
}

/**
 * Vitest global setup: one Azurite blob service for the whole run, in memory, on 127.0.0.1 at a
 * port the OS picks, stopped by its PID when the run ends. Tests use their own containers.
 */
export default async function startAzurite(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServerProcess({
    name: 'Azurite',
    command: process.execPath,
    args: [join(projectRoot, 'node_modules/azurite/dist/src/blob/main.js'), '--blobHost', '127.0.0.1', '--blobPort', '0',
      '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--loose', '--silent'],
    ready: /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/,
  });
  project.provide('azuriteBlobEndpoint', `${server.ready[1]}/${azuriteAccount.name}`);
  return server.stop;
}
