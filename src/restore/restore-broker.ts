import { partitionsOwnedBy } from '../cluster/partition-layout.js';
import type { RestoreConfig } from '../config/restore-config.js';
import { checkDataDirectory } from '../datadir/guard.js';
import type { Logger } from '../log/logger.js';
import type { BackupStore } from '../store/backup-store.js';
import { abortReason, createLimiter, runAll } from '../util/concurrency.js';
import { findCompletedCopies } from './find-backup.js';
import { settlePreviousRun } from './previous-run.js';
import { type PartitionResult, restorePartition } from './restore-partition.js';
import type { RestoreRecord } from './restore-record.js';
import { planCopy } from './validate-copy.js';
import { RestoreWorkspace } from './workspace.js';

export interface RestoreRequest {
  config: RestoreConfig;
  backupId: bigint;
  store: BackupStore;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM; its reason is reported. */
  signal: AbortSignal;
  /** File transfers at once across all partitions; defaults to what the store serves well. */
  concurrency?: number;
  /** Written into the restore record. */
  agentVersion: string;
}

export type RestoreOutcome =
  | { kind: 'restored'; partitions: PartitionResult[] }
  /** An earlier run already restored this backup here; nothing was changed. */
  | { kind: 'alreadyRestored'; record: RestoreRecord };

/**
 * The whole restore of one broker node (restore-semantics.md §2): everything that can be checked
 * without writing is checked first; then all partitions restore in parallel into a staging area
 * that becomes the data directory's content in one rename, or is removed on any failure.
 */
export async function restoreBroker(request: RestoreRequest): Promise<RestoreOutcome> {
  const { config, backupId, store, log, signal } = request;
  const partitionIds = partitionsOwnedBy(config);
  log.info(
    `Restoring backup ${backupId} on node ${config.nodeId} of ${config.clusterSize} ` +
      `(partitions ${partitionIds.join(', ')} of ${config.partitionCount}) into ${config.dataDirectory} from the ${store.description}.`,
  );
  const record = await settlePreviousRun(config, backupId, partitionIds, log);
  if (record) return { kind: 'alreadyRestored', record };
  await checkDataDirectory(config.dataDirectory, config.restore.ignoreFilesInTarget);
  const expectedPartitions = config.restore.validateConfig ? config.partitionCount : undefined;
  const partitions = await findCompletedCopies(store, partitionIds, backupId, log, (copy) =>
    planCopy(copy, expectedPartitions),
  );
  signal.throwIfAborted();

  const workspace = await RestoreWorkspace.create(config.dataDirectory, backupId);
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', forwardAbort, { once: true });
  try {
    const limit = createLimiter(request.concurrency ?? store.maxConcurrentTransfers, controller.signal);
    const results = await runAll(
      partitions.map(({ copy, checked: plan }) => () =>
        restorePartition({
          store,
          copy,
          plan,
          directory: workspace.partitionDirectory(copy.ref.partitionId),
          limit,
          controller,
          log,
        }),
      ),
      controller,
    );
    signal.throwIfAborted();
    await workspace.commit({
      backupId: backupId.toString(),
      nodeId: config.nodeId,
      partitions: partitionIds,
      restoredAt: new Date().toISOString(),
      agentVersion: request.agentVersion,
    });
    return { kind: 'restored', partitions: results };
  } catch (error) {
    await workspace.discard();
    throw signal.aborted ? abortReason(signal, error) : error;
  } finally {
    signal.removeEventListener('abort', forwardAbort);
  }
}
