import { rm } from 'node:fs/promises';
import type { RestoreConfig } from '../config/restore-config.js';
import { asLocalStorageError, RestoreError } from '../errors.js';
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
  backupId: bigint,
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
    requireSameRestore(record, config, backupId, partitionIds);
    if (leftover?.holdsPartitions) {
      await moveIntoPlace(dataDirectory).catch((error: unknown) => {
        throw asLocalStorageError(error, 'finish moving the restored partitions into', dataDirectory);
      });
      log.info(`Finished the restore of backup ${backupId} that was interrupted while moving the partitions into place.`);
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

function requireSameRestore(record: RestoreRecord, config: RestoreConfig, backupId: bigint, partitionIds: number[]): void {
  const refuse = (what: string) =>
    new RestoreError(
      'dataDirectoryNotEmpty',
      `Brokers's data directory ${config.dataDirectory} is not empty: it holds backup ${record.backupId}, restored at ` +
        `${record.restoredAt} as node ${record.nodeId} (partitions ${record.partitions.join(', ')}). ${what} ` +
        `Aborting restore to avoid overwriting data. Please restart with a clean directory.`,
    );
  if (record.backupId !== backupId.toString()) throw refuse(`Backup ${backupId} was asked for.`);
  if (record.nodeId !== config.nodeId || record.partitions.join() !== partitionIds.join()) {
    throw refuse(
      `This run is configured as node ${config.nodeId} (partitions ${partitionIds.join(', ')}): check the node id.`,
    );
  }
}

function describeOwner(owner: StagingOwner): string {
  return `process ${owner.pid} on ${owner.hostname}, backup ${owner.backupId}, started ${owner.startedAt}`;
}
