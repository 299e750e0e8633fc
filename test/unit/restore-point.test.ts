import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/chain/instant.js';
import { catalogFromManifests, type CheckpointInfo, type PartitionCatalog, parsePartitionMetadata } from '../../src/chain/partition-catalog.js';
import { resolveRestorePoint } from '../../src/chain/restore-point.js';
import { BackupInvalidError, BackupNotFoundError } from '../../src/errors.js';
import type { BackupManifest } from '../../src/manifest/manifest.js';
import { parseBackupIds, parseTimeArgument } from '../../src/cli/backup-id.js';

const at = (hour: number, minute = 0) => parseInstant(`2026-01-10T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`)!;

/** Backup `id` taken at hour id/100 + 9, its log starting right after the previous checkpoint unless `gap`. */
function checkpoint(id: number, options: { type?: string; gap?: boolean } = {}): CheckpointInfo {
  const position = BigInt(id * 10);
  return {
    checkpointId: BigInt(id),
    checkpointPosition: position,
    timestamp: at(9 + id / 100),
    type: options.type ?? 'SCHEDULED_BACKUP',
    firstLogPosition: options.gap ? position - 5n : position - 1500n,
  };
}

function catalog(partitionId: number, ids: number[], ranges: [number, number][], types: Record<number, string> = {}): PartitionCatalog {
  return {
    partitionId,
    checkpoints: ids.map((id) => checkpoint(id, types[id] ? { type: types[id] } : {})),
    ranges: ranges.map(([start, end]) => ({ start: BigInt(start), end: BigInt(end) })),
    source: `test catalog ${partitionId}`,
  };
}

const chainsOf = (point: ReturnType<typeof resolveRestorePoint>) =>
  Object.fromEntries(point.chains.map((chain) => [chain.partitionId, chain.backups.map((backup) => Number(backup.checkpointId))]));

