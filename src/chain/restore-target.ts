import type { RestoreConfig } from '../config/restore-config.js';
import type { Logger } from '../log/logger.js';
import type { BackupStore } from '../store/backup-store.js';
import type { Instant } from './instant.js';
import { loadPartitionCatalogs } from './partition-catalog.js';
import { type RestorePoint, resolveRestorePoint } from './restore-point.js';

/**
 * What the operator asked to restore: backup ids (one, or Zeebe 8.8's comma-separated chain, the
 * same for every partition), or Zeebe 8.9's time range (`--from`/`--to`).
 */
export type RestoreTarget = { kind: 'backups'; backupIds: bigint[] } | { kind: 'timeRange'; from?: Instant; to?: Instant };

export interface ResolvedTarget {
  /** Each partition this node restores, with its backup ids, oldest first. */
  chains: Map<number, bigint[]>;
  /** The backup whose checkpoint every restored log ends at. */
  restorePoint: bigint;
  /** Time-range restores: the choice per partition of the whole cluster, for the plan. */
  timeRange?: RestorePoint;
}

export function backupTarget(backupIds: bigint[]): RestoreTarget {
  return { kind: 'backups', backupIds: [...backupIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** `backup 5`, `backups 5, 6, 7`, `the time range --from=… --to=…`: for log lines and messages. */
export function describeTarget(target: RestoreTarget): string {
  if (target.kind === 'backups') {
    return target.backupIds.length === 1 ? `backup ${target.backupIds[0]}` : `backups ${target.backupIds.join(', ')}`;
  }
  return `the time range ${describeTimeRange(target)}`;
}

export function describeTimeRange({ from, to }: { from?: Pick<Instant, 'iso'>; to?: Pick<Instant, 'iso'> }): string {
  return [from ? `--from=${from.iso}` : undefined, to ? `--to=${to.iso}` : undefined].filter(Boolean).join(' ') || '(open)';
}

/**
 * Turns the request into the backups each partition restores. A time range is resolved over every
 * partition of the cluster, not only this node's, so that all nodes arrive at the same restore point.
 */
export async function resolveTarget(
  store: BackupStore,
  config: RestoreConfig,
  partitionIds: number[],
  target: RestoreTarget,
  log: Logger,
): Promise<ResolvedTarget> {
  if (target.kind === 'backups') {
    return {
      chains: new Map(partitionIds.map((partitionId) => [partitionId, target.backupIds])),
      restorePoint: target.backupIds.at(-1)!,
    };
  }
  const allPartitions = Array.from({ length: config.partitionCount }, (_, i) => i + 1);
  const catalogs = await loadPartitionCatalogs(store, allPartitions, log);
  const point = resolveRestorePoint(catalogs, target);
  const chains = new Map(
    point.chains
      .filter((chain) => partitionIds.includes(chain.partitionId))
      .map((chain) => [chain.partitionId, chain.backups.map((backup) => backup.checkpointId)]),
  );
  log.info(
    `${describeTimeRange(target)}: restore point is checkpoint ${point.checkpointId} (${point.timestamp.iso}), common to all ` +
      `${config.partitionCount} partitions; ` +
      [...chains].map(([partitionId, ids]) => `partition ${partitionId} from backup${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`).join('; ') +
      ` (per ${[...new Set(point.chains.map((chain) => chain.source))].join(', ')}).`,
  );
  return { chains, restorePoint: point.checkpointId, timeRange: point };
}
