import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { ExitCode, RestoreError } from '../../../src/errors.js';
import { raftDirectoryName } from '../../../src/restore/workspace.js';
import { treeOf } from '../fixtures.js';
import { messageOf, runRestore } from '../run-restore.js';
import { oneBrokerEnv } from '../restore-checks.js';
import { storeBackup, type StorageShape } from './backup-storage.js';
import { differences, expectedRestoreOf, filesBelow } from './expected-restore.js';
import type { PartitionShape } from './partition-shape.js';
import { restoreInProcess } from './restore-in-process.js';
import { writeGeneratedPartition } from './write-partition.js';

/** One generated case: a partition backup, where it is stored, and the node it is restored on. */
export interface RestoreCase {
  partition: PartitionShape;
  storage: StorageShape;
  /** The data directory exists (empty) before the restore, as in an init container; else the restore creates it. */
  dataDirectoryExists: boolean;
}

export function restoreCases(partitions: fc.Arbitrary<PartitionShape>, storage: fc.Arbitrary<StorageShape>): fc.Arbitrary<RestoreCase> {
  return fc.record({ partition: partitions, storage, dataDirectoryExists: fc.boolean() });
}

export interface CaseEnvironment {
  /** Each case works in its own directory below this one and removes it when done. */
  root: string;
  s3?: { client: S3Client; endpoint: string };
}

/** How a restore ended, whether it ran in this process or as `bin/restore`. */
export interface RestoreOutcome {
  exitCode: number;
  /** The failure as reported to the operator; empty on success. */
  message: string;
  log: string[];
}

export type RestoreRunner = (brokerDirectory: string, storeEnv: Record<string, string>, backupId: bigint) => Promise<RestoreOutcome>;

export const inProcess: RestoreRunner = async (brokerDirectory, storeEnv, backupId) => {
  const { error, log } = await restoreInProcess(brokerDirectory, storeEnv, backupId);
  if (error === undefined) return { exitCode: ExitCode.success, message: '', log };
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { exitCode: error instanceof RestoreError ? error.exitCode : ExitCode.internal, message, log };
};

export const asProcess: RestoreRunner = async (brokerDirectory, storeEnv, backupId) => {
  const run = await runRestore([`--backupId=${backupId}`], { cwd: brokerDirectory, env: { ...oneBrokerEnv(brokerDirectory, 1), ...storeEnv } });
  const log = run.stdout.trimEnd().split('\n');
  if (run.code === ExitCode.success && messageOf(run.lastLine) !== `Successfully restored broker from backup ${backupId}`) {
    return { exitCode: ExitCode.internal, message: `exit code 0 but the last line is: ${run.lastLine}`, log };
  }
  return { exitCode: run.code ?? ExitCode.internal, message: run.stderr, log };
};

const BACKUP_ID = 1763683200000n;
const LOG_LINES_IN_REPORT = 12;

/**
 * Generates the case's backup, stores it, restores it and checks the result against the
 * reference: every restored file byte for byte, or, for a checkpoint no entry has, exit code 5
 * with Zeebe's message and the data directory as it was. Throws a report on any difference.
 */
export async function checkRestoreCase(testCase: RestoreCase, environment: CaseEnvironment, restore: RestoreRunner = inProcess): Promise<void> {
  const directory = await mkdtemp(join(environment.root, 'case-'));
  let removeStored = async () => {};
  try {
    const partition = await writeGeneratedPartition(testCase.partition, join(directory, 'source'));
    const expected = await expectedRestoreOf(partition);
    const stored = await storeBackup(testCase.storage, partition, BACKUP_ID, { directory, ...(environment.s3 ? { s3: environment.s3 } : {}) });
    removeStored = stored.remove;

    const broker = join(directory, 'broker');
    const dataDirectory = join(broker, 'data');
    await mkdir(testCase.dataDirectoryExists ? dataDirectory : broker, { recursive: true });
    const before = await treeOf(broker);
    const outcome = await restore(broker, stored.storeEnv, BACKUP_ID);
    const report = (problem: string) => new Error(`${problem}\nLast log lines:\n${outcome.log.slice(-LOG_LINES_IN_REPORT).join('\n')}`);

    if (expected.kind === 'checkpointMissing') {
      const message = `Cannot find a record at checkpoint position ${expected.checkpointPosition} in the log`;
      if (outcome.exitCode !== ExitCode.backupInvalid || !outcome.message.includes(message)) {
        throw report(`expected exit code ${ExitCode.backupInvalid} with "${message}", got exit code ${outcome.exitCode}: ${outcome.message}`);
      }
      const after = await treeOf(broker);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        throw report(`the failed restore changed the broker directory: ${JSON.stringify(before)} became ${JSON.stringify(after)}`);
      }
      return;
    }
    if (outcome.exitCode !== ExitCode.success) throw report(`the restore failed with exit code ${outcome.exitCode}: ${outcome.message}`);
    const problems = differences(await filesBelow(join(dataDirectory, raftDirectoryName)), expected.files);
    if (problems.length > 0) throw report(`the restored files differ from the reference:\n  ${problems.join('\n  ')}`);
  } finally {
    await removeStored();
    await rm(directory, { recursive: true, force: true });
  }
}
