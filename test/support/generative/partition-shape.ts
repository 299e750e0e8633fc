/**
 * What one generated partition backup looks like, as fast-check draws and shrinks it. The shape
 * holds the decisions worth shrinking (segment size, how many segments, where the checkpoint
 * sits, …); the per-entry details and every byte follow from `seed` (see journal-plan.ts).
 */
export interface PartitionShape {
  /** Seeds everything the shape leaves open: entry sizes and kinds, Raft entries, asqn steps, bytes. */
  seed: number;
  maxSegmentSize: number;
  /** Segments that hold entries (the last is the active one); 1 to 6. */
  dataSegments: number;
  /** How much of the active segment is written, in percent (at least the entries the checkpoint needs). */
  activeSegmentFillPercent: number;
  /** Percent chance that a full segment's last frame ends exactly at the end of the file. */
  exactFitPercent: number;
  payload: PayloadProfile;
  /** Percent of entries that are Raft-internal (asqn -1), wherever they fall. */
  raftEntryPercent: number;
  asqnSteps: AsqnSteps;
  firstIndex: bigint;
  firstAsqn: bigint;
  /** An all-zero next segment without descriptor, as a broker preallocates it. */
  preallocatedNextSegment: boolean;
  /** The active segment ends in a frame the broker was writing when the backup copied it. */
  tornLastFrame?: TornFrame;
  checkpoint: CheckpointPlacement;
  snapshot?: SnapshotShape;
}

/** Relative weights: each entry's data size class and content kind are drawn with them. */
export interface PayloadProfile {
  sizes: Record<DataSizeClass, number>;
  contents: Record<ContentKind, number>;
}

export type DataSizeClass = 'tiny' | 'small' | 'medium' | 'large' | 'huge';

/**
 * `random` does not compress, `zeros` compresses to nothing, `records` mixes a header repeated in
 * every entry with a random body, as serialized Zeebe records with binary variables would.
 */
export type ContentKind = 'random' | 'zeros' | 'records';

/** `ones`: every record its own entry; `small`: batches of 1–5; `sparse`: up to thousands; `mixed`: mostly 1, now and then huge jumps. */
export type AsqnSteps = 'ones' | 'small' | 'sparse' | 'mixed';

/** `zeroedTail`: the frame's last bytes never reached the disk; `randomTail`: stale bytes of an older write. */
export type TornFrame = 'zeroedTail' | 'randomTail';

export type CheckpointPlacement =
  | { kind: 'firstEntryOfLog' }
  | { kind: 'lastEntryOfFullSegment' }
  | { kind: 'firstEntryOfSegment' }
  /**
   * The last positioned entry of a full segment, followed only by Raft entries up to the
   * boundary and at the start of the next segment, so no neighbour of the boundary has a position.
   */
  | { kind: 'lastPositionBeforeSegmentBoundary'; raftEntriesBefore: number; raftEntriesAfter: number }
  | { kind: 'insideActiveSegment' }
  | { kind: 'lastEntryOfActiveSegment' }
  | { kind: 'anyEntry' }
  | { kind: MissingCheckpointKind };

/** Checkpoint positions no entry has: the restore must fail. */
export type MissingCheckpointKind = 'missingBetweenPositions' | 'missingBeforeFirst' | 'missingAfterLast' | 'missingAtTornFrame';

export function isMissingCheckpoint(placement: CheckpointPlacement): placement is { kind: MissingCheckpointKind } {
  return placement.kind.startsWith('missing');
}

export interface SnapshotShape {
  term: number;
  manifestFile: SnapshotFileShape;
  optionsFile: SnapshotFileShape;
  /** RocksDB's `.sst` files; a snapshot may have none. */
  tableFiles: SnapshotFileShape[];
}

export interface SnapshotFileShape {
  size: number;
  content: ContentKind;
}

/**
 * Makes a drawn shape consistent: placements that need two segments get them, a checkpoint at
 * a torn frame gets one, a backup without snapshot keeps the log from index 1 (a broker could not
 * start otherwise), and a checkpoint before the first position leaves room below it.
 */
export function normalizedShape(shape: PartitionShape): PartitionShape {
  const normalized = { ...shape };
  const { kind } = shape.checkpoint;
  if (kind === 'lastEntryOfFullSegment' || kind === 'lastPositionBeforeSegmentBoundary') {
    normalized.dataSegments = Math.max(2, shape.dataSegments);
  }
  if (kind === 'missingAtTornFrame') normalized.tornLastFrame = shape.tornLastFrame ?? 'zeroedTail';
  if (kind === 'missingBeforeFirst') {
    // No position of the log lies at or before the checkpoint, so neither can the snapshot's.
    delete normalized.snapshot;
    if (shape.firstAsqn < 2n) normalized.firstAsqn = 2n;
  }
  if (!normalized.snapshot) normalized.firstIndex = 1n;
  return normalized;
}
