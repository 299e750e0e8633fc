import { z } from 'zod';
import { BackupInvalidError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { jsonNumber, long } from '../manifest/json-schemas.js';
import { parseJsonLossless } from '../manifest/lossless-json.js';
import type { BackupManifest } from '../manifest/manifest.js';
import type { BackupStore, PartitionMetadataFile } from '../store/backup-store.js';
import { createLimiter } from '../util/concurrency.js';
import { type Instant, instantFromEpochMillis, instantFromEpochSeconds, parseInstant } from './instant.js';

/**
 * What a partition's backups are, checkpoint by checkpoint, for choosing a restore point by time
 * (`--from`/`--to`): from the per-partition metadata 8.9+ brokers keep in the store, or, when a
 * store holds none, computed from the manifests (backup-store-format.md §2.3).
 */
export interface CheckpointInfo {
  checkpointId: bigint;
  /** Log position of the checkpoint record; a restore ending here ends right after it. */
  checkpointPosition: bigint;
  timestamp: Instant;
  /** `MARKER` (no backup was taken), `SCHEDULED_BACKUP` or `MANUAL_BACKUP`. */
  type: string;
  /** First log position the backup's segments hold; unknown for backups of brokers before 8.9. */
  firstLogPosition?: bigint;
}

/** Backups `start` … `end` (checkpoint ids) whose logs follow each other without a gap. */
export interface BackupRange {
  start: bigint;
  end: bigint;
}

export interface PartitionCatalog {
  partitionId: number;
  /** Sorted by checkpoint id. */
  checkpoints: CheckpointInfo[];
  /** Sorted by start. */
  ranges: BackupRange[];
  /** Where it was read from, for messages: a metadata file, or the manifests. */
  source: string;
}

/** Only checkpoints of these types have a backup behind them; a MARKER is a position in the log only. */
export function isBackupCheckpoint(checkpoint: CheckpointInfo): boolean {
  return checkpoint.type !== 'MARKER';
}

// ---- The 8.9 metadata file ------------------------------------------------------------------

/** Jackson writes Instants as ISO strings here; numbers (epoch millis or seconds.nanos) are accepted too. */
const instant = z.union([z.string(), jsonNumber]).transform((value, ctx) => {
  const parsed =
    typeof value === 'string'
      ? parseInstant(value)
      : /^-?\d+$/.test(value.source)
        ? instantFromEpochMillis(BigInt(value.source))
        : instantFromEpochSeconds(value.source);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `not an instant: ${typeof value === 'string' ? value : value.source}` });
    return z.NEVER;
  }
  return parsed;
});
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/**
 * Zeebe's `BackupMetadata` (`version`, `partitionId`, `lastUpdated`, `checkpoints`, `ranges`) and
 * its successor `BackupMetadataManifest` (two slots with a `sequenceNumber` instead of `version`).
 * Unknown fields are ignored.
 */
const metadataSchema = z.object({
  partitionId: long,
  version: optional(long),
  sequenceNumber: optional(long),
  lastUpdated: optional(instant),
  checkpoints: z.array(
    z.object({
      checkpointId: long,
      checkpointPosition: long,
      checkpointTimestamp: instant,
      checkpointType: optional(z.string()),
      firstLogPosition: optional(long),
    }),
  ),
  ranges: z.array(z.object({ start: long, end: long })),
});

interface ParsedMetadata {
  location: string;
  sequenceNumber?: bigint;
  lastUpdated?: Instant;
  catalog: PartitionCatalog;
}

export function parsePartitionMetadata(file: PartitionMetadataFile, partitionId: number): ParsedMetadata {
  let json: unknown;
  try {
    json = parseJsonLossless(file.text);
  } catch (error) {
    throw new BackupInvalidError(`Backup metadata ${file.location} is not valid JSON: ${(error as Error).message}.`);
  }
  const result = metadataSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new BackupInvalidError(`Backup metadata ${file.location} is malformed: ${problems}.`);
  }
  const raw = result.data;
  if (raw.partitionId !== BigInt(partitionId)) {
    throw new BackupInvalidError(`Backup metadata ${file.location} describes partition ${raw.partitionId}, but lies under partition ${partitionId}.`);
  }
  const checkpoints = raw.checkpoints
    .map((entry): CheckpointInfo => {
      const checkpoint: CheckpointInfo = {
        checkpointId: entry.checkpointId,
        checkpointPosition: entry.checkpointPosition,
        timestamp: entry.checkpointTimestamp,
        type: entry.checkpointType ?? 'MANUAL_BACKUP',
      };
      // Zeebe writes -1 (or 0) where it does not know the first position.
      if (entry.firstLogPosition !== undefined && entry.firstLogPosition > 0n) checkpoint.firstLogPosition = entry.firstLogPosition;
      return checkpoint;
    })
    .sort((a, b) => compare(a.checkpointId, b.checkpointId));
  const ranges = raw.ranges.map(({ start, end }) => ({ start, end })).sort((a, b) => compare(a.start, b.start));
  const parsed: ParsedMetadata = { location: file.location, catalog: { partitionId, checkpoints, ranges, source: `backup metadata ${file.location}` } };
  if (raw.sequenceNumber !== undefined) parsed.sequenceNumber = raw.sequenceNumber;
  if (raw.lastUpdated !== undefined) parsed.lastUpdated = raw.lastUpdated;
  return parsed;
}

