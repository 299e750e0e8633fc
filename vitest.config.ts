import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/s3-server.ts', './test/support/azurite-server.ts', './test/support/gcs-emulator.ts',
      './test/support/postgres-server.ts', './test/support/mariadb-server.ts'],
    setupFiles: ['test/support/cleanup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
