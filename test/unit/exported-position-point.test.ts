import { describe, expect, it } from 'vitest';
import { resolveExportedPositionPoint } from '../../src/chain/exported-position-point.js';
import { parseInstant } from '../../src/chain/instant.js';
import type { CheckpointInfo, PartitionCatalog } from '../../src/chain/partition-catalog.js';
import { BackupInvalidError, BackupNotFoundError } from '../../src/errors.js';

/**
 * The cases of Zeebe 8.9's RestorePointResolverTest that involve exported positions or trimming,
 * with the same checkpoints (id, position, timestamp, type, first log position) and the same results.
 */
const day = (date: string) => parseInstant(`${date}T00:00:00Z`)!;

function entry(id: number, position: bigint | number, date: string, type = 'SCHEDULED_BACKUP', firstLogPosition?: number): CheckpointInfo {
  return {
    checkpointId: BigInt(id),
    checkpointPosition: BigInt(position),
    timestamp: day(date),
    type,
    ...(firstLogPosition === undefined ? {} : { firstLogPosition: BigInt(firstLogPosition) }),
  };
}

function metadata(partitionId: number, checkpoints: CheckpointInfo[], ranges: [number, number][]): PartitionCatalog {
  return { partitionId, checkpoints, ranges: ranges.map(([start, end]) => ({ start: BigInt(start), end: BigInt(end) })), source: `metadata ${partitionId}` };
}

const positions = (entries: Record<number, bigint | number>) => new Map(Object.entries(entries).map(([p, e]) => [Number(p), BigInt(e)]));

function resolve(catalogs: PartitionCatalog[], exported: Record<number, bigint | number>, range: { from?: string; to?: string } = {}) {
  const point = resolveExportedPositionPoint(catalogs, {
    exportedPositions: positions(exported),
    ...(range.from ? { from: parseInstant(range.from)! } : {}),
    ...(range.to ? { to: parseInstant(range.to)! } : {}),
  });
  return { common: Number(point.checkpointId), chains: Object.fromEntries(point.chains.map((c) => [c.partitionId, c.backups.map((b) => Number(b.checkpointId))])) };
}

