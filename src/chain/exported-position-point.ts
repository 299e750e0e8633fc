import { BackupInvalidError, BackupNotFoundError } from '../errors.js';
import type { Instant } from './instant.js';
import { type BackupRange, type CheckpointInfo, compare, isBackupCheckpoint, type PartitionCatalog } from './partition-catalog.js';
import { describeRange, type PartitionChain, type RestorePoint } from './restore-point.js';

/**
 * Choosing what an RDBMS restore restores, exactly as Zeebe 8.9's `RestorePointResolver.resolve`
 * does with exported positions (camunda/camunda `zeebe/restore`, with the -1 fix #47611 and the
 * trimming of #48185/#48702), so that every broker's log continues from what the restored
 * database has already seen:
 *
 * 1. Per partition, the first backup range that starts at or before `--from` and whose positions
 *    (first log position of its first backup … checkpoint position of its last) cover the exported
 *    position; -1 (nothing exported yet) counts as 1 here. Its checkpoints (MARKERs included) are
 *    the partition's candidates.
 * 2. The common checkpoint: of the first partition's candidates, latest first (with `--to`: closest
 *    to it first, before or after), the first that every partition has as a candidate at a
 *    checkpoint position at or beyond its exported position.
 * 3. Per partition, its backups (not MARKERs) from the range's start up to the first one at or
 *    after the common checkpoint, each continuing the previous one's log.
 * 4. Trimmed: with `--from`, backups taken before it are dropped (one always stays); otherwise
 *    every backup before the last one whose checkpoint position is at or below the exported
 *    position, whose snapshot is then the safe starting point. Partitions may start at different backups.
 *
 * Failures carry Zeebe's message, then what the store holds.
 */
export interface ExportedPositionRequest {
  from?: Instant;
  to?: Instant;
  /** Per partition; every catalog's partition has one. */
  exportedPositions: Map<number, bigint>;
}

interface RestorableCheckpoints {
  catalog: PartitionCatalog;
  range: BackupRange;
  /** The range's checkpoints by position, in the catalog's order (ascending id). */
  checkpoints: CheckpointInfo[];
}

export function resolveExportedPositionPoint(catalogs: PartitionCatalog[], request: ExportedPositionRequest): RestorePoint {
  if (catalogs.length === 0) throw new Error('resolveExportedPositionPoint needs at least one partition');
  const positionOf = (catalog: PartitionCatalog) => request.exportedPositions.get(catalog.partitionId);
  const restorable = catalogs.map((catalog) => restorableCheckpoints(catalog, request.from, positionOf(catalog)));
  const common = commonCheckpoint(restorable, request);
  const chains = restorable.map((partition): PartitionChain => {
    const exportedPosition = positionOf(partition.catalog);
    const backups = trimmed(requiredBackups(partition, common.checkpointId), request.from, exportedPosition);
    return {
      partitionId: partition.catalog.partitionId,
      backups,
      range: partition.range,
      source: partition.catalog.source,
      ...(exportedPosition === undefined ? {} : { exportedPosition }),
    };
  });
  return { checkpointId: common.checkpointId, timestamp: common.timestamp, chains };
}

/** Java's `RangeEntry` record as Zeebe's messages print it. */
const javaRange = ({ start, end }: BackupRange) => `RangeEntry[start=${start}, end=${end}]`;

/** Zeebe's `getFirstLogPositionOrDefault()`: a MARKER, or a backup of a broker before 8.9, has none. */
const firstLogPositionOf = (checkpoint: CheckpointInfo) => checkpoint.firstLogPosition ?? 0n;

const byId = (checkpoints: CheckpointInfo[], checkpointId: bigint) => checkpoints.find((checkpoint) => checkpoint.checkpointId === checkpointId);

function restorableCheckpoints(catalog: PartitionCatalog, from: Instant | undefined, exportedPosition: bigint | undefined): RestorableCheckpoints {
  const { partitionId, checkpoints, ranges } = catalog;
  // An exported position of -1 means nothing was exported yet: the log must cover position 1.
  const effective = exportedPosition !== undefined && exportedPosition < 0n ? 1n : exportedPosition;
  for (const range of ranges) {
    const start = byId(checkpoints, range.start);
    const end = byId(checkpoints, range.end);
    if (!start || !end) {
      throw new BackupInvalidError(
        `Could not find checkpoint info for range ${javaRange(range)} in partition ${partitionId}. Number of available checkpoints: ${checkpoints.length} ` +
          `(${catalog.source} lists a backup range whose first or last checkpoint it does not list).`,
      );
    }
    if (from && start.timestamp.nanos > from.nanos) continue;
    if (effective !== undefined && (firstLogPositionOf(start) > effective || end.checkpointPosition < effective)) continue;
    return {
      catalog,
      range,
      checkpoints: checkpoints.filter(
        (checkpoint) => checkpoint.checkpointPosition >= firstLogPositionOf(start) && checkpoint.checkpointPosition <= end.checkpointPosition,
      ),
    };
  }
  throw new BackupNotFoundError(
    `No usable range found for partition ${partitionId} with from=${from?.iso ?? 'null'}, exportedPosition=${effective ?? 'null'}. ` +
      `Available ranges: [${ranges.map(javaRange).join(', ')}]\n${describeRanges(catalog)}`,
  );
}

