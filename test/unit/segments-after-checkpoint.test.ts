import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';
import { segmentStart } from '../../src/journal/segment-start.js';
import { findCompletedCopy } from '../../src/restore/find-backup.js';
import { withoutSegmentsAfterCheckpoint } from '../../src/restore/segments-after-checkpoint.js';
import { planCopy } from '../../src/restore/validate-copy.js';
import { FilesystemStore } from '../../src/store/filesystem-store.js';
import { contentKey } from '../../src/store/store-layout.js';
import { fixturePartitionBackup, fixtures, tempDir } from '../support/fixtures.js';
import { quiet } from '../support/object-store-suite.js';

const segment = (id: number) => join(fixtures, 'journal-b', `raft-partition-partition-2-${id}.log`);
const head = async (id: number, bytes = 64 * 1024) => (await readFile(segment(id))).subarray(0, bytes);

describe('segmentStart: where a segment starts, from its first bytes (Zeebe 8.5.4 segments)', () => {
  it('reads the first position of written segments', async () => {
    // journal-b.json: the first asqn of each segment.
    for (const [id, firstPosition] of [[1, 1n], [2, 4764n], [3, 9671n], [4, 14602n]] as const) {
      expect(segmentStart(await head(id), `segment ${id}`, false)).toEqual({ kind: 'position', firstPosition });
    }
  });

  it('calls a preallocated segment, or an empty file, empty', async () => {
    expect(segmentStart(await head(5), 'segment 5', false)).toEqual({ kind: 'empty' });
    expect(segmentStart(Buffer.alloc(0), 'empty file', true)).toEqual({ kind: 'empty' });
    // No bytes of a longer file (a decoder that has not produced any yet) prove nothing.
    expect(segmentStart(Buffer.alloc(0), 'no bytes yet', false)).toEqual({ kind: 'unknown' });
  });

  it('says unknown when the bytes cut the first frame, or the frame is corrupt', async () => {
    expect(segmentStart(await head(1, 80), 'cut', false)).toEqual({ kind: 'unknown' });
    const corrupt = Buffer.from(await head(1));
    corrupt[120] = corrupt[120]! ^ 0xff;
    expect(segmentStart(corrupt, 'corrupt', false)).toEqual({ kind: 'unknown' });
    expect(segmentStart(Buffer.alloc(100, 7), 'garbage', false)).toEqual({ kind: 'unknown' });
  });
});

describe('withoutSegmentsAfterCheckpoint', () => {
  const planFor = async (checkpointPosition: bigint) => {
    const base = await tempDir();
    const backup = await fixturePartitionBackup(7n);
    await writeFilesystemBackup(base, { ...backup, descriptor: { ...backup.descriptor!, checkpointPosition } });
    const store = new FilesystemStore(base);
    const copy = await findCompletedCopy(store, 1, 7n, quiet);
    return { store, copy, base, plan: await withoutSegmentsAfterCheckpoint(store, copy, planCopy(copy, 1)) };
  };
  const names = (files: { name: string }[] | undefined) => (files ?? []).map(({ name }) => name.replace('raft-partition-partition-1-', ''));

  it('leaves out the segments that start after the checkpoint and the preallocated one', async () => {
    // Position 11003 is in segment 3; 4 starts at 14602; 5 was never written.
    const { plan } = await planFor(11003n);
    expect(names(plan.segmentFiles)).toEqual(['1.log', '2.log', '3.log']);
    expect(names(plan.segmentsAfterCheckpoint)).toEqual(['4.log', '5.log']);
  });

  it('keeps the segment that holds the checkpoint, even as its last entry', async () => {
    const { plan } = await planFor(15270n);
    expect(names(plan.segmentFiles)).toEqual(['1.log', '2.log', '3.log', '4.log']);
    expect(names(plan.segmentsAfterCheckpoint)).toEqual(['5.log']);
  });

  it('keeps the first segment whatever the checkpoint, so a missing checkpoint is reported as before', async () => {
    const { plan } = await planFor(0n);
    expect(names(plan.segmentFiles)).toEqual(['1.log']);
  });

  it('keeps a segment whose start it cannot read, and every segment before it', async () => {
    const { store, copy, base } = await planFor(11003n);
    const stored = join(base, contentKey(1, 7n, copy.ref.nodeSegment, 'segments', 'raft-partition-partition-1-4.log'));
    await writeFile(stored, Buffer.alloc(100, 7));
    const plan = await withoutSegmentsAfterCheckpoint(store, copy, planCopy(copy, 1));
    expect(names(plan.segmentFiles)).toEqual(['1.log', '2.log', '3.log', '4.log']);
    expect(names(plan.segmentsAfterCheckpoint)).toEqual(['5.log']);
  });
});
