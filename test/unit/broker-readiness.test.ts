import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogSummaryBuilder, type LogSummary } from '../../src/journal/log-summary.js';
import { decodeRaftEntry, encodeRaftEntry, nodeIdOfMember, type RaftEntry, type RaftMember } from '../../src/journal/raft-entry.js';
import { checkRestoredLayout, membershipMismatch, requireStartable, startupProblems } from '../../src/restore/broker-readiness.js';
import { positionsFromSnapshotId, readSnapshotPositions, type SnapshotPositions } from '../../src/snapshot/snapshot-positions.js';
import { fixtures, fixtureSnapshotId, tempDir } from '../support/fixtures.js';

const member = (id: string, type: RaftMember['type'] = 'ACTIVE'): RaftMember => ({ id, type, updated: 1767225600000n });
const configuration = (ids: string[], old: string[] = []): Extract<RaftEntry, { kind: 'configuration' }> => ({
  kind: 'configuration',
  term: 3n,
  timestamp: 1767225600123n,
  members: ids.map((id) => member(id)),
  oldMembers: old.map((id) => member(id)),
});

describe('Raft entries (SBE schema 8, RaftEntrySBESerializer)', () => {
  it('encodes the bytes Zeebe 8.5 writes and decodes them back', () => {
    const application = encodeRaftEntry({ kind: 'application', term: 2n, lowestPosition: 10n, highestPosition: 14n }, Buffer.from('batch'));
    // RaftLogEntry header (blockLength 9, template 1, schema 8, version 3), term, type 0;
    // ApplicationEntry header (16, 2, 8, 3), lowest, highest, then the u32-length blob.
    expect(application.toString('hex')).toBe(
      '0900010008000300' + '0200000000000000' + '00' +
        '1000020008000300' + '0a00000000000000' + '0e00000000000000' + '05000000' + Buffer.from('batch').toString('hex'),
    );
    expect(decodeRaftEntry(application)).toEqual({ kind: 'application', term: 2n, lowestPosition: 10n, highestPosition: 14n });
    expect(decodeRaftEntry(encodeRaftEntry({ kind: 'initial', term: 7n }))).toEqual({ kind: 'initial', term: 7n });
    const config = configuration(['0', '1', '2'], ['0', '1']);
    expect(decodeRaftEntry(encodeRaftEntry(config))).toEqual(config);
  });

  it('reads a newer schema version with a longer block, and one without the old-members group', () => {
    const entry = encodeRaftEntry(configuration(['1']));
    // Schema version 2+ always writes oldMembers; a version-1 entry ends after newMembers.
    const withoutOldMembers = entry.subarray(0, entry.length - 3);
    expect(decodeRaftEntry(withoutOldMembers)).toEqual(configuration(['1']));
    // A RaftLogEntry block two bytes longer, as a newer version that appended a field would write.
    const longer = Buffer.concat([entry.subarray(0, 17), Buffer.alloc(2), entry.subarray(17)]);
    longer.writeUInt16LE(11, 0);
    longer.writeUInt16LE(4, 6);
    expect(decodeRaftEntry(longer)).toEqual(configuration(['1']));
  });

  it('says undefined for data that is not a Raft entry, never throwing', () => {
    for (let seed = 0; seed < 500; seed++) {
      const random = Buffer.from(Array.from({ length: 40 + (seed % 60) }, (_, i) => (seed * 31 + i * 17) % 256));
      expect(decodeRaftEntry(random)).toBeUndefined();
    }
    const config = encodeRaftEntry(configuration(['0', '1']));
    // Every cut but the one after the newMembers group (the schema-version-1 form, read above).
    for (let cut = 0; cut < config.length; cut++) {
      if (cut !== config.length - 3) expect(decodeRaftEntry(config.subarray(0, cut)), `cut at ${cut}`).toBeUndefined();
    }
    expect(decodeRaftEntry(Buffer.concat([config, Buffer.of(0)]))).toBeUndefined();
  });

  it('maps member ids to node ids, with or without a zone', () => {
    expect(['0', '12', 'zone-a/3', 'broker'].map(nodeIdOfMember)).toEqual([0, 12, 3, undefined]);
  });
});

