import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupInvalidError, errnoCode, asLocalStorageError } from '../errors.js';
import { JsonNumber, parseJsonLossless } from '../manifest/lossless-json.js';

/**
 * Where a snapshot stands in the log. Zeebe names a snapshot `index-term-processedPosition-
 * exportedPosition[-brokerId[-checksum]]` (`FileBasedSnapshotId`) and, since 8.1, repeats the
 * positions in `zeebe.metadata` inside the snapshot (`FileBasedSnapshotMetadata`): `version`,
 * `processedPosition`, `exportedPosition`, `lastFollowupEventPosition`, and from 8.9
 * `maxExportedPosition` (the exported position measured after the snapshot was taken, so the
 * exporters' real position lies between the two).
 */
export interface SnapshotPositions {
  /** The Raft index the snapshot covers: the log must continue from at most one past it. */
  index: bigint;
  processedPosition: bigint;
  /** 0 when no exporter had a position (`StateControllerImpl.tryFindNextSnapshotId`). */
  exportedPosition: bigint;
  maxExportedPosition?: bigint;
  /** Where the positions were read: `zeebe.metadata`, or the snapshot id for snapshots without it. */
  source: 'zeebe.metadata' | 'snapshot id';
}

export const SNAPSHOT_METADATA_FILE = 'zeebe.metadata';

/** Zeebe's "unknown" for maxExportedPosition in metadata written before 8.9. */
const LONG_MAX = 2n ** 63n - 1n;

/** The positions a snapshot id names, or undefined for an id that is not Zeebe's numeric form. */
export function positionsFromSnapshotId(snapshotId: string): SnapshotPositions | undefined {
  const parts = snapshotId.split('-');
  if (parts.length < 4 || !parts.slice(0, 4).every((part) => /^\d+$/.test(part))) return undefined;
  return { index: BigInt(parts[0]!), processedPosition: BigInt(parts[2]!), exportedPosition: BigInt(parts[3]!), source: 'snapshot id' };
}

/**
 * The positions of a restored snapshot: from its `zeebe.metadata` where it has one, else from its
 * id (snapshots of brokers before 8.1). The index always comes from the id.
 */
export async function readSnapshotPositions(snapshotDirectory: string, snapshotId: string): Promise<SnapshotPositions | undefined> {
  const fromId = positionsFromSnapshotId(snapshotId);
  const path = join(snapshotDirectory, SNAPSHOT_METADATA_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return fromId;
    throw asLocalStorageError(error, 'read', path);
  }
  if (!fromId) return undefined;
  const invalid = (problem: string) =>
    new BackupInvalidError(`The metadata of snapshot ${snapshotId} (${SNAPSHOT_METADATA_FILE}) is not valid: ${problem}.`);
  let metadata: unknown;
  try {
    metadata = parseJsonLossless(text);
  } catch (error) {
    throw invalid(`it is not JSON (${(error as Error).message})`);
  }
  if (typeof metadata !== 'object' || metadata === null) throw invalid('it is not a JSON object');
  // A field the file lacks: the id carries the same positions ("Same as in SnapshotId").
  const long = (field: string): bigint | undefined => {
    const value = (metadata as Record<string, unknown>)[field];
    if (value === undefined) return undefined;
    if (!(value instanceof JsonNumber) || !/^-?\d+$/.test(value.source)) throw invalid(`${field} must be a whole number`);
    return BigInt(value.source);
  };
  const maxExportedPosition = long('maxExportedPosition');
  return {
    index: fromId.index,
    processedPosition: long('processedPosition') ?? fromId.processedPosition,
    exportedPosition: long('exportedPosition') ?? fromId.exportedPosition,
    ...(maxExportedPosition === undefined || maxExportedPosition === LONG_MAX ? {} : { maxExportedPosition }),
    source: 'zeebe.metadata',
  };
}
