import type { S3Client } from '@aws-sdk/client-s3';
import type fc from 'fast-check';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { tempDir } from '../fixtures.js';
import { s3TestClient } from '../s3-backup.js';
import type { StorageShape } from './backup-storage.js';
import type { CheckpointKinds } from './partition-arbitrary.js';
import { partitionShapes } from './partition-arbitrary.js';
import { type CaseEnvironment, checkRestoreCase, inProcess, restoreCases, type RestoreRunner } from './restore-case.js';
import { checkGeneratively, type GenerativeProperty, timeoutOf } from './run-generative.js';

export interface RestoreProperty {
  property: GenerativeProperty;
  /** The vitest test name; a failure prints it in the command that reproduces the case. */
  testName: string;
  /** `import.meta.filename` of the test file. */
  testFile: string;
  storage: fc.Arbitrary<StorageShape>;
  checkpoints?: CheckpointKinds;
  /** Called per case, so the environment can be set up in `beforeAll`. */
  environment: () => CaseEnvironment;
  restore?: RestoreRunner;
  /** A generous bound for one case, for the vitest timeout. */
  secondsPerCase: number;
}

/**
 * One vitest test that restores generated backups from one kind of storage and compares every
 * restored file with the reference (see restore-case.ts).
 */
export function itRestoresGeneratedBackups(spec: RestoreProperty): void {
  it(
    spec.testName,
    () =>
      checkGeneratively({
        property: spec.property,
        testFile: spec.testFile,
        testName: spec.testName,
        cases: restoreCases(partitionShapes(spec.checkpoints), spec.storage),
        check: (testCase) => checkRestoreCase(testCase, spec.environment(), spec.restore ?? inProcess),
      }),
    timeoutOf(spec.property, spec.secondsPerCase),
  );
}

/**
 * The environment of a test file's cases: a temporary root and, for S3 storage, one client of the
 * test S3 server for the whole file. Call at the top level of the file.
 */
export function caseEnvironmentForFile({ s3 }: { s3: boolean }): () => CaseEnvironment {
  const endpoint = inject('s3Endpoint');
  let environment: CaseEnvironment | undefined;
  let client: S3Client | undefined;
  beforeAll(async () => {
    client = s3 ? s3TestClient(endpoint) : undefined;
    environment = { root: await tempDir('zeebe-generative-'), ...(client ? { s3: { client, endpoint } } : {}) };
  });
  afterAll(() => client?.destroy());
  return () => environment!;
}