describe('LogSummaryBuilder', () => {
  const entry = (index: bigint, asqn: bigint, data: Buffer) => ({ index, asqn, data });

  it('collects indexes, positions up to the last batch end, and the newest configuration', () => {
    const builder = new LogSummaryBuilder();
    builder.add(entry(5n, -1n, encodeRaftEntry(configuration(['0', '1', '2']))));
    builder.add(entry(6n, 100n, encodeRaftEntry({ kind: 'application', term: 1n, lowestPosition: 100n, highestPosition: 102n })));
    builder.add(entry(7n, -1n, encodeRaftEntry(configuration(['1', '2', '3']))));
    builder.add(entry(8n, -1n, encodeRaftEntry({ kind: 'initial', term: 2n })));
    builder.add(entry(9n, 103n, encodeRaftEntry({ kind: 'application', term: 2n, lowestPosition: 103n, highestPosition: 104n })));
    expect(builder.summary()).toEqual({
      firstIndex: 5n,
      lastIndex: 9n,
      positions: { first: 100n, last: 104n },
      configuration: { index: 7n, members: configuration(['1', '2', '3']).members, oldMembers: [] },
    });
  });

  it('takes positions from the journal asqns where entries are not decodable', () => {
    const builder = new LogSummaryBuilder();
    builder.add(entry(1n, -1n, Buffer.alloc(30, 1)));
    builder.add(entry(2n, 7n, Buffer.alloc(30, 2)));
    builder.add(entry(3n, 9n, Buffer.alloc(30, 3)));
    expect(builder.summary()).toEqual({ firstIndex: 1n, lastIndex: 3n, positions: { first: 7n, last: 9n } });
  });
});

describe('startupProblems: what would stop a broker from starting on a restored partition', () => {
  const log = (firstIndex: bigint, first: bigint, last: bigint): LogSummary => ({ firstIndex, lastIndex: firstIndex + 100n, positions: { first, last } });
  const snapshot = (index: bigint, processedPosition: bigint, exportedPosition: bigint, extra: Partial<SnapshotPositions> = {}): SnapshotPositions => ({
    index,
    processedPosition,
    exportedPosition,
    source: 'zeebe.metadata',
    ...extra,
  });
  const problems = (log: LogSummary, positions?: SnapshotPositions) =>
    startupProblems({ partitionId: 1, log, ...(positions ? { snapshot: positions, snapshotId: 'the-snapshot' } : {}) });

  it('accepts a log that continues the snapshot and holds its positions', () => {
    expect(problems(log(1n, 1n, 500n), snapshot(80n, 300n, 250n))).toEqual([]);
    // The log may start right after the snapshot (index S + 1, position P + 1): compacted up to it.
    expect(problems(log(81n, 301n, 500n), snapshot(80n, 300n, 300n))).toEqual([]);
    // The processed position may be the last one (the checkpoint itself).
    expect(problems(log(1n, 1n, 500n), snapshot(80n, 500n, 450n))).toEqual([]);
    // Without a snapshot the log starts at index 1; exported 0 means no exporter had a position.
    expect(problems(log(1n, 1n, 500n))).toEqual([]);
    expect(problems(log(81n, 301n, 500n), snapshot(80n, 300n, 0n))).toEqual([]);
  });

  it('Raft: the log must start at index 1, or at most one past the snapshot', () => {
    expect(problems(log(82n, 305n, 500n), snapshot(80n, 300n, 300n)).join()).toContain(
      "the log starts at index 82, more than one past the snapshot's index 80: Raft would refuse to start",
    );
    expect(problems(log(2n, 5n, 500n)).join()).toContain('the log starts at index 2, but without a snapshot it must start at index 1');
    // A snapshot at index 0 (no exporter position yet) counts as none, as in StateUtil.
    expect(problems(log(2n, 5n, 500n), snapshot(0n, 3n, 0n)).join()).toContain('Raft would refuse to start');
  });

  it('the stream processor: the log must hold the processed position or start right after it', () => {
    expect(problems(log(1n, 1n, 500n), snapshot(80n, 600n, 450n)).join()).toContain(
      "the processed position 600 of snapshot the-snapshot's zeebe.metadata is not in the log (the log holds positions 1 to 500)",
    );
    expect(problems(log(81n, 302n, 500n), snapshot(80n, 300n, 300n)).join()).toContain('the processed position 300');
  });

  it('the exporters: the log must hold the exported position, and not end before maxExportedPosition', () => {
    expect(problems(log(81n, 290n, 500n), snapshot(80n, 300n, 250n)).join()).toContain(
      "the exported position 250 of snapshot the-snapshot's zeebe.metadata is not in the log (the log holds positions 290 to 500): the exporters could not resume",
    );
    expect(problems(log(1n, 1n, 500n), snapshot(80n, 300n, 250n, { maxExportedPosition: 520n })).join()).toContain(
      'the exporters had exported up to position 520 (maxExportedPosition of',
    );
    expect(problems(log(1n, 1n, 500n), snapshot(80n, 300n, 250n, { maxExportedPosition: 500n }))).toEqual([]);
  });

  it('fails with exit code 5 naming every problem', () => {
    expect(() => requireStartable({ partitionId: 1, snapshotId: 's', snapshot: snapshot(80n, 600n, 700n), log: log(90n, 400n, 500n) })).toThrow(
      expect.objectContaining({ exitCode: 5, message: expect.stringMatching(/index 90.*processed position 600.*exported position 700/) }),
    );
  });
});

