import { DESCRIPTOR_LENGTH, frameLength } from '../../../src/journal/segment-format.js';
import type { AsqnSteps, CheckpointPlacement, ContentKind, DataSizeClass, PartitionShape } from './partition-shape.js';
import { isMissingCheckpoint } from './partition-shape.js';
import type { SeededRandom } from './seeded-random.js';

/*
 * Turns a shape into the exact list of entries to append: where each frame lands (by the
 * writer's rollover rule, so the checkpoint can be placed on a segment's first or last entry
 * before anything is written), which entries are Raft entries, and every asqn.
 */

const FRAME_OVERHEAD = frameLength(0);
/** Keeps the entry count of a journal of large segments in the thousands, not the hundreds of thousands. */
const MAX_FRAMES_PER_SEGMENT = 4000;
const RAFT_ASQN = -1n;

export interface PlannedEntry {
  index: bigint;
  /** -1 for a Raft entry. */
  asqn: bigint;
  /** Position of the segment in the journal, 0 for the first. */
  segment: number;
  /** Byte offset of the frame in its segment file. */
  offset: number;
  dataLength: number;
  content: ContentKind;
  /** The last frame of the active segment, torn after it is written. */
  torn: boolean;
}

export interface SnapshotPositions {
  /** Raft index of the entry that holds the exported position, the lower bound a broker snapshots at. */
  index: bigint;
  processedPosition: bigint;
  exportedPosition: bigint;
}

export interface JournalPlan {
  entries: PlannedEntry[];
  checkpointPosition: bigint;
  /** Index (into `entries`) of the checkpoint entry; undefined when no entry has the position. */
  checkpointEntry?: number;
  snapshotPositions?: SnapshotPositions;
}

export function planJournal(shape: PartitionShape, random: SeededRandom): JournalPlan {
  const layout = layOutFrames(shape, random.fork('layout'));
  const raftAt = raftEntries(shape, layout, random.fork('raft'));
  const anchors = chooseAnchors(shape.checkpoint, layout, raftAt, random.fork('checkpoint'));
  const asqns = assignAsqns(shape, raftAt, anchors.gapAfter, random.fork('asqns'));
  const entries = layout.map((frame, i) => ({ ...frame, index: shape.firstIndex + BigInt(i), asqn: asqns[i]! }));
  const checkpointPosition = checkpointPositionOf(shape.checkpoint, entries, anchors, random.fork('position'));
  const snapshotPositions =
    shape.snapshot && anchors.snapshotCandidates.length > 0 ? chooseSnapshotPositions(entries, anchors.snapshotCandidates, random.fork('snapshot')) : undefined;
  return {
    entries,
    checkpointPosition,
    ...(anchors.checkpointEntry === undefined ? {} : { checkpointEntry: anchors.checkpointEntry }),
    ...(snapshotPositions ? { snapshotPositions } : {}),
  };
}

type LaidOutFrame = Omit<PlannedEntry, 'index' | 'asqn'>;

/**
 * Frames in append order with their segment and offset, following the rule of the journal writer
 * (and Zeebe's): a frame that would cross the end of a segment starts the next one. Every segment
 * fits at least three of the largest frames, so the active one always holds the entries and the
 * torn frame a placement needs.
 */
