import { renderConfig } from '../../config/print-config.js';
import type { Instant } from '../../chain/instant.js';
import { ExitCode, UsageError } from '../../errors.js';
import { partitionsOwnedBy } from '../../cluster/partition-layout.js';
import { describeRecord } from '../../restore/previous-run.js';
import type { Logger } from '../../log/logger.js';
import { LiveProgressDisplay, periodicProgressLog, type ProgressReporter } from '../../progress/progress-reporters.js';
import { restoreBroker, type RestoreOutcome } from '../../restore/restore-broker.js';
import { formatBytes } from '../../util/format.js';
import { agentVersion } from '../agent-version.js';
import { peakResidentBytes } from '../../util/peak-memory.js';
import { interruptibly } from '../interrupt.js';
import { backupTarget, type RestoreTarget } from '../../chain/restore-target.js';
import type { BackupStore } from '../../store/backup-store.js';
import { parseRestoreSelector, parseTimeArgument } from '../backup-id.js';
import { type CommandContext, resolveBackupId, withStore } from '../context.js';
import { backupIdVariable, timestampVariables } from '../zeebe-image-environment.js';
import { printPlan } from './plan-command.js';

export interface RestoreOptions {
  dryRun: boolean;
  printConfig: boolean;
  json: boolean;
  concurrency?: number;
  /** Seconds between progress lines when not on a terminal. */
  progressInterval: number;
  /** The live display, when stderr is a terminal and logs are for people. */
  liveDisplay?: LiveProgressDisplay;
}

/** `restore --backupId=<id>`: the job of this agent. Also `--dry-run` and `--print-config`. */
export async function restoreCommand(context: CommandContext, options: RestoreOptions): Promise<number> {
  const { loaded, log } = context;
  if (options.printConfig) {
    process.stdout.write(`${renderConfig(loaded)}\n`);
    return ExitCode.success;
  }
  const request = restoreRequestOf(context);
  // A compressed archive keeps the files of this node's partitions only.
  const partitions = options.dryRun ? [] : partitionsOwnedBy(loaded.config);
  return withStore(context, async (store) => {
    const target = await targetOf(request, store, context);
    if (options.dryRun) return printPlan(context, store, target, options.json);
    return interruptibly(log, 'removing what this restore wrote', async (signal) => {
      let reporter: ProgressReporter | undefined;
      try {
        const outcome = await restoreBroker({
          config: loaded.config,
          target,
          store,
          log,
          signal,
          agentVersion,
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          onProgress: (progress) => {
            if (options.liveDisplay) options.liveDisplay.show(progress);
            reporter = options.liveDisplay ?? periodicProgressLog(progress, log, options.progressInterval * 1000);
          },
        });
        reporter?.stop();
        reportOutcome(outcome, log);
        const ids = restoredBackupIds(outcome);
        log.info(`Successfully restored broker from ${ids.length === 1 ? 'backup' : 'backups'} ${ids.join(', ')}`, {
          backupId: ids.at(-1)!,
          ...(ids.length > 1 ? { backupIds: ids.join(',') } : {}),
        });
        return ExitCode.success;
      } finally {
        reporter?.stop();
      }
    });
  }, partitions);
}

/**
 * The request as given: ids (or `latest`), a time range, or, with an RDBMS as secondary storage,
 * the database's exported positions (within a time range if one is given); checked before the
 * store is opened.
 */
type RestoreRequestArguments = { selector: bigint[] | 'latest' } | { kind: 'timeRange' | 'exportedPositions'; from?: Instant; to?: Instant };

