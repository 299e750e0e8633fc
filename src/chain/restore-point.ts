import { BackupNotFoundError, BackupInvalidError } from '../errors.js';
import type { Instant } from './instant.js';
import { type BackupRange, type CheckpointInfo, compare, followsWithoutGap, isBackupCheckpoint, type PartitionCatalog } from './partition-catalog.js';

/**
 * Choosing what `--from`/`--to` restore, after Zeebe 8.9's `RestorePointResolver`:
 *
 * - The restore point is a checkpoint id that every partition has a backup for, in a backup range
 *   (backups whose logs follow each other without a gap); each partition's log ends at that
 *   backup's checkpoint. Among the first partition's backups, the newest one taken at or before
 *   `--to` that qualifies wins (without `--to`: the newest that qualifies).
 * - `--from` picks, per partition, the range: it must start at or before `--from`. The chain then
 *   starts at the newest backup of that range taken at or before `--from`, so the restored log
 *   covers everything from `--from` on; without `--from` the chain is the restore point's backup alone.
 *
 * Where this differs from Zeebe: Zeebe takes the checkpoint *closest* to `--to` (possibly after
 * it) and starts every chain at its range's first backup; here nothing after `--to` is restored and
 * no more log is copied than `--from` asks for. MARKER checkpoints are not restore points, since
 * Zeebe's restore ends a partition's log at a backup's checkpoint in either case.
 */
export interface TimeRange {
  from?: Instant;
  to?: Instant;
}

export interface PartitionChain {
  partitionId: number;
  /** Oldest first: the first backup's snapshot, then every backup's log up to its checkpoint. */
  backups: CheckpointInfo[];
  range: BackupRange;
  /** Where the catalog came from (metadata file or manifests). */
  source: string;
  /** RDBMS restores: the partition's exported position the chain was chosen for. */
  exportedPosition?: bigint;
}

export interface RestorePoint {
  checkpointId: bigint;
  /** As the first partition recorded it. */
  timestamp: Instant;
  chains: PartitionChain[];
}

interface Rejection {
  partitionId: number;
  reason: string;
}

export function resolveRestorePoint(catalogs: PartitionCatalog[], range: TimeRange): RestorePoint {
  const [first] = catalogs;
  if (!first) throw new Error('resolveRestorePoint needs at least one partition');
  const { from, to } = range;
  const candidates = first.checkpoints
    .filter(isBackupCheckpoint)
    .filter((checkpoint) => !to || checkpoint.timestamp.nanos <= to.nanos)
    .sort((a, b) => compare(b.timestamp.nanos, a.timestamp.nanos) || compare(b.checkpointId, a.checkpointId));
  const rejections: { checkpoint: CheckpointInfo; rejection: Rejection }[] = [];
  for (const candidate of candidates) {
    const chains: PartitionChain[] = [];
    let rejection: Rejection | undefined;
    for (const catalog of catalogs) {
      const chain = chainTo(catalog, candidate.checkpointId, from);
      if ('reason' in chain) {
        rejection = chain;
        break;
      }
      chains.push(chain);
    }
    if (!rejection) return { checkpointId: candidate.checkpointId, timestamp: candidate.timestamp, chains };
    rejections.push({ checkpoint: candidate, rejection });
  }
  throw new BackupNotFoundError(noRestorePointMessage(catalogs, range, rejections));
}

function chainTo(catalog: PartitionCatalog, checkpointId: bigint, from: Instant | undefined): PartitionChain | Rejection {
  const { partitionId } = catalog;
  const backups = catalog.checkpoints.filter(isBackupCheckpoint);
  const target = backups.find((backup) => backup.checkpointId === checkpointId);
  if (!target) return { partitionId, reason: `partition ${partitionId} has no backup ${checkpointId}` };
  const range = catalog.ranges.find((candidate) => candidate.start <= checkpointId && checkpointId <= candidate.end);
  if (!range) return { partitionId, reason: `backup ${checkpointId} of partition ${partitionId} is in no backup range` };
  const members = backups.filter((backup) => range.start <= backup.checkpointId && backup.checkpointId <= checkpointId);
  const start = members[0];
  if (!start || start.checkpointId !== range.start) {
    return { partitionId, reason: `partition ${partitionId} lacks backup ${range.start}, the start of the range ${describeRange(range)}` };
  }
  let chain = [target];
  if (from) {
    if (start.timestamp.nanos > from.nanos) {
      return {
        partitionId,
        reason: `the backups of partition ${partitionId} up to ${checkpointId} go back without a gap only to backup ${start.checkpointId}, taken ${start.timestamp.iso}, after --from`,
      };
    }
    const firstNeeded = members.filter((backup) => backup.timestamp.nanos <= from.nanos).at(-1)!;
    chain = members.filter((backup) => backup.checkpointId >= firstNeeded.checkpointId);
  }
  for (let i = 1; i < chain.length; i++) {
    const [earlier, later] = [chain[i - 1]!, chain[i]!];
    if (later.firstLogPosition !== undefined && !followsWithoutGap(earlier, later)) {
      throw new BackupInvalidError(
        `Partition ${partitionId}: ${catalog.source} puts backups ${earlier.checkpointId} and ${later.checkpointId} in one range, but backup ` +
          `${later.checkpointId}'s log starts at position ${later.firstLogPosition}, after backup ${earlier.checkpointId}'s checkpoint position ` +
          `${earlier.checkpointPosition} + 1: there is a gap between them.`,
      );
    }
  }
  return { partitionId, backups: chain, range, source: catalog.source };
}

export function describeRange(range: BackupRange): string {
  return range.start === range.end ? `[${range.start}]` : `[${range.start} … ${range.end}]`;
}

function noRestorePointMessage(
  catalogs: PartitionCatalog[],
  { from, to }: TimeRange,
  rejections: { checkpoint: CheckpointInfo; rejection: Rejection }[],
): string {
  const asked = [from ? `--from=${from.iso}` : undefined, to ? `--to=${to.iso}` : undefined].filter(Boolean).join(' ');
  const lines = [`No restore point fits ${asked || 'the request'}: no backup is restorable on every partition.`];
  const [first] = catalogs;
  if (rejections.length === 0 && first) {
    const backups = first.checkpoints.filter(isBackupCheckpoint);
    lines.push(
      backups.length === 0
        ? `Partition ${first.partitionId} has no backups (per ${first.source}).`
        : `The first backup of partition ${first.partitionId} is ${backups[0]!.checkpointId}, taken ${backups[0]!.timestamp.iso}; none was taken at or before --to.`,
    );
  }
  for (const { checkpoint, rejection } of rejections.slice(0, 5)) {
    lines.push(`Backup ${checkpoint.checkpointId} (${checkpoint.timestamp.iso}): ${rejection.reason}.`);
  }
  if (rejections.length > 5) lines.push(`… and ${rejections.length - 5} older backups for similar reasons.`);
  for (const catalog of catalogs) {
    const ranges = catalog.ranges.map(describeRange).join(', ') || 'none';
    lines.push(`Partition ${catalog.partitionId}: backup ranges ${ranges} (from ${catalog.source}).`);
  }
  return lines.join('\n');
}