/** Of several metadata files (two slots), the newest: highest sequence number, then latest update. */
function newest(files: ParsedMetadata[]): ParsedMetadata | undefined {
  return [...files].sort(
    (a, b) =>
      compare(b.sequenceNumber ?? -1n, a.sequenceNumber ?? -1n) || compare(b.lastUpdated?.nanos ?? 0n, a.lastUpdated?.nanos ?? 0n),
  )[0];
}

// ---- The manifests, when no metadata exists ---------------------------------------------------

/**
 * The catalog a store without metadata implies: every completed backup, timestamped with its
 * descriptor's `checkpointTimestamp` (8.9) or else the manifest's `createdAt`, and ranges of
 * backups whose logs provably follow each other (`firstLogPosition` ≤ previous checkpoint
 * position + 1). Backups of brokers before 8.9 lack `firstLogPosition`, so each is a range of its own.
 */
export function catalogFromManifests(partitionId: number, manifests: BackupManifest[], log?: Logger): PartitionCatalog {
  const byId = new Map<bigint, CheckpointInfo>();
  for (const manifest of [...manifests].sort((a, b) => a.nodeId - b.nodeId)) {
    const { descriptor } = manifest;
    if (manifest.status !== 'COMPLETED' || !descriptor || byId.has(manifest.checkpointId)) continue;
    const stamp = descriptor.checkpointTimestamp ?? manifest.createdAt;
    const timestamp = stamp === undefined ? undefined : parseInstant(stamp);
    if (!timestamp) {
      log?.warn(`Partition ${partitionId}: backup ${manifest.checkpointId} has no usable timestamp and is left out of the time-range selection.`);
      continue;
    }
    const checkpoint: CheckpointInfo = {
      checkpointId: manifest.checkpointId,
      checkpointPosition: descriptor.checkpointPosition,
      timestamp,
      type: descriptor.checkpointType ?? 'MANUAL_BACKUP',
    };
    if (descriptor.firstLogPosition !== undefined && descriptor.firstLogPosition > 0n) checkpoint.firstLogPosition = descriptor.firstLogPosition;
    byId.set(manifest.checkpointId, checkpoint);
  }
  const checkpoints = [...byId.values()].sort((a, b) => compare(a.checkpointId, b.checkpointId));
  const ranges: BackupRange[] = [];
  let previous: CheckpointInfo | undefined;
  for (const checkpoint of checkpoints) {
    const current = ranges.at(-1);
    if (current && previous && followsWithoutGap(previous, checkpoint)) current.end = checkpoint.checkpointId;
    else ranges.push({ start: checkpoint.checkpointId, end: checkpoint.checkpointId });
    previous = checkpoint;
  }
  return { partitionId, checkpoints, ranges, source: 'the backup manifests (no backup metadata in the store)' };
}

/** Zeebe's contiguity rule: the later backup's log starts at or before the position after the earlier checkpoint. */
export function followsWithoutGap(earlier: CheckpointInfo, later: CheckpointInfo): boolean {
  return (
    later.firstLogPosition !== undefined &&
    later.checkpointPosition > earlier.checkpointPosition &&
    later.firstLogPosition <= earlier.checkpointPosition + 1n
  );
}

const manifestReadConcurrency = 16;

/**
 * Each partition's catalog: from the store's backup metadata where it has any that parses, else
 * from the manifests. A metadata file that cannot be read is reported and skipped.
 */
export async function loadPartitionCatalogs(store: BackupStore, partitionIds: number[], log: Logger): Promise<PartitionCatalog[]> {
  const limit = createLimiter(manifestReadConcurrency, new AbortController().signal);
  return Promise.all(
    partitionIds.map(async (partitionId) => {
      const files = store.readPartitionMetadata ? await store.readPartitionMetadata(partitionId) : [];
      const parsed: ParsedMetadata[] = [];
      for (const file of files) {
        try {
          parsed.push(parsePartitionMetadata(file, partitionId));
        } catch (error) {
          if (!(error instanceof BackupInvalidError)) throw error;
          log.warn(`Partition ${partitionId}: ignoring backup metadata: ${error.message}`);
        }
      }
      const chosen = newest(parsed);
      if (chosen) return chosen.catalog;
      const refs = await store.listManifests(partitionId);
      const manifests = await Promise.all(
        refs.map((ref) =>
          limit(async () => {
            try {
              return await store.readManifest(ref);
            } catch (error) {
              if (!(error instanceof BackupInvalidError)) throw error;
              log.warn(`Partition ${partitionId}: ignoring node ${ref.nodeId}'s copy of backup ${ref.checkpointId}: ${error.message}`);
              return undefined;
            }
          }),
        ),
      );
      return catalogFromManifests(
        partitionId,
        manifests.filter((manifest): manifest is BackupManifest => manifest !== undefined),
        log,
      );
    }),
  );
}

export function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