function failure(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

const cp1 = entry(1, 100, '2025-01-01', 'SCHEDULED_BACKUP', 50);
const cp2 = entry(2, 200, '2025-01-02', 'SCHEDULED_BACKUP', 101);
const cp3 = entry(3, 300, '2025-03-01', 'SCHEDULED_BACKUP', 201);
const cp4 = entry(4, 400, '2025-04-01', 'SCHEDULED_BACKUP', 301);
const oneRange = metadata(1, [cp1, cp2, cp3, cp4], [[1, 4]]);
const twoRanges = metadata(1, [cp1, cp2, cp3, cp4], [[1, 2], [3, 4]]);

describe('Zeebe 8.9 RestorePointResolver with exported positions', () => {
  it('picks the range covering the exported position and trims to the last backup at or below it', () => {
    expect(resolve([twoRanges], { 1: 100 })).toEqual({ common: 2, chains: { 1: [1, 2] } });
    expect(resolve([twoRanges], { 1: 250 })).toEqual({ common: 4, chains: { 1: [3, 4] } });
    expect(resolve([oneRange], { 1: 250 })).toEqual({ common: 4, chains: { 1: [2, 3, 4] } });
  });

  it('trims each partition by its own position', () => {
    const p2 = metadata(2, [entry(1, 110, '2025-01-01', undefined, 60), entry(2, 210, '2025-01-02', undefined, 111), entry(3, 310, '2025-03-01', undefined, 211), entry(4, 410, '2025-04-01', undefined, 311)], [[1, 4]]);
    expect(resolve([oneRange, p2], { 1: 250, 2: 350 })).toEqual({ common: 4, chains: { 1: [2, 3, 4], 2: [3, 4] } });
  });

  it('the common checkpoint must reach every partition\'s exported position', () => {
    const p1 = metadata(1, [entry(2, 100, '2025-01-02', undefined, 50), entry(3, 200, '2025-01-03', undefined, 101)], [[2, 3]]);
    const p2 = metadata(2, [entry(1, 10, '2025-01-01', undefined, 109), entry(2, 110, '2025-01-02', undefined, 60), entry(3, 210, '2025-01-03', undefined, 111)], [[1, 3]]);
    const point = resolveExportedPositionPoint([p1, p2], { exportedPositions: positions({ 2: 200 }) });
    expect(Number(point.checkpointId)).toBe(3);
    expect(point.chains.map((chain) => chain.backups.length)).toEqual([2, 2]);
  });

  it('-1 (nothing exported yet) is 1 for choosing the range and trims nothing', () => {
    expect(resolve([metadata(1, [entry(1, 100, '2025-01-01', undefined, 1)], [[1, 1]])], { 1: -1 })).toEqual({ common: 1, chains: { 1: [1] } });
    const p1 = metadata(1, [entry(1, 100, '2025-01-01', undefined, 1), entry(2, 200, '2025-01-02', undefined, 101)], [[1, 2]]);
    const p2 = metadata(2, [entry(1, 110, '2025-01-01', undefined, 1), entry(2, 210, '2025-01-02', undefined, 111)], [[1, 2]]);
    expect(resolve([p1, p2], { 1: 100, 2: -1 })).toEqual({ common: 2, chains: { 1: [1, 2], 2: [1, 2] } });
  });

  it('keeps the safe starting backup across a MARKER; with --from, --from alone trims', () => {
    const marker = entry(2, 200, '2025-01-15', 'MARKER');
    const withMarker = metadata(1, [cp1, marker, entry(3, 300, '2025-02-01', undefined, 101), entry(4, 400, '2025-03-01', undefined, 301)], [[1, 4]]);
    expect(resolve([withMarker], { 1: 250 })).toEqual({ common: 4, chains: { 1: [1, 3, 4] } });
    expect(resolve([withMarker], { 1: 400 }, { from: '2025-01-20T00:00:00Z' })).toEqual({ common: 4, chains: { 1: [3, 4] } });
    const monthly = metadata(1, [cp1, entry(2, 200, '2025-02-01', undefined, 101), cp3, cp4], [[1, 4]]);
    expect(resolve([monthly], { 1: 400 }, { from: '2025-02-15T00:00:00Z' })).toEqual({ common: 4, chains: { 1: [3, 4] } });
    expect(failure(() => resolve([monthly], { 1: 250 }, { from: '2025-02-15T00:00:00Z' })).message).toMatch(
      /^After discarding backups before 2025-02-15T00:00:00Z, the exporter position 250 is not covered by the first remaining backup 3 \(checkpoint position 300/,
    );
  });

  it('--to: the closest common checkpoint that reaches the positions, even one after --to', () => {
    expect(resolve([oneRange], { 1: 150 }, { to: '2025-01-02T00:00:00Z' })).toEqual({ common: 2, chains: { 1: [1, 2] } });
    expect(resolve([oneRange], { 1: 250 }, { to: '2025-01-02T00:00:00Z' })).toEqual({ common: 3, chains: { 1: [2, 3] } });
  });

  it('no range covers the position: exit code 4 with Zeebe\'s message and what the ranges cover', () => {
    for (const [position, shown] of [[10, 10], [500, 500], [-1, 1]] as const) {
      const error = failure(() => resolve([metadata(1, [cp1, cp2], [[1, 2]])], { 1: position }));
      expect(error).toBeInstanceOf(BackupNotFoundError);
      expect(error.message).toContain(`No usable range found for partition 1 with from=null, exportedPosition=${shown}. Available ranges: [RangeEntry[start=1, end=2]]`);
      expect(error.message).toContain("Partition 1's backup ranges (per metadata 1): [1 … 2] covers positions 50 to 200, taken 2025-01-01T00:00:00Z to 2025-01-02T00:00:00Z.");
    }
    expect(failure(() => resolve([twoRanges], { 1: 150 }, { from: '2024-01-01T00:00:00Z' })).message).toMatch(/^No usable range found for partition 1 with from=2024-01-01T00:00:00Z, exportedPosition=150\./);
  });

  it('no common checkpoint: exit code 4 with the counts per partition and each partition\'s checkpoints', () => {
    const p1 = metadata(1, [cp1, cp2], [[1, 2]]);
    const p2 = metadata(2, [entry(3, 300, '2025-01-03', undefined, 201), entry(4, 400, '2025-01-04', undefined, 301)], [[3, 4]]);
    const error = failure(() => resolve([p1, p2], { 1: 100, 2: 300 }));
    expect(error).toBeInstanceOf(BackupNotFoundError);
    expect(error.message).toContain('Could not find common checkpoint across partitions. Restorable checkpoint count per partition: {1=2, 2=2}');
    expect(error.message).toContain('Partition 2 (exported position 300): range [3 … 4] has checkpoints 3 at 300, 4 at 400 (per metadata 2).');
  });

  it('a gap inside a range and a range without its checkpoints are invalid backup metadata (exit code 5)', () => {
    const gap = failure(() => resolve([metadata(1, [cp1, entry(2, 400, '2025-01-02', undefined, 300)], [[1, 2]])], { 1: 100 }));
    expect(gap).toBeInstanceOf(BackupInvalidError);
    expect(gap.message).toMatch(/^Unexpected data gaps between backup 2 with first log position 400 and backup 1 with checkpoint position 100\. Partition 1: backup 2's log starts at position 300/);
    const dangling = failure(() => resolve([metadata(1, [cp1], [[1, 2]])], { 1: 100 }));
    expect(dangling).toBeInstanceOf(BackupInvalidError);
    expect(dangling.message).toMatch(/^Could not find checkpoint info for range RangeEntry\[start=1, end=2\] in partition 1\. Number of available checkpoints: 1/);
  });

  it('positions beyond 2^53 are compared exactly', () => {
    const big = 9007199254740993n;
    const p1 = metadata(1, [entry(1, big - 10n, '2025-01-01', undefined, 1), entry(2, big + 1n, '2025-01-02', undefined, Number(big - 20n))], [[1, 2]]);
    expect(resolve([p1], { 1: big })).toEqual({ common: 2, chains: { 1: [1, 2] } });
    expect(resolve([p1], { 1: big - 10n })).toEqual({ common: 2, chains: { 1: [1, 2] } });
  });
});