export function restoreRequestOf(context: CommandContext): RestoreRequestArguments {
  const { backupId, from, to } = context;
  if (backupId !== undefined) {
    if (from !== undefined || to !== undefined) {
      throw new UsageError('--backupId and --from/--to are mutually exclusive: restore backups by id, or a time range, not both.');
    }
    // By id, the database is never consulted: Camunda's documented escape hatch.
    return { selector: parseRestoreSelector(backupId) };
  }
  // Zeebe 8.9 restores to the database's exported positions whenever its secondary storage is an RDBMS.
  const byDatabase = context.loaded.config.secondaryStorage.type === 'rdbms';
  if (from === undefined && to === undefined && !byDatabase) {
    throw new UsageError(
      `Missing required argument: --backupId=<id>[,<id>…] (or ${backupIdVariable}), or --from=<instant>/--to=<instant> ` +
        `(or ${timestampVariables.join('/')}). With an RDBMS as secondary storage (camunda.data.secondary-storage.type: rdbms), ` +
        'no argument is needed: the restore follows the database.',
    );
  }
  const range: { from?: Instant; to?: Instant } = {};
  if (from !== undefined) range.from = parseTimeArgument('--from', from);
  if (to !== undefined) range.to = parseTimeArgument('--to', to);
  if (range.from && range.to && range.from.nanos > range.to.nanos) {
    throw new UsageError(`--from=${range.from.iso} is after --to=${range.to.iso}.`);
  }
  return { kind: byDatabase ? 'exportedPositions' : 'timeRange', ...range };
}

export async function targetOf(request: RestoreRequestArguments, store: BackupStore, context: CommandContext): Promise<RestoreTarget> {
  if (!('selector' in request)) return request;
  if (request.selector === 'latest') return backupTarget([await resolveBackupId('latest', store, context)]);
  return backupTarget(request.selector);
}

/** The backups the node now holds: as restored, or as the earlier run recorded them. */
function restoredBackupIds(outcome: RestoreOutcome): string[] {
  if (outcome.kind === 'alreadyRestored') return outcome.record.backupIds ?? [outcome.record.backupId];
  const ids = new Set<bigint>();
  for (const result of outcome.partitions) for (const { backupId } of result.chain ?? []) ids.add(backupId);
  if (ids.size === 0) ids.add(outcome.restorePoint);
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

function reportOutcome(outcome: RestoreOutcome, log: Logger): void {
  if (outcome.kind === 'alreadyRestored') {
    log.info(
      `${capitalized(describeRecord(outcome.record))} was already restored on this node at ${outcome.record.restoredAt} ` +
        `(partitions ${outcome.record.partitions.join(', ')}); nothing was changed.`,
      { alreadyRestored: true },
    );
    return;
  }
  const { progress } = outcome;
  const seconds = (performance.now() - progress.startedAt) / 1000;
  for (const result of outcome.partitions) {
    const partition = progress.partitions.get(result.partitionId);
    const partitionSeconds = partition?.startedAt && partition.finishedAt ? (partition.finishedAt - partition.startedAt) / 1000 : seconds;
    const from = result.chain
      ? `backups ${result.chain.map(({ backupId, nodeId }) => `${backupId} (node ${nodeId})`).join(', ')}`
      : `node ${result.nodeId}'s copy`;
    log.info(
      `Partition ${result.partitionId}: ${formatBytes(result.bytes)} written from ${from} in ` +
        `${partitionSeconds.toFixed(1)} s (${formatBytes(result.bytes / Math.max(partitionSeconds, 0.001))}/s).`,
      { partitionId: result.partitionId, bytes: result.bytes, seconds: Number(partitionSeconds.toFixed(3)) },
    );
  }
  const bytes = outcome.partitions.reduce((sum, result) => sum + result.bytes, 0);
  const peakMemoryBytes = peakResidentBytes();
  log.info(
    `Restored partitions ${outcome.partitions.map((result) => result.partitionId).join(', ')}: ${formatBytes(bytes)} in ` +
      `${seconds.toFixed(1)} s (${formatBytes(bytes / Math.max(seconds, 0.001))}/s), peak memory ${formatBytes(peakMemoryBytes)}.`,
    { bytes, seconds: Number(seconds.toFixed(3)), peakMemoryBytes },
  );
}

function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
