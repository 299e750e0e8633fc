import fc from 'fast-check';
import {
  normalizedShape,
  type CheckpointPlacement,
  type PartitionShape,
  type PayloadProfile,
  type SnapshotFileShape,
  type SnapshotShape,
  type TornFrame,
} from './partition-shape.js';

/*
 * fast-check arbitraries for partition shapes. Weights favour small journals (most runs take tens
 * of milliseconds) while every run has a fair chance of large segments, entries larger than a
 * zstd block, Raft entries at segment starts, torn frames and each checkpoint placement.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

const weighted = <T>(...choices: [number, fc.Arbitrary<T>][]) =>
  fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const segmentSize = weighted(
  [4, fc.integer({ min: 4 * KiB, max: 32 * KiB })],
  [3, fc.integer({ min: 32 * KiB + 1, max: 256 * KiB })],
  [2, fc.integer({ min: 256 * KiB + 1, max: MiB })],
  [1, fc.integer({ min: MiB + 1, max: 1.5 * MiB })],
);

/** Relative weights; a profile whose weights are all 0 falls back to the one named by `fallback`. */
const weights = <K extends string>(keys: readonly K[], fallback: K, max: number) =>
  fc.tuple(...keys.map(() => fc.integer({ min: 0, max }))).map((drawn) => {
    const result = Object.fromEntries(keys.map((key, i) => [key, drawn[i]!])) as Record<K, number>;
    if (drawn.every((weight) => weight === 0)) result[fallback] = 1;
    return result;
  });

const payloadProfile: fc.Arbitrary<PayloadProfile> = fc.record({
  sizes: weights(['tiny', 'small', 'medium', 'large', 'huge'] as const, 'small', 4).map((sizes) => ({ ...sizes, huge: Math.min(sizes.huge, 1) })),
  contents: weights(['random', 'zeros', 'records'] as const, 'random', 4),
});

const present = <K extends CheckpointPlacement['kind']>(kind: K) => fc.constant({ kind } as CheckpointPlacement);

const checkpointPresent: fc.Arbitrary<CheckpointPlacement> = weighted(
  [1, present('firstEntryOfLog')],
  [2, present('lastEntryOfFullSegment')],
  [2, present('firstEntryOfSegment')],
  [
    1,
    fc.record({ raftEntriesBefore: fc.integer({ min: 0, max: 3 }), raftEntriesAfter: fc.integer({ min: 1, max: 3 }) }).map(
      (counts): CheckpointPlacement => ({ kind: 'lastPositionBeforeSegmentBoundary', ...counts }),
    ),
  ],
  [3, present('insideActiveSegment')],
  [2, present('lastEntryOfActiveSegment')],
  [1, present('anyEntry')],
);

const checkpointMissing: fc.Arbitrary<CheckpointPlacement> = fc.constantFrom<CheckpointPlacement>(
  { kind: 'missingBetweenPositions' },
  { kind: 'missingBeforeFirst' },
  { kind: 'missingAfterLast' },
  { kind: 'missingAtTornFrame' },
);

const contentKind = fc.constantFrom('random', 'zeros', 'records') as fc.Arbitrary<SnapshotFileShape['content']>;

const snapshotFile = (sizes: fc.Arbitrary<number>): fc.Arbitrary<SnapshotFileShape> => fc.record({ size: sizes, content: contentKind });

const snapshotShape: fc.Arbitrary<SnapshotShape> = fc.record({
  term: fc.integer({ min: 1, max: 9 }),
  manifestFile: snapshotFile(fc.integer({ min: 0, max: 8 * KiB })),
  optionsFile: snapshotFile(fc.integer({ min: 0, max: 8 * KiB })),
  tableFiles: fc.array(
    snapshotFile(weighted([3, fc.integer({ min: 0, max: 4 * KiB })], [2, fc.integer({ min: 4 * KiB, max: 256 * KiB })], [1, fc.integer({ min: 256 * KiB, max: 1.5 * MiB })])),
    { maxLength: 3 },
  ),
});

const optional = <T>(arbitrary: fc.Arbitrary<T>, presentWeight: number, absentWeight: number) =>
  weighted<T | undefined>([absentWeight, fc.constant(undefined)], [presentWeight, arbitrary]);

export type CheckpointKinds = 'present' | 'missing' | 'any';

interface ShapeOverrides {
  maxSegmentSize?: fc.Arbitrary<number>;
  payload?: fc.Arbitrary<PayloadProfile>;
  checkpoint?: fc.Arbitrary<CheckpointPlacement>;
}

function shapeArbitrary(checkpoints: CheckpointKinds, overrides: ShapeOverrides = {}): fc.Arbitrary<PartitionShape> {
  const checkpoint = { present: checkpointPresent, missing: checkpointMissing, any: weighted([3, checkpointPresent], [1, checkpointMissing]) }[checkpoints];
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      maxSegmentSize: overrides.maxSegmentSize ?? segmentSize,
      dataSegments: fc.integer({ min: 1, max: 6 }),
      activeSegmentFillPercent: weighted([1, fc.constant(0)], [1, fc.constant(100)], [3, fc.integer({ min: 1, max: 99 })]),
      exactFitPercent: fc.constantFrom(0, 30, 100),
      payload: overrides.payload ?? payloadProfile,
      raftEntryPercent: weighted([2, fc.constant(0)], [3, fc.integer({ min: 1, max: 10 })], [1, fc.integer({ min: 11, max: 60 })]),
      asqnSteps: fc.constantFrom('ones', 'small', 'sparse', 'mixed'),
      firstIndex: weighted([3, fc.constant(1n)], [1, fc.bigInt({ min: 2n, max: 10n ** 12n })]),
      firstAsqn: weighted([2, fc.constant(1n)], [1, fc.bigInt({ min: 2n, max: 2n ** 40n })]),
      preallocatedNextSegment: fc.boolean(),
      tornLastFrame: optional(fc.constantFrom<TornFrame>('zeroedTail', 'randomTail'), 1, 5),
      checkpoint: overrides.checkpoint ?? checkpoint,
      snapshot: optional(snapshotShape, 4, 1),
    })
    .map((drawn) => {
      const { tornLastFrame, snapshot, ...rest } = drawn;
      return normalizedShape({ ...rest, ...(tornLastFrame ? { tornLastFrame } : {}), ...(snapshot ? { snapshot } : {}) });
    });
}

/**
 * The case that broke the zstd head probe: segments larger than a zstd block filled with entries
 * of 50–400 random bytes, which compress a little (so zstd writes compressed blocks, not raw
 * ones), with the checkpoint in the active segment.
 */
function poorlyCompressibleShape(): fc.Arbitrary<PartitionShape> {
  return shapeArbitrary('present', {
    maxSegmentSize: fc.integer({ min: 160 * KiB, max: 1.5 * MiB }),
    payload: fc.constant({ sizes: { tiny: 0, small: 1, medium: 0, large: 0, huge: 0 }, contents: { random: 1, zeros: 0, records: 0 } }),
    checkpoint: fc.constantFrom<CheckpointPlacement>({ kind: 'insideActiveSegment' }, { kind: 'lastEntryOfActiveSegment' }),
  });
}

/** A partition shape with a checkpoint of the given kinds; a quarter of the `present` ones are poorly compressible. */
export function partitionShapes(checkpoints: CheckpointKinds = 'any'): fc.Arbitrary<PartitionShape> {
  const general = shapeArbitrary(checkpoints);
  return checkpoints === 'missing' ? general : weighted([3, general], [1, poorlyCompressibleShape()]);
}