function commonCheckpoint(restorable: RestorableCheckpoints[], { to, exportedPositions }: ExportedPositionRequest): CheckpointInfo {
  const [first] = restorable as [RestorableCheckpoints, ...RestorableCheckpoints[]];
  const distance = (checkpoint: CheckpointInfo) => {
    const difference = checkpoint.timestamp.nanos - to!.nanos;
    return difference < 0n ? -difference : difference;
  };
  // Array.prototype.sort is stable, like Java's: checkpoints as close to --to keep ascending ids.
  const candidates = to === undefined ? [...first.checkpoints].reverse() : [...first.checkpoints].sort((a, b) => compare(distance(a), distance(b)));
  const qualifies = (candidate: CheckpointInfo) =>
    restorable.every(({ catalog, checkpoints }) => {
      const info = byId(checkpoints, candidate.checkpointId);
      const exportedPosition = exportedPositions.get(catalog.partitionId);
      return info !== undefined && (exportedPosition === undefined || info.checkpointPosition >= exportedPosition);
    });
  const common = candidates.find(qualifies);
  if (common) return common;
  const counts = restorable.map(({ catalog, checkpoints }) => `${catalog.partitionId}=${checkpoints.length}`).join(', ');
  const details = restorable.map(({ catalog, range, checkpoints }) => {
    const position = exportedPositions.get(catalog.partitionId);
    const listed = checkpoints.map((checkpoint) => `${checkpoint.checkpointId} at ${checkpoint.checkpointPosition}`).join(', ');
    return `Partition ${catalog.partitionId}${position === undefined ? '' : ` (exported position ${position})`}: range ${describeRange(range)} has checkpoints ${listed || 'none'} (per ${catalog.source}).`;
  });
  throw new BackupNotFoundError(
    `Could not find common checkpoint across partitions. Restorable checkpoint count per partition: {${counts}}\n` +
      `No checkpoint is in every partition's range at or beyond its exported position${to ? ` (tried closest to --to=${to.iso} first)` : ''}:\n${details.join('\n')}`,
  );
}

function requiredBackups({ catalog, checkpoints }: RestorableCheckpoints, commonCheckpointId: bigint): CheckpointInfo[] {
  const { partitionId } = catalog;
  const backups: CheckpointInfo[] = [];
  for (const checkpoint of checkpoints) {
    if (!isBackupCheckpoint(checkpoint)) continue;
    const previous = backups.at(-1);
    if (previous && firstLogPositionOf(checkpoint) > previous.checkpointPosition + 1n) {
      // Zeebe's message puts the checkpoint position where it says "first log position"; kept as Zeebe prints it.
      throw new BackupInvalidError(
        `Unexpected data gaps between backup ${checkpoint.checkpointId} with first log position ${checkpoint.checkpointPosition} and backup ` +
          `${previous.checkpointId} with checkpoint position ${previous.checkpointPosition}. Partition ${partitionId}: backup ${checkpoint.checkpointId}'s ` +
          `log starts at position ${firstLogPositionOf(checkpoint)}, after position ${previous.checkpointPosition + 1n}, yet ${catalog.source} puts both in one range.`,
      );
    }
    backups.push(checkpoint);
    if (checkpoint.checkpointId >= commonCheckpointId) break;
  }
  const last = backups.at(-1);
  if (!last) {
    throw new BackupNotFoundError(
      `Partition ${partitionId} has no backup in its restorable range up to the common checkpoint ${commonCheckpointId}, only MARKER checkpoints (per ${catalog.source}).`,
    );
  }
  if (last.checkpointId < commonCheckpointId) {
    throw new BackupNotFoundError(
      `Last restorable backup ${last.checkpointId} for partition ${partitionId} does not cover the common checkpoint ${commonCheckpointId} (per ${catalog.source}).`,
    );
  }
  return backups;
}

/**
 * Drops the backups a restore does not need (Zeebe's `discardUnnecessaryBackups`). With `--from`,
 * only `--from` counts, because the operator asked for it; the raw exported position is used, so
 * -1 trims nothing.
 */
function trimmed(backups: CheckpointInfo[], from: Instant | undefined, exportedPosition: bigint | undefined): CheckpointInfo[] {
  if (from) {
    const kept = [...backups];
    while (kept.length > 1 && kept[0]!.timestamp.nanos < from.nanos) kept.shift();
    const first = kept[0]!;
    if (exportedPosition !== undefined && first.checkpointPosition > exportedPosition) {
      throw new BackupNotFoundError(
        `After discarding backups before ${from.iso}, the exporter position ${exportedPosition} is not covered by the first remaining backup ` +
          `${first.checkpointId} (checkpoint position ${first.checkpointPosition}, taken ${first.timestamp.iso}): --from is later than what the database holds.`,
      );
    }
    return kept;
  }
  if (exportedPosition === undefined) return backups;
  let lastAtOrBelow = -1;
  for (const [i, backup] of backups.entries()) {
    if (backup.checkpointPosition > exportedPosition) break;
    lastAtOrBelow = i;
  }
  return lastAtOrBelow > 0 ? backups.slice(lastAtOrBelow) : backups;
}

/** What a partition's backup ranges cover, for "no usable range": ids, positions and times. */
function describeRanges(catalog: PartitionCatalog): string {
  const ranges = catalog.ranges.map((range) => {
    const start = byId(catalog.checkpoints, range.start);
    const end = byId(catalog.checkpoints, range.end);
    return start && end
      ? `${describeRange(range)} covers positions ${firstLogPositionOf(start)} to ${end.checkpointPosition}, taken ${start.timestamp.iso} to ${end.timestamp.iso}`
      : describeRange(range);
  });
  return `Partition ${catalog.partitionId}'s backup ranges (per ${catalog.source}): ${ranges.join('; ') || 'none'}.`;
}