function layOutFrames(shape: PartitionShape, random: SeededRandom): LaidOutFrame[] {
  const { maxSegmentSize, dataSegments } = shape;
  const maxData = Math.floor((maxSegmentSize - DESCRIPTOR_LENGTH) / 3) - FRAME_OVERHEAD;
  const minData = Math.min(maxData, Math.max(0, Math.ceil(maxSegmentSize / MAX_FRAMES_PER_SEGMENT) - FRAME_OVERHEAD));
  const drawData = () => Math.max(minData, Math.min(maxData, dataLengthOf(drawWeighted(shape.payload.sizes, random), random)));
  const drawContent = () => drawWeighted(shape.payload.contents, random);
  const tornData = shape.tornLastFrame ? drawData() : undefined;
  const activeCapacity = maxSegmentSize - (tornData === undefined ? 0 : frameLength(tornData));
  const activeTarget = DESCRIPTOR_LENGTH + ((activeCapacity - DESCRIPTOR_LENGTH) * shape.activeSegmentFillPercent) / 100;
  // A checkpoint inside the active segment needs an entry after it; one between positions, two positions.
  const minActiveEntries = shape.checkpoint.kind === 'insideActiveSegment' || shape.checkpoint.kind === 'missingBetweenPositions' ? 2 : 1;
  const exactFit = () => random.chance(shape.exactFitPercent / 100);

  const frames: LaidOutFrame[] = [];
  const place = (segment: number, offset: number, dataLength: number) => {
    frames.push({ segment, offset, dataLength, content: drawContent(), torn: false });
    return offset + frameLength(dataLength);
  };
  let offset = DESCRIPTOR_LENGTH;
  /** A frame that did not fit into the previous segment opens the next one, as in the writer. */
  let carried: number | undefined;
  for (let segment = 0; segment < dataSegments - 1; segment++, offset = DESCRIPTOR_LENGTH) {
    for (;;) {
      const dataLength = carried ?? drawData();
      carried = undefined;
      const room = maxSegmentSize - offset;
      if (frameLength(dataLength) <= room) {
        offset = place(segment, offset, dataLength);
        continue;
      }
      if (room >= FRAME_OVERHEAD && exactFit()) place(segment, offset, room - FRAME_OVERHEAD);
      else carried = dataLength;
      break;
    }
  }
  const active = dataSegments - 1;
  for (let entries = 0; ; entries++) {
    const room = activeCapacity - offset;
    let dataLength = carried ?? drawData();
    carried = undefined;
    if (frameLength(dataLength) > room) {
      if (entries >= minActiveEntries) {
        // A full active segment: its next entry would roll over. Now and then its last frame ends exactly at the end.
        if (tornData === undefined && room >= FRAME_OVERHEAD && exactFit()) place(active, offset, room - FRAME_OVERHEAD);
        break;
      }
      dataLength = room - FRAME_OVERHEAD;
    }
    offset = place(active, offset, dataLength);
    if (entries + 1 >= minActiveEntries && offset >= activeTarget) break;
  }
  if (tornData !== undefined) frames.push({ segment: active, offset, dataLength: tornData, content: drawContent(), torn: true });
  return frames;
}

function dataLengthOf(sizeClass: DataSizeClass, random: SeededRandom): number {
  switch (sizeClass) {
    case 'tiny':
      return random.int(0, 48);
    case 'small':
      // The sizes that defeated the zstd head probe: entries that compress only a little.
      return random.int(50, 400);
    case 'medium':
      return random.int(401, 16 * 1024);
    case 'large':
      return random.int(16 * 1024, 64 * 1024);
    case 'huge':
      // Larger than one zstd block (128 KiB); capped by the segment size.
      return random.int(128 * 1024 + 1, 300 * 1024);
  }
}

function drawWeighted<K extends string>(weights: Record<K, number>, random: SeededRandom): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let ticket = random.fraction() * total;
  for (const [key, weight] of entries) {
    ticket -= weight;
    if (ticket < 0) return key;
  }
  return entries.find(([, weight]) => weight > 0)?.[0] ?? entries[0]![0];
}

/** Raft entries at random places; chooseAnchors then fixes the entries the placement relies on. */
function raftEntries(shape: PartitionShape, layout: LaidOutFrame[], random: SeededRandom): boolean[] {
  return layout.map(() => random.chance(shape.raftEntryPercent / 100));
}

interface Anchors {
  checkpointEntry?: number;
  /** A missing checkpoint between two positions: the positioned entry just before it. */
  gapAfter?: number;
  /** Positioned entries the snapshot's positions may be taken from. */
  snapshotCandidates: number[];
}

/**
 * Picks the checkpoint entry for the placement and adjusts `raftAt` so the entries the placement
 * relies on have (or lack) positions.
 */