describe('membershipMismatch: the log\'s Raft members against the configured layout', () => {
  const withConfiguration = (ids: string[], old: string[] = []): LogSummary => ({
    firstIndex: 1n,
    lastIndex: 9n,
    configuration: { index: 4n, members: ids.map((id) => member(id)), oldMembers: old.map((id) => member(id)) },
  });

  it('finds none when the members match, in any order, or when the log has no configuration entry', () => {
    expect(membershipMismatch(withConfiguration(['2', '0', '1']), [0, 1, 2])).toBeUndefined();
    expect(membershipMismatch({ firstIndex: 1n, lastIndex: 9n }, [0, 1, 2])).toBeUndefined();
  });

  it('reports other members, a different count, and a change under way', () => {
    expect(membershipMismatch(withConfiguration(['2', '3', '4']), [0, 1, 2])).toMatchObject({ configurationIndex: 4n, expectedNodes: [0, 1, 2] });
    expect(membershipMismatch(withConfiguration(['0', '1']), [0, 1, 2])).toBeDefined();
    expect(membershipMismatch(withConfiguration(['0', '1', '2'], ['0', '1']), [0, 1, 2])).toBeDefined();
  });
});

describe('snapshot positions', () => {
  it('come from the id, or from zeebe.metadata where the snapshot has one', async () => {
    expect(positionsFromSnapshotId('1204500-1-2549184-2548356-2')).toEqual({
      index: 1204500n,
      processedPosition: 2549184n,
      exportedPosition: 2548356n,
      source: 'snapshot id',
    });
    expect(positionsFromSnapshotId('not-a-zeebe-id')).toBeUndefined();
    const fixtureDirectory = join(fixtures, 'snapshot-b', fixtureSnapshotId);
    expect(await readSnapshotPositions(fixtureDirectory, fixtureSnapshotId)).toEqual({
      index: 3806n,
      processedPosition: 9670n,
      exportedPosition: 9600n,
      source: 'zeebe.metadata',
    });
  });

  it('read 8.9 metadata with maxExportedPosition, longs without rounding, and missing fields from the id', async () => {
    const directory = await tempDir();
    await writeFile(
      join(directory, 'zeebe.metadata'),
      '{"version":1,"processedPosition":9007199254740993,"maxExportedPosition":9007199254740995,"lastFollowupEventPosition":1,"bootstrap":false}',
    );
    expect(await readSnapshotPositions(directory, '5-1-7-6-0')).toEqual({
      index: 5n,
      processedPosition: 9007199254740993n,
      exportedPosition: 6n,
      maxExportedPosition: 9007199254740995n,
      source: 'zeebe.metadata',
    });
    // Jackson's "unknown" (Long.MAX_VALUE) for metadata written before 8.9.
    await writeFile(join(directory, 'zeebe.metadata'), '{"processedPosition":7,"exportedPosition":6,"maxExportedPosition":9223372036854775807}');
    expect(await readSnapshotPositions(directory, '5-1-7-6-0')).not.toHaveProperty('maxExportedPosition');
  });

  it('fail with exit code 5 for metadata that is not Zeebe\'s', async () => {
    const directory = await tempDir();
    await writeFile(join(directory, 'zeebe.metadata'), '{"processedPosition":"soon"}');
    await expect(readSnapshotPositions(directory, '5-1-7-6')).rejects.toMatchObject({
      exitCode: 5,
      message: 'The metadata of snapshot 5-1-7-6 (zeebe.metadata) is not valid: processedPosition must be a whole number.',
    });
    await writeFile(join(directory, 'zeebe.metadata'), 'not json');
    await expect(readSnapshotPositions(directory, '5-1-7-6')).rejects.toMatchObject({ exitCode: 5 });
  });
});

describe("checkRestoredLayout: Zeebe 8.9's PostRestoreValidator on the staged data", () => {
  it('accepts partitions with a log and their snapshot, and node 0 with its topology file', async () => {
    const directory = await tempDir();
    await mkdir(join(directory, 'p1/snapshots/5-1-7-6'), { recursive: true });
    await writeFile(join(directory, 'p1/raft-partition-partition-1-1.log'), '');
    await writeFile(join(directory, 'p1/snapshots/5-1-7-6.checksum'), '');
    await writeFile(join(directory, '.topology.meta'), '');
    await expect(
      checkRestoredLayout(0, [{ partitionId: 1, directory: join(directory, 'p1'), snapshotId: '5-1-7-6' }], join(directory, '.topology.meta')),
    ).resolves.toBeUndefined();
  });

  it('fails with its message, naming what is missing', async () => {
    const directory = await tempDir();
    await mkdir(join(directory, 'p2/snapshots'), { recursive: true });
    const error = await checkRestoredLayout(
      0,
      [{ partitionId: 2, directory: join(directory, 'p2'), snapshotId: '5-1-7-6' }],
      join(directory, '.topology.meta'),
    ).then(
      () => new Error('expected the layout check to fail'),
      (caught: unknown) => caught as Error,
    );
    expect(error.message).toContain('Expected to find restored data on node 0, but validation failed: partition 2 has no log segment');
    expect(error.message).toContain('partition 2 lacks snapshots/5-1-7-6.checksum');
    expect(error.message).toContain(`the cluster topology file ${join(directory, '.topology.meta')} is missing`);
  });
});
