import { rm } from 'node:fs/promises';
import type { RestoreConfig } from '../config/restore-config.js';
import { asLocalStorageError, RestoreError } from '../errors.js';
import { describeTarget, describeTimeRange, type RestoreTarget } from '../chain/restore-target.js';
import type { Logger } from '../log/logger.js';
import { readRestoreRecord, type RestoreRecord } from './restore-record.js';
import { findStagingLeftover, isOwnerAlive, moveIntoPlace, type StagingOwner } from './workspace.js';

/**
 * Deals with what an earlier run left in the data directory, before the guard looks at it, so a
 * re-run never needs hand-cleaning: a killed run's staging area is removed, a commit cut short is
 * finished, and a node that already holds this restore is reported as done (Kubernetes restarts
 * init containers). Anything else stays for the guard to refuse.
 *
 * Returns the record when this node already holds the requested restore.
 */
export async function settlePreviousRun(
  config: RestoreConfig,
  target: RestoreTarget,
  partitionIds: number[],
  log: Logger,
): Promise<RestoreRecord | undefined> {
  const dataDirectory = config.dataDirectory;
  const [record, leftover] = await Promise.all([readRestoreRecord(dataDirectory), findStagingLeftover(dataDirectory)]).catch(
    (error: unknown) => {
      throw asLocalStorageError(error, 'inspect the data directory', dataDirectory);
    },
  );
  if (record) {
    requireSameRestore(record, config, target, partitionIds);
    if (leftover?.holdsPartitions) {
      await moveIntoPlace(dataDirectory).catch((error: unknown) => {
        throw asLocalStorageError(error, 'finish moving the restored partitions into', dataDirectory);
      });
      log.info(`Finished the restore of ${describeTarget(target)} that was interrupted while moving the partitions into place.`);
    } else if (leftover) {
      await rm(leftover.path, { recursive: true, force: true });
    }
    return record;
  }
  if (leftover) {
    if (leftover.owner && isOwnerAlive(leftover.owner)) {
      throw new RestoreError(
        'dataDirectoryNotEmpty',
        `Another restore (${describeOwner(leftover.owner)}) is writing to ${dataDirectory}. Wait for it to finish; ` +
          `if no restore is running, remove ${leftover.path} and run again.`,
      );
    }
    log.warn(
      `Removing the staging area of an interrupted restore` +
        (leftover.owner ? ` (${describeOwner(leftover.owner)})` : '') +
        `: ${leftover.path}.`,
    );
    await rm(leftover.path, { recursive: true, force: true }).catch((error: unknown) => {
      throw asLocalStorageError(error, 'remove', leftover.path);
    });
  }
  return undefined;
}

/**
 * Whether the record is of exactly this request: the same backup ids, the same time range, or an
 * RDBMS restore within the same time range (whatever the database holds now: brokers may have
 * exported more since).
 */
export function recordMatches(record: RestoreRecord, target: RestoreTarget): boolean {
  const byDatabase = record.exportedPositions !== undefined;
  const byTime = record.from !== undefined || record.to !== undefined;
  if (target.kind === 'backups') {
    return !byTime && !byDatabase && (record.backupIds ?? [record.backupId]).join() === target.backupIds.map(String).join();
  }
  return byDatabase === (target.kind === 'exportedPositions') && record.from === target.from?.iso && record.to === target.to?.iso;
}

/** `backup 5`, `backups 5, 6, 7`, or the time range and the backups it chose. */
export function describeRecord(record: RestoreRecord): string {
  const ids = record.backupIds ?? [record.backupId];
  const backups = ids.length === 1 ? `backup ${ids[0]}` : `backups ${ids.join(', ')}`;
  const range: { from?: { iso: string }; to?: { iso: string } } = {};
  if (record.from !== undefined) range.from = { iso: record.from };
  if (record.to !== undefined) range.to = { iso: record.to };
  const timeRange = record.from === undefined && record.to === undefined ? undefined : describeTimeRange(range);
  if (record.exportedPositions !== undefined) {
    const positions = Object.entries(record.exportedPositions).map(([partitionId, position]) => `${partitionId}=${position}`).join(', ');
    return `${backups} (chosen for the secondary database's exported positions ${positions}${timeRange ? ` within ${timeRange}` : ''})`;
  }
  return timeRange === undefined ? backups : `${backups} (chosen for ${timeRange})`;
}

function requireSameRestore(record: RestoreRecord, config: RestoreConfig, target: RestoreTarget, partitionIds: number[]): void {
  const refuse = (what: string) =>
    new RestoreError(
      'dataDirectoryNotEmpty',
      `Brokers's data directory ${config.dataDirectory} is not empty: it holds ${describeRecord(record)}, restored at ` +
        `${record.restoredAt} as node ${record.nodeId} (partitions ${record.partitions.join(', ')}). ${what} ` +
        `Aborting restore to avoid overwriting data. Please restart with a clean directory.`,
    );
  if (!recordMatches(record, target)) {
    const asked = describeTarget(target);
    throw refuse(`${asked.charAt(0).toUpperCase()}${asked.slice(1)} was asked for.`);
  }
  if (record.nodeId !== config.nodeId || record.partitions.join() !== partitionIds.join()) {
    throw refuse(
      `This run is configured as node ${config.nodeId} (partitions ${partitionIds.join(', ')}): check the node id.`,
    );
  }
}

function describeOwner(owner: StagingOwner): string {
  const what = /^\d+$/.test(owner.backupId) ? `backup ${owner.backupId}` : owner.backupId;
  return `process ${owner.pid} on ${owner.hostname}, ${what}, started ${owner.startedAt}`;
}