describe('choosing the restore point of a time range across 3 partitions', () => {
  const three = [catalog(1, [100, 200, 300, 400], [[100, 400]]), catalog(2, [100, 200, 300, 400], [[100, 400]]), catalog(3, [100, 200, 300], [[100, 300]])];

  it('--to: the newest backup at or before it that every partition has; the chain starts at the newest backup at or before --from', () => {
    const point = resolveRestorePoint(three, { from: at(10, 30), to: at(13, 30) });
    expect(point.checkpointId).toBe(300n);
    expect(point.timestamp.iso).toBe('2026-01-10T12:00:00Z');
    expect(chainsOf(point)).toEqual({ 1: [100, 200, 300], 2: [100, 200, 300], 3: [100, 200, 300] });
  });

  it('a later --from shortens the chain; --to alone restores the restore point backup by itself', () => {
    expect(chainsOf(resolveRestorePoint(three, { from: at(11, 5), to: at(12, 59) }))).toEqual({ 1: [200, 300], 2: [200, 300], 3: [200, 300] });
    const toOnly = resolveRestorePoint(three, { to: at(11, 59) });
    expect(toOnly.checkpointId).toBe(200n);
    expect(chainsOf(toOnly)).toEqual({ 1: [200], 2: [200], 3: [200] });
    expect(resolveRestorePoint(three, {}).checkpointId).toBe(300n);
  });

  it('never restores a checkpoint taken after --to, and skips MARKER checkpoints (no backup behind them)', () => {
    const withMarker = [catalog(1, [100, 200, 250, 300], [[100, 300]], { 250: 'MARKER' }), catalog(2, [100, 200, 250, 300], [[100, 300]], { 250: 'MARKER' })];
    expect(resolveRestorePoint(withMarker, { to: at(11, 45) }).checkpointId).toBe(200n);
    expect(chainsOf(resolveRestorePoint(withMarker, { from: at(10), to: at(12) }))).toEqual({ 1: [100, 200, 300], 2: [100, 200, 300] });
  });

  it('--from selects the backup range: one starting after --from does not qualify', () => {
    // Partition 2's log has a gap between 200 and 300: two ranges.
    const split = [catalog(1, [100, 200, 300, 400], [[100, 400]]), catalog(2, [100, 200, 300, 400], [[100, 200], [300, 400]])];
    expect(resolveRestorePoint(split, { from: at(10, 30), to: at(13, 30) }).checkpointId).toBe(200n);
    expect(chainsOf(resolveRestorePoint(split, { from: at(12, 30), to: at(13, 30) }))).toEqual({ 1: [300, 400], 2: [300, 400] });
  });

  it('no restore point: a clear error listing what was tried and every partition ranges', () => {
    const error = (() => {
      try {
        resolveRestorePoint(three, { from: at(9), to: at(13, 30) });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected an error');
    })();
    expect(error).toBeInstanceOf(BackupNotFoundError);
    expect(error.message).toContain('No restore point fits --from=2026-01-10T09:00:00Z --to=2026-01-10T13:30:00Z');
    expect(error.message).toContain('Backup 400 (2026-01-10T13:00:00Z): the backups of partition 1 up to 400 go back without a gap only to backup 100');
    expect(() => resolveRestorePoint(three, { from: at(10), to: at(13, 30) })).not.toThrow();
    const missing400 = catalog(3, [100, 200, 300], [[100, 100], [200, 200], [300, 300]]);
    // Partition 3's backups do not follow each other: only a range that starts by --from will do.
    const point = resolveRestorePoint([three[0]!, missing400], { from: at(10, 30), to: at(13, 30) });
    expect(point.checkpointId).toBe(100n);
    expect(() => resolveRestorePoint(three, { to: at(9, 30) })).toThrow(/The first backup of partition 1 is 100, taken 2026-01-10T10:00:00Z; none was taken at or before --to/);
  });

  it('metadata that puts backups with a gap in one range is refused', () => {
    const lying = catalog(1, [100, 200], [[100, 200]]);
    lying.checkpoints[1] = checkpoint(200, { gap: true });
    expect(() => resolveRestorePoint([lying], { from: at(10), to: at(11) })).toThrow(BackupInvalidError);
  });
});

describe('the per-partition backup metadata (8.9) and the manifest fallback', () => {
  it('reads BackupMetadata (version 1) and the two-slot BackupMetadataManifest, ignoring unknown fields', () => {
    const v1 = parsePartitionMetadata(
      {
        location: 'metadata/2/metadata.json',
        text: JSON.stringify({
          version: 1,
          partitionId: 2,
          lastUpdated: '2026-01-10T13:00:00.123456789Z',
          checkpoints: [
            { checkpointId: 100, checkpointPosition: 1000, checkpointTimestamp: '2026-01-10T10:00:00Z', checkpointType: 'SCHEDULED_BACKUP', firstLogPosition: 1 },
            { checkpointId: 150, checkpointPosition: 1500, checkpointTimestamp: '2026-01-10T10:30:00Z', checkpointType: 'MARKER', firstLogPosition: -1 },
          ],
          ranges: [{ start: 100, end: 100 }],
          future: true,
        }),
      },
      2,
    );
    expect(v1.catalog.checkpoints).toMatchObject([
      { checkpointId: 100n, checkpointPosition: 1000n, type: 'SCHEDULED_BACKUP', firstLogPosition: 1n, timestamp: { iso: '2026-01-10T10:00:00Z' } },
      { checkpointId: 150n, type: 'MARKER' },
    ]);
    expect(v1.catalog.checkpoints[1]).not.toHaveProperty('firstLogPosition');
    expect(v1.lastUpdated?.iso).toBe('2026-01-10T13:00:00.123456789Z');
    const slot = parsePartitionMetadata(
      {
        location: 'metadata/2/b.json',
        text: '{"partitionId":2,"sequenceNumber":9223372036854775807,"checkpoints":[{"checkpointId":9007199254740993,"checkpointPosition":5,"checkpointTimestamp":1768039200000,"checkpointType":"MANUAL_BACKUP","firstLogPosition":1,"numberOfPartitions":3,"brokerVersion":"8.9.0"}],"ranges":[]}',
      },
      2,
    );
    expect(slot.sequenceNumber).toBe(9223372036854775807n);
    expect(slot.catalog.checkpoints[0]).toMatchObject({ checkpointId: 9007199254740993n, timestamp: { iso: '2026-01-10T10:00:00Z' } });
    expect(() => parsePartitionMetadata({ location: 'metadata/3/x.json', text: '{"partitionId":2,"checkpoints":[],"ranges":[]}' }, 3)).toThrow(
      /describes partition 2, but lies under partition 3/,
    );
  });

  it('without metadata, ranges follow from the manifests: firstLogPosition at or before the previous checkpoint + 1', () => {
    const manifest = (id: number, firstLogPosition?: number, status: BackupManifest['status'] = 'COMPLETED'): BackupManifest => ({
      nodeId: 0,
      partitionId: 1,
      checkpointId: BigInt(id),
      status,
      snapshotFiles: [],
      segmentFiles: [],
      createdAt: `2026-01-10T0${id / 100}:00:00Z`,
      descriptor: {
        checkpointPosition: BigInt(id * 10),
        numberOfPartitions: 1,
        brokerVersion: '8.9.0',
        ...(firstLogPosition === undefined ? {} : { firstLogPosition: BigInt(firstLogPosition) }),
      },
    });
    const result = catalogFromManifests(1, [manifest(100, 1), manifest(200, 1001), manifest(300, 2500), manifest(400, 2900), manifest(500, undefined), manifest(600, 1, 'FAILED')]);
    expect(result.checkpoints.map((c) => Number(c.checkpointId))).toEqual([100, 200, 300, 400, 500]);
    expect(result.ranges.map(({ start, end }) => [Number(start), Number(end)])).toEqual([[100, 200], [300, 400], [500, 500]]);
    expect(result.checkpoints[0]!.timestamp.iso).toBe('2026-01-10T01:00:00Z');
    expect(result.source).toMatch(/the backup manifests/);
  });
});

describe('command-line values', () => {
  it('--backupId takes a comma-separated chain, sorted oldest first', () => {
    expect(parseBackupIds('300, 100,200')).toEqual([100n, 200n, 300n]);
    expect(() => parseBackupIds('100,100')).toThrow(/names backup 100 more than once/);
    expect(() => parseBackupIds('100,,200')).toThrow(/must be a backup id/);
  });

  it('--from/--to are ISO-8601 instants with a zone, kept to the nanosecond', () => {
    expect(parseTimeArgument('--to', '2026-01-10T15:00:00.123456789+01:00')).toEqual({ nanos: 1768053600123456789n, iso: '2026-01-10T14:00:00.123456789Z' });
    expect(parseTimeArgument('--from', '2026-01-10T14:00Z').iso).toBe('2026-01-10T14:00:00Z');
    expect(() => parseTimeArgument('--to', '2026-01-10 14:00')).toThrow(/is not an ISO-8601 instant with a zone/);
    expect(() => parseTimeArgument('--to', 'yesterday')).toThrow(/--to=yesterday/);
  });
});
