import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, RestoreError, UsageError } from '../../errors.js';
import { type ExpectedMembers, expectedMembersOf } from '../../cluster/partition-layout.js';
import { findCompletedCopy } from '../../restore/find-backup.js';
import { describeMembershipMismatch } from '../../restore/broker-readiness.js';
import { describeStartup, type PartitionResult, restorePartition } from '../../restore/restore-partition.js';
import { withoutSegmentsAfterCheckpoint } from '../../restore/segments-after-checkpoint.js';
import { planCopy } from '../../restore/validate-copy.js';
import type { BackupStore } from '../../store/backup-store.js';
import { createLimiter } from '../../util/concurrency.js';
import { formatBytes } from '../../util/format.js';
import { parseBackupSelector } from '../backup-id.js';
import { type CommandContext, resolveBackupId, withStore } from '../context.js';
import { renderTable } from '../table.js';

interface PartitionVerdict {
  partitionId: number;
  ok: boolean;
  /** What was checked, or what is wrong. */
  detail: string;
  exitCode: number;
}

/**
 * `verify <backupId>`: downloads each partition into a temporary directory, one partition at a
 * time so the disk needs room for one, and runs every check a restore runs (manifest, snapshot
 * checksums, journal frames, the checkpoint entry). Nothing is written to the data directory.
 */
export async function verifyCommand(
  context: CommandContext,
  backupIdArgument: string,
  options: { partitions?: number[]; workDirectory?: string; json: boolean; strict: boolean },
): Promise<number> {
  const { config } = context.loaded;
  const partitionIds = options.partitions ?? Array.from({ length: config.partitionCount }, (_, i) => i + 1);
  const unknown = partitionIds.filter((p) => !Number.isInteger(p) || p < 1 || p > config.partitionCount);
  if (unknown.length > 0) {
    throw new UsageError(`--partitions: ${unknown.join(', ')} not among the cluster's partitions 1..${config.partitionCount}.`);
  }
  const selector = parseBackupSelector(backupIdArgument);
  const { backupId, verdicts } = await withStore(context, async (store) => {
    const id = await resolveBackupId(selector, store, context);
    const results: PartitionVerdict[] = [];
    for (const partitionId of partitionIds) results.push(await verifyPartition(context, store, id, partitionId, options));
    return { backupId: id, verdicts: results };
  }, partitionIds);
  const failed = verdicts.filter((verdict) => !verdict.ok);
  if (options.json) {
    const body = { backupId: JSON.rawJSON(backupId.toString()), ok: failed.length === 0, partitions: verdicts };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    const rows = verdicts.map((verdict) => [String(verdict.partitionId), verdict.ok ? 'OK' : 'FAILED', verdict.detail]);
    process.stdout.write(`${renderTable(['Partition', 'Result', 'Details'], rows)}\n`);
  }
  if (failed.length === 0) {
    context.log.info(`Backup ${backupId} verified: every check passed for partitions ${partitionIds.join(', ')}.`);
    return ExitCode.success;
  }
  context.log.error(`Backup ${backupId} failed verification on partitions ${failed.map((verdict) => verdict.partitionId).join(', ')}.`);
  return failed[0]!.exitCode;
}

async function verifyPartition(
  context: CommandContext,
  store: BackupStore,
  backupId: bigint,
  partitionId: number,
  { workDirectory = tmpdir(), strict }: { workDirectory?: string; strict: boolean },
): Promise<PartitionVerdict> {
  const directory = await mkdtemp(join(workDirectory, `zeebe-verify-${backupId}-${partitionId}-`));
  const expectedMembers = expectedMembersOf(context.loaded.config, partitionId);
  const controller = new AbortController();
  try {
    const expected = context.loaded.config.restore.validateConfig ? context.loaded.config.partitionCount : undefined;
    const copy = await findCompletedCopy(store, partitionId, backupId, context.log, (candidate) => void planCopy(candidate, expected));
    const plan = await withoutSegmentsAfterCheckpoint(store, copy, planCopy(copy, expected));
    const result = await restorePartition({
      store,
      copy,
      plan,
      directory,
      limit: createLimiter(store.maxConcurrentTransfers, controller.signal),
      controller,
      log: context.log,
      expectedMembers,
    });
    const membership = result.membership && describeMembershipMismatch(partitionId, result.membership, expectedMembers.layout);
    const ok = !(strict && membership);
    return {
      partitionId,
      ok,
      exitCode: ok ? ExitCode.success : ExitCode.backupInvalid,
      detail:
        `node ${result.nodeId}'s copy: ${result.files} files, ${formatBytes(result.bytes)}` +
        `${result.snapshotId ? `, snapshot ${result.snapshotId} checksums match` : ''}, journal frames intact, ` +
        `checkpoint position ${result.checkpointPosition} at index ${result.checkpointIndex}; ${describeStartup(result)}` +
        (membership ? `. ${strict ? '' : 'Warning: '}${membership}` : `; ${describeMembership(result, expectedMembers)}`),
    };
  } catch (error) {
    if (!(error instanceof RestoreError) || error.failureClass === 'localStorage' || error.failureClass === 'interrupted') throw error;
    return { partitionId, ok: false, exitCode: error.exitCode, detail: error.message };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** What the membership check found when the log agrees with the configuration, or could not tell. */
function describeMembership({ log }: PartitionResult, { nodes }: ExpectedMembers): string {
  return log.configuration
    ? `Raft members in the log (index ${log.configuration.index}) match nodes ${nodes.join(', ')}`
    : `no Raft configuration entry in the log to compare with nodes ${nodes.join(', ')}`;
}
