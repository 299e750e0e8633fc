import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeTarget, resolveTarget, type RestoreTarget } from '../chain/restore-target.js';
import { expectedMembersOf, partitionsOwnedBy } from '../cluster/partition-layout.js';
import type { RestoreConfig } from '../config/restore-config.js';
import { checkDataDirectory } from '../datadir/guard.js';
import { asLocalStorageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BackupStore } from '../store/backup-store.js';
import { brokerWritesTopologyFile, topologyFileName } from '../topology/topology-file-name.js';
import { abortReason, createLimiter, runAll } from '../util/concurrency.js';
import { TransferProgress } from '../progress/transfer-progress.js';
import { settlePreviousRun } from './previous-run.js';
import { checkRestoredLayout } from './broker-readiness.js';
import { restoreChain } from './restore-chain.js';
import { type PartitionResult, restorePartition } from './restore-partition.js';
import type { RestoreRecord } from './restore-record.js';
import { filesOfChain, type PartitionPlan, planPartitions } from './restore-plan.js';
import { warnIfZstdDecodesSlowly } from './transfer-file.js';
import { RestoreWorkspace } from './workspace.js';

export interface RestoreRequest {
  config: RestoreConfig;
  /** What to restore: backup ids (one, or a chain) or a time range. */
  target: RestoreTarget;
  store: BackupStore;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM; its reason is reported. */
  signal: AbortSignal;
  /** File transfers at once across all partitions; defaults to what the store serves well. */
  concurrency?: number;
  /** Written into the restore record. */
  agentVersion: string;
  /** Called once the plan is known, before the first byte is transferred. */
  onProgress?: (progress: TransferProgress) => void;
}

export type RestoreOutcome =
  | {
      kind: 'restored';
      partitions: PartitionResult[];
      progress: TransferProgress;
      /** The backup whose checkpoint the restored logs end at. */
      restorePoint: bigint;
      /** Node 0 of an 8.8+ cluster: the topology file written. */
      topologyFile?: string;
    }
  /** An earlier run already restored this backup here; nothing was changed. */
  | { kind: 'alreadyRestored'; record: RestoreRecord };

/**
 * The whole restore of one broker node (restore-semantics.md §2): everything that can be checked
 * without writing is checked first; then all partitions restore in parallel into a staging area
 * that becomes the data directory's content in one rename, or is removed on any failure.
 */
export async function restoreBroker(request: RestoreRequest): Promise<RestoreOutcome> {
  const { config, target, store, log, signal } = request;
  const partitionIds = partitionsOwnedBy(config);
  log.info(
    `Restoring ${describeTarget(target)} on node ${config.nodeId} of ${config.clusterSize} ` +
      `(partitions ${partitionIds.join(', ')} of ${config.partitionCount}) into ${config.dataDirectory} from the ${store.description}.`,
  );
  const record = await settlePreviousRun(config, target, partitionIds, log);
  if (record) return { kind: 'alreadyRestored', record };
  await checkDataDirectory(config.dataDirectory, config.restore.ignoreFilesInTarget);
  const resolved = await resolveTarget(store, config, partitionIds, target, log);
  const partitions = await planPartitions(store, config, resolved.chains, log);
  warnIfZstdDecodesSlowly(partitions.flatMap(({ chain }) => filesOfChain(chain).map(({ file }) => file.compression)), log);
  const progress = new TransferProgress(new Map(partitions.map(({ partitionId, storedBytes }) => [partitionId, storedBytes])));
  request.onProgress?.(progress);
  const trackedStore = progress.track(store);
  signal.throwIfAborted();

  const workspace = await RestoreWorkspace.create(config.dataDirectory, describeTarget(target));
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', forwardAbort, { once: true });
  try {
    const limit = createLimiter(request.concurrency ?? store.maxConcurrentTransfers, controller.signal);
    const results = await runAll(
      partitions.map(({ partitionId, chain }) => async () => {
        const job = { store: trackedStore, directory: workspace.partitionDirectory(partitionId), limit, controller, log, expectedMembers: expectedMembersOf(config, partitionId) };
        const result = chain.length === 1 ? await restorePartition({ ...job, copy: chain[0]!.copy, plan: chain[0]!.plan, storedSizes: chain[0]!.storedSizes }) : await restoreChain({ ...job, chain });
        progress.finished(partitionId);
        return result;
      }),
      controller,
    );
    signal.throwIfAborted();
    const topologyFile = await writeTopologyFile(config, partitions, workspace.topologyFile, log);
    await checkRestoredLayout(
      config.nodeId,
      results.map(({ partitionId, snapshotId }) => ({ partitionId, directory: workspace.partitionDirectory(partitionId), ...(snapshotId ? { snapshotId } : {}) })),
      topologyFile && workspace.topologyFile,
    );
    const chainIds = [...new Set(partitions.flatMap(({ chain }) => chain.map((link) => link.copy.ref.checkpointId)))].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    const restoreRecord: RestoreRecord = {
      backupId: resolved.restorePoint.toString(),
      nodeId: config.nodeId,
      partitions: partitionIds,
      restoredAt: new Date().toISOString(),
      agentVersion: request.agentVersion,
    };
    if (target.kind === 'backups' ? target.backupIds.length > 1 : chainIds.length > 1) restoreRecord.backupIds = chainIds.map(String);
    if (target.kind !== 'backups') {
      if (target.from) restoreRecord.from = target.from.iso;
      if (target.to) restoreRecord.to = target.to.iso;
    }
    const exported = resolved.timeRange?.chains.filter((chain) => chain.exportedPosition !== undefined);
    if (target.kind === 'exportedPositions' && exported) {
      restoreRecord.exportedPositions = Object.fromEntries(exported.map((chain) => [String(chain.partitionId), String(chain.exportedPosition)]));
    }
    await workspace.commit(restoreRecord);
    return {
      kind: 'restored',
      partitions: results,
      progress,
      restorePoint: resolved.restorePoint,
      ...(topologyFile ? { topologyFile } : {}),
    };
  } catch (error) {
    await workspace.discard();
    throw signal.aborted ? abortReason(signal, error) : error;
  } finally {
    signal.removeEventListener('abort', forwardAbort);
  }
}

/**
 * Node 0 of a cluster restored from 8.8+ backups gets the `.topology.meta` Zeebe's restore writes
 * (see topology/cluster-topology.ts), staged with the partitions. Returns its final path.
 */
async function writeTopologyFile(config: RestoreConfig, partitions: PartitionPlan[], staged: string, log: Logger): Promise<string | undefined> {
  if (config.nodeId !== 0) return undefined;
  const versions = partitions.map(({ chain }) => chain.at(-1)!.copy.manifest.descriptor?.brokerVersion);
  if (!versions.some(brokerWritesTopologyFile)) return undefined;
  // Loaded only here: protobufjs is not needed by anything else.
  const { encodeTopologyFile, restoredClusterTopology } = await import('../topology/cluster-topology.js');
  const file = encodeTopologyFile(restoredClusterTopology(config, new Date()));
  await writeFile(staged, file, { flush: true }).catch((error: unknown) => {
    throw asLocalStorageError(error, 'write', staged);
  });
  const finalPath = join(config.dataDirectory, topologyFileName);
  log.info(
    `Node 0 of a Zeebe ${versions.find(brokerWritesTopologyFile)} cluster: wrote the cluster topology (${config.clusterSize} brokers, ` +
      `${config.partitionCount} partitions, replication factor ${config.replicationFactor}) to ${finalPath}, as Zeebe's restore does.`,
  );
  return finalPath;
}
