import fc from 'fast-check';
import { expect, it } from 'vitest';
import { frameLength } from '../../src/journal/segment-format.js';
import { planJournal, type JournalPlan } from '../support/generative/journal-plan.js';
import { partitionShapes } from '../support/generative/partition-arbitrary.js';
import type { PartitionShape } from '../support/generative/partition-shape.js';
import { SeededRandom } from '../support/generative/seeded-random.js';

/**
 * The generator keeps reaching every situation issue 13 names, so that a change to its weights
 * cannot quietly leave one out of the CI budget. Plans only: nothing is written.
 */

const SAMPLES = 400;
const AT_LEAST = 4;

type Situation = (shape: PartitionShape, plan: JournalPlan) => boolean;

const checkpointOf = (plan: JournalPlan) => (plan.checkpointEntry === undefined ? undefined : plan.entries[plan.checkpointEntry]);
const validEntries = (plan: JournalPlan) => plan.entries.filter((entry) => !entry.torn);
const activeSegmentOf = (plan: JournalPlan) => validEntries(plan).at(-1)!.segment;
const entriesOfSegment = (plan: JournalPlan, segment: number) => validEntries(plan).filter((entry) => entry.segment === segment);

const situations: Record<string, Situation> = {
  'checkpoint at the first entry of the log': (_, plan) => plan.checkpointEntry === 0,
  'checkpoint at the last entry of a full segment': (_, plan) => {
    const checkpoint = checkpointOf(plan);
    return !!checkpoint && checkpoint.segment < activeSegmentOf(plan) && entriesOfSegment(plan, checkpoint.segment).at(-1) === checkpoint;
  },
  'checkpoint at the first entry of a later segment': (_, plan) => {
    const checkpoint = checkpointOf(plan);
    return !!checkpoint && checkpoint.segment > 0 && entriesOfSegment(plan, checkpoint.segment)[0] === checkpoint;
  },
  'checkpoint inside the active segment': (_, plan) => {
    const checkpoint = checkpointOf(plan);
    return !!checkpoint && checkpoint.segment === activeSegmentOf(plan) && validEntries(plan).at(-1) !== checkpoint;
  },
  "checkpoint at the active segment's last entry": (_, plan) => !!checkpointOf(plan) && validEntries(plan).at(-1) === checkpointOf(plan),
  'checkpoint followed by Raft entries only up to a segment boundary': (shape) => shape.checkpoint.kind === 'lastPositionBeforeSegmentBoundary',
  'checkpoint between two positions': (shape) => shape.checkpoint.kind === 'missingBetweenPositions',
  'checkpoint before the first position': (shape) => shape.checkpoint.kind === 'missingBeforeFirst',
  'checkpoint after the last position': (shape) => shape.checkpoint.kind === 'missingAfterLast',
  'checkpoint at the position of a torn frame': (shape) => shape.checkpoint.kind === 'missingAtTornFrame',
  'a Raft entry first in a segment': (_, plan) => plan.entries.some((entry, i) => entry.asqn === -1n && (i === 0 || plan.entries[i - 1]!.segment !== entry.segment)),
  'a torn last frame': (_, plan) => plan.entries.some((entry) => entry.torn),
  'an entry larger than a zstd block (128 KiB)': (_, plan) => plan.entries.some((entry) => entry.dataLength > 128 * 1024),
  'a frame ending exactly at the end of its segment': (shape, plan) =>
    plan.entries.some((entry) => entry.offset + frameLength(entry.dataLength) === shape.maxSegmentSize),
  'poorly compressible entries in segments larger than a zstd block, checkpoint in the active segment': (shape, plan) =>
    shape.maxSegmentSize > 128 * 1024 &&
    plan.entries.every((entry) => entry.content === 'random' && entry.dataLength >= 50 && entry.dataLength <= 400) &&
    checkpointOf(plan)?.segment === activeSegmentOf(plan),
  'six segments': (shape) => shape.dataSegments === 6,
  'segments of more than 1 MiB': (shape) => shape.maxSegmentSize > 1024 * 1024,
  'segments of less than 8 KiB': (shape) => shape.maxSegmentSize < 8 * 1024,
  'a preallocated next segment': (shape) => shape.preallocatedNextSegment,
  'no snapshot': (shape) => !shape.snapshot,
  'a snapshot whose processed and exported positions differ': (_, plan) =>
    !!plan.snapshotPositions && plan.snapshotPositions.processedPosition !== plan.snapshotPositions.exportedPosition,
  'a log that does not start at index 1': (shape) => shape.firstIndex > 1n,
};

it(`reaches every situation of issue 13 at least ${AT_LEAST} times in ${SAMPLES} cases`, () => {
  const counts = Object.fromEntries(Object.keys(situations).map((name) => [name, 0]));
  for (const shape of fc.sample(partitionShapes(), { seed: 1313, numRuns: SAMPLES })) {
    const plan = planJournal(shape, new SeededRandom(String(shape.seed)).fork('plan'));
    for (const [name, holds] of Object.entries(situations)) if (holds(shape, plan)) counts[name]!++;
  }
  const rare = Object.entries(counts).filter(([, count]) => count < AT_LEAST);
  expect(rare, JSON.stringify(counts, null, 2)).toEqual([]);
});
