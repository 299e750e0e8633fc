import { describeBackup, listBackups } from '../../backups/backup-catalog.js';
import { type BackupStatus, backupStatusJson } from '../../backups/backup-status.js';
import { BackupNotFoundError, ExitCode, UsageError } from '../../errors.js';
import { parseBackupSelector } from '../backup-id.js';
import { type CommandContext, resolveBackupId, withStore } from '../context.js';
import { renderTable, snapshotPositionCells, snapshotPositionHeaders } from '../table.js';

/**
 * `list [<prefix>*]`: what `GET actuator/backups` reports, computed from the store. The default
 * output is a table; `--json` prints the management API's response body.
 */
export async function listCommand(context: CommandContext, pattern: string | undefined, json: boolean): Promise<number> {
  const prefix = parsePrefix(pattern);
  const statuses = await withStore(context, (store) => listBackups(store, context.loaded.config.partitionCount, prefix));
  if (json) {
    process.stdout.write(`${JSON.stringify(statuses.map(backupStatusJson), null, 2)}\n`);
  } else if (statuses.length === 0) {
    process.stdout.write(`No backups${prefix ? ` with an id starting with ${prefix}` : ''}.\n`);
  } else {
    const rows = statuses.map((status) => [
      status.backupId.toString(),
      status.state,
      summarizePartitions(status),
      latestUpdate(status) ?? '',
      status.failureReason ?? '',
    ]);
    process.stdout.write(`${renderTable(['Backup', 'State', 'Partitions', 'Last updated', 'Failure'], rows)}\n`);
  }
  return ExitCode.success;
}

/** `describe <backupId>`: what `GET actuator/backups/{id}` reports; exit code 4 when it does not exist. */
export async function describeCommand(context: CommandContext, backupIdArgument: string, json: boolean): Promise<number> {
  const selector = parseBackupSelector(backupIdArgument);
  const status = await withStore(context, async (store) =>
    describeBackup(store, context.loaded.config.partitionCount, await resolveBackupId(selector, store, context)),
  );
  if (status.state === 'DOES_NOT_EXIST') throw new BackupNotFoundError(`Backup with id ${status.backupId} does not exist`);
  if (json) {
    process.stdout.write(`${JSON.stringify(backupStatusJson(status), null, 2)}\n`);
    return ExitCode.success;
  }
  const rows = status.details.map((detail) => [
    String(detail.partitionId),
    detail.state,
    detail.brokerId === undefined ? '' : `node ${detail.brokerId}`,
    detail.brokerVersion ?? '',
    detail.snapshotId ?? '',
    ...snapshotPositionCells(detail.snapshotId),
    detail.checkpointPosition?.toString() ?? '',
    detail.createdAt ?? '',
    detail.lastUpdatedAt ?? '',
    detail.failureReason ?? '',
  ]);
  process.stdout.write(
    [
      `Backup ${status.backupId}: ${status.state}${status.failureReason ? ` (${status.failureReason.trim()})` : ''}`,
      '',
      renderTable(['Partition', 'State', 'Taken by', 'Broker', 'Snapshot', ...snapshotPositionHeaders, 'Checkpoint', 'Created', 'Last updated', 'Failure'], rows),
      '',
    ].join('\n'),
  );
  return ExitCode.success;
}

/** `10*` lists ids starting with 10, as the management API's prefix filter does. */
function parsePrefix(pattern: string | undefined): string {
  if (pattern === undefined || pattern === '*') return '';
  const match = /^(\d+)\*$/.exec(pattern);
  if (!match) throw new UsageError(`list takes an id prefix followed by '*' (for example 10*), got '${pattern}'.`);
  return match[1]!;
}

function summarizePartitions(status: BackupStatus): string {
  const counts = new Map<string, number>();
  for (const detail of status.details) counts.set(detail.state, (counts.get(detail.state) ?? 0) + 1);
  return [...counts.entries()].map(([state, count]) => `${count} ${state}`).join(', ');
}

function latestUpdate(status: BackupStatus): string | undefined {
  return status.details
    .map((detail) => detail.lastUpdatedAt ?? detail.createdAt)
    .filter((time): time is string => time !== undefined)
    .sort((a, b) => Date.parse(a) - Date.parse(b))
    .pop();
}