function chooseAnchors(placement: CheckpointPlacement, layout: LaidOutFrame[], raftAt: boolean[], random: SeededRandom): Anchors {
  const valid = layout.flatMap((frame, i) => (frame.torn ? [] : [i]));
  const tornEntry = layout.findIndex((frame) => frame.torn);
  const lastSegment = layout[valid.at(-1)!]!.segment;
  const entriesOf = (segment: number) => valid.filter((i) => layout[i]!.segment === segment);
  const positionedUpTo = (last: number) => valid.filter((i) => i <= last && !raftAt[i]);
  const anchoredAt = (checkpointEntry: number): Anchors => {
    raftAt[checkpointEntry] = false;
    return { checkpointEntry, snapshotCandidates: positionedUpTo(checkpointEntry) };
  };

  switch (placement.kind) {
    case 'firstEntryOfLog':
      return anchoredAt(valid[0]!);
    case 'lastEntryOfFullSegment':
      return anchoredAt(entriesOf(random.int(0, lastSegment - 1)).at(-1)!);
    case 'firstEntryOfSegment':
      return anchoredAt(entriesOf(random.int(0, lastSegment))[0]!);
    case 'lastPositionBeforeSegmentBoundary': {
      const segment = random.int(0, lastSegment - 1);
      const before = entriesOf(segment);
      const raftBefore = Math.min(placement.raftEntriesBefore, before.length - 1);
      for (const i of [...before.slice(before.length - raftBefore), ...entriesOf(segment + 1).slice(0, placement.raftEntriesAfter)]) raftAt[i] = true;
      return anchoredAt(before[before.length - 1 - raftBefore]!);
    }
    case 'insideActiveSegment':
      return anchoredAt(random.pick(entriesOf(lastSegment).slice(0, -1)));
    case 'lastEntryOfActiveSegment':
      return anchoredAt(valid.at(-1)!);
    case 'anyEntry':
      return anchoredAt(random.pick(valid));
    case 'missingBeforeFirst':
      raftAt[valid[0]!] = false;
      return { snapshotCandidates: [] };
    case 'missingAfterLast':
      raftAt[valid.at(-1)!] = false;
      return { snapshotCandidates: positionedUpTo(valid.at(-1)!) };
    case 'missingAtTornFrame':
      raftAt[tornEntry] = false;
      return { snapshotCandidates: positionedUpTo(valid.at(-1)!) };
    case 'missingBetweenPositions': {
      // Two positioned entries, the checkpoint between their asqns.
      if (positionedUpTo(valid.at(-1)!).length < 2) [valid[0]!, valid.at(-1)!].forEach((i) => (raftAt[i] = false));
      const positioned = positionedUpTo(valid.at(-1)!);
      const gapAfter = positioned[random.int(0, positioned.length - 2)]!;
      return { gapAfter, snapshotCandidates: positionedUpTo(gapAfter) };
    }
  }
}

/** Strictly increasing asqns for positioned entries (the torn frame included), -1 for Raft entries. */
function assignAsqns(shape: PartitionShape, raftAt: boolean[], gapAfter: number | undefined, random: SeededRandom): bigint[] {
  let next = shape.firstAsqn;
  return raftAt.map((raft, i) => {
    if (raft) return RAFT_ASQN;
    const asqn = next;
    const step = asqnStep(shape.asqnSteps, random);
    // A gap of at least one position that no entry has.
    next += i === gapAfter ? step + 1n : step;
    return asqn;
  });
}

function asqnStep(steps: AsqnSteps, random: SeededRandom): bigint {
  switch (steps) {
    case 'ones':
      return 1n;
    case 'small':
      return BigInt(random.int(1, 5));
    case 'sparse':
      return BigInt(random.int(1, 3000));
    case 'mixed':
      return random.chance(0.05) ? BigInt(random.int(1000, 5_000_000)) : 1n;
  }
}

function checkpointPositionOf(placement: CheckpointPlacement, entries: PlannedEntry[], anchors: Anchors, random: SeededRandom): bigint {
  if (!isMissingCheckpoint(placement)) return entries[anchors.checkpointEntry!]!.asqn;
  const validAsqns = entries.filter((entry) => !entry.torn && entry.asqn >= 0n).map((entry) => entry.asqn);
  switch (placement.kind) {
    case 'missingBeforeFirst':
      return BigInt(random.int(1, Number(validAsqns[0]! - 1n)));
    case 'missingAfterLast':
      return validAsqns.at(-1)! + BigInt(random.int(1, 10));
    case 'missingAtTornFrame':
      return entries.find((entry) => entry.torn)!.asqn;
    case 'missingBetweenPositions': {
      const below = entries[anchors.gapAfter!]!.asqn;
      const above = validAsqns.find((asqn) => asqn > below)!;
      return below + 1n + BigInt(random.int(0, Number(above - below - 2n)));
    }
  }
}

/** Processed and exported positions are positions of the log at or before the checkpoint; exported ≤ processed. */
function chooseSnapshotPositions(entries: PlannedEntry[], candidates: number[], random: SeededRandom): SnapshotPositions {
  const processed = random.int(0, candidates.length - 1);
  const exported = candidates[random.int(0, processed)]!;
  return {
    index: entries[exported]!.index,
    processedPosition: entries[candidates[processed]!]!.asqn,
    exportedPosition: entries[exported]!.asqn,
  };
}
