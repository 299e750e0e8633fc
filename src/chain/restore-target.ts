import type { RestoreConfig } from '../config/restore-config.js';
import type { Logger } from '../log/logger.js';
import { readExportedPositions } from '../rdbms/exported-positions.js';
import type { BackupStore } from '../store/backup-store.js';
import { resolveExportedPositionPoint } from './exported-position-point.js';
import type { Instant } from './instant.js';
import { loadPartitionCatalogs } from './partition-catalog.js';
import { type RestorePoint, resolveRestorePoint } from './restore-point.js';

/**
 * What the operator asked to restore: backup ids (one, or Zeebe 8.8's comma-separated chain, the
 * same for every partition), Zeebe 8.9's time range (`--from`/`--to`), or, with an RDBMS as
 * secondary storage and no backup id, the point the database was restored to (its exported
 * positions), optionally within `--from`/`--to`.
 */
export type RestoreTarget =
  | { kind: 'backups'; backupIds: bigint[] }
  | { kind: 'timeRange'; from?: Instant; to?: Instant }
  | { kind: 'exportedPositions'; from?: Instant; to?: Instant };

export interface ResolvedTarget {
  /** Each partition this node restores, with its backup ids, oldest first. */
  chains: Map<number, bigint[]>;
  /** The backup whose checkpoint every restored log ends at. */
  restorePoint: bigint;
  /** Time-range and RDBMS restores: the choice per partition of the whole cluster, for the plan. */
  timeRange?: RestorePoint;
  /** RDBMS restores: where the exported positions were read. */
  exportedPositionsSource?: string;
}

export function backupTarget(backupIds: bigint[]): RestoreTarget {
  return { kind: 'backups', backupIds: [...backupIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** `backup 5`, `backups 5, 6, 7`, `the time range --from=… --to=…`: for log lines and messages. */
export function describeTarget(target: RestoreTarget): string {
  if (target.kind === 'backups') {
    return target.backupIds.length === 1 ? `backup ${target.backupIds[0]}` : `backups ${target.backupIds.join(', ')}`;
  }
  if (target.kind === 'timeRange') return `the time range ${describeTimeRange(target)}`;
  const range = target.from || target.to ? ` within ${describeTimeRange(target)}` : '';
  return `the exported positions of the secondary database${range}`;
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
  if (target.kind === 'exportedPositions') return resolveExportedPositions(store, config, allPartitions, partitionIds, target, log);
  const catalogs = await loadPartitionCatalogs(store, allPartitions, log);
  const point = resolveRestorePoint(catalogs, target);
  const chains = chainsOf(point, partitionIds);
  log.info(
    `${describeTimeRange(target)}: restore point is checkpoint ${point.checkpointId} (${point.timestamp.iso}), common to all ` +
      `${config.partitionCount} partitions; ` +
      [...chains].map(([partitionId, ids]) => `partition ${partitionId} from backup${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`).join('; ') +
      ` (per ${[...new Set(point.chains.map((chain) => chain.source))].join(', ')}).`,
  );
  return { chains, restorePoint: point.checkpointId, timeRange: point };
}

/** This node's partitions and their backup ids, oldest first. */
function chainsOf(point: RestorePoint, partitionIds: number[]): Map<number, bigint[]> {
  return new Map(
    point.chains
      .filter((chain) => partitionIds.includes(chain.partitionId))
      .map((chain) => [chain.partitionId, chain.backups.map((backup) => backup.checkpointId)]),
  );
}

/**
 * Zeebe 8.9's `RestoreManager.restoreRdbms`: the exported positions of every partition from the
 * database, then the backup metadata of every partition, then the resolver. The log lines are Zeebe's.
 */
async function resolveExportedPositions(
  store: BackupStore,
  config: RestoreConfig,
  allPartitions: number[],
  partitionIds: number[],
  target: Extract<RestoreTarget, { kind: 'exportedPositions' }>,
  log: Logger,
): Promise<ResolvedTarget> {
  if (config.secondaryStorage.type !== 'rdbms') throw new Error('an exported-positions restore needs an RDBMS secondary storage');
  const { source, positions } = await readExportedPositions(config.secondaryStorage, allPartitions);
  log.info(`Exported positions for all partitions: {${[...positions].map(([partitionId, position]) => `${partitionId}=${position}`).join(', ')}} (read from ${source}).`);
  const catalogs = await loadPartitionCatalogs(store, allPartitions, log);
  const point = resolveExportedPositionPoint(catalogs, { ...target, exportedPositions: positions });
  const everyChain = point.chains.map(({ partitionId, backups }) => `${partitionId}=[${backups.map((backup) => backup.checkpointId).join(', ')}]`);
  log.info(
    `Restoring RDBMS backups in range [${target.from?.iso ?? 'null'},${target.to?.iso ?? 'null'}] to global checkpoint ${point.checkpointId}: ` +
      `{${everyChain.join(', ')}} (per ${[...new Set(point.chains.map((chain) => chain.source))].join(', ')}).`,
  );
  // Each log ends at its last backup's checkpoint: the common checkpoint, or the first backup after it when that is a MARKER.
  const restorePoint = point.chains.map(({ backups }) => backups.at(-1)!.checkpointId).reduce((latest, id) => (id > latest ? id : latest));
  return { chains: chainsOf(point, partitionIds), restorePoint, timeRange: point, exportedPositionsSource: source };
}
