import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listJournalSegments, readJournalFrames } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { tempDir as temporaryDirectory } from '../support/fixtures.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'zeebe-8.5.4');
const journalFixture = join(fixtures, 'journal-b');
const partitionId = 2;
const maxSegmentSize = 524288;


async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('JournalWriter', () => {
  it('rewrites the entries of the Zeebe 8.5.4 journal into byte-identical segment files', async () => {
    const dir = await temporaryDirectory();
    const writer = await JournalWriter.create(dir, partitionId, maxSegmentSize, { preallocateNextSegment: true });
    for await (const frame of readJournalFrames(await listJournalSegments(journalFixture, partitionId))) {
      await writer.append({ asqn: frame.asqn, data: frame.data });
    }
    const written = await writer.close();

    const expectedSums = (await readFile(join(fixtures, 'journal-b.sha256sums'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => {
        const [sum, file] = line.split(/\s+/);
        return { sum, fileName: file!.split('/').at(-1)! };
      });
    expect(expectedSums).toHaveLength(5);
    expect(written).toEqual({ files: expectedSums.map((expected) => expected.fileName), lastIndex: 6000n });
    expect((await readdir(dir)).sort()).toEqual(expectedSums.map((expected) => expected.fileName).sort());
    for (const { sum, fileName } of expectedSums) {
      expect(await sha256(join(dir, fileName)), fileName).toBe(sum);
    }
  });

  it('lets a frame end exactly at the end of the segment and rolls over only when it would cross it', async () => {
    const dir = await temporaryDirectory();
    // Descriptor 57 + two frames of 21 + 28 + 100 bytes = 355.
    const writer = await JournalWriter.create(dir, 1, 355);
    for (const asqn of [1n, 2n, 3n]) await writer.append({ asqn, data: Buffer.alloc(100, Number(asqn)) });
    expect(await writer.close()).toEqual({
      files: ['raft-partition-partition-1-1.log', 'raft-partition-partition-1-2.log'],
      lastIndex: 3n,
    });

    const segments = await listJournalSegments(dir, 1);
    expect(segments.map((segment) => segment.descriptor)).toEqual([
      { id: 1n, index: 1n, maxSegmentSize: 355, lastIndex: 2n, lastPosition: 206 },
      { id: 2n, index: 3n, maxSegmentSize: 355, lastIndex: 0n, lastPosition: 0 },
    ]);
    const entries = [];
    for await (const frame of readJournalFrames(segments)) entries.push([frame.index, frame.asqn, frame.data[0]]);
    expect(entries).toEqual([
      [1n, 1n, 1],
      [2n, 2n, 2],
      [3n, 3n, 3],
    ]);
  });

  it('writes frames larger than its write chunk and starts at the given first index', async () => {
    const dir = await temporaryDirectory();
    const writer = await JournalWriter.create(dir, 3, 4 * 1024 * 1024, { firstIndex: 100n });
    const sizes = [300_000, 1_500_000, 10, 900_000];
    for (const [i, size] of sizes.entries()) await writer.append({ asqn: BigInt(i * 10), data: Buffer.alloc(size, i) });
    expect((await writer.close()).lastIndex).toBe(103n);

    const frames = [];
    for await (const frame of readJournalFrames(await listJournalSegments(dir, 3))) {
      const filled = frame.data.every((byte) => byte === frame.data[0]);
      frames.push({ index: frame.index, length: frame.data.length, filled });
    }
    expect(frames).toEqual(sizes.map((length, i) => ({ index: BigInt(100 + i), length, filled: true })));
  });

  it('refuses positions that do not increase and entries larger than a segment', async () => {
    const dir = await temporaryDirectory();
    const writer = await JournalWriter.create(dir, 1, 1024);
    await writer.append({ asqn: 5n, data: Buffer.alloc(10) });
    await writer.append({ asqn: -1n, data: Buffer.alloc(10) });
    await expect(writer.append({ asqn: 5n, data: Buffer.alloc(10) })).rejects.toThrow(/asqn 5 must be larger/);
    await writer.append({ asqn: 6n, data: Buffer.alloc(800) });
    await expect(writer.append({ asqn: 7n, data: Buffer.alloc(1000) })).rejects.toThrow(/does not fit/);
    await writer.close();
  });
});
