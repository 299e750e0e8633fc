import { createHash } from 'node:crypto';
import { cp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectZeebeTruncatedJournal, zeebeTruncations } from '../support/restore-checks.js';
import { BackupInvalidError } from '../../src/errors.js';
import {
  decodeFrameAt,
  listJournalSegments,
  readJournalFrames,
  readSegmentFrames,
  type JournalSegment,
  type WrittenSegment,
} from '../../src/journal/journal-reader.js';
import {
  DESCRIPTOR_LENGTH,
  encodeSegmentDescriptor,
  parseSegmentDescriptor,
  parseSegmentFileName,
} from '../../src/journal/segment-format.js';
import { truncateJournalAtCheckpoint } from '../../src/journal/truncate.js';
import { flipByte, tempDir as temporaryDirectory } from '../support/fixtures.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'zeebe-8.5.4');
const journalFixture = join(fixtures, 'journal-b');
const partitionId = 2;
const segmentName = (id: number) => `raft-partition-partition-2-${id}.log`;

interface JournalReport {
  asqns: number[];
  segmentInfo: { file: string; descriptorValid: boolean; index?: number; lastIndex?: number; lastPosition?: number }[];
}
const report = JSON.parse(await readFile(join(fixtures, 'journal-b.json'), 'utf8')) as JournalReport;


async function copyOfJournal(): Promise<string> {
  const dir = await temporaryDirectory();
  await cp(journalFixture, dir, { recursive: true });
  return dir;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function overwrite(path: string, offset: number, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, offset);
  } finally {
    await handle.close();
  }
}


async function byteAt(path: string, offset: number): Promise<number> {
  return (await readFile(path)).readUInt8(offset);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BackupInvalidError);
  return error as Error;
}

function written(segments: JournalSegment[], fileName: string): WrittenSegment {
  const segment = segments.find((candidate) => candidate.fileName === fileName);
  if (!segment?.descriptor) throw new Error(`${fileName} is not a written segment`);
  return { ...segment, descriptor: segment.descriptor };
}

async function framesOf(segment: WrittenSegment) {
  const frames = [];
  for await (const frame of readSegmentFrames(segment)) frames.push(frame);
  return frames;
}

describe('segment format', () => {
  it('decodes and re-encodes the fixture descriptors byte for byte', async () => {
    for (const info of report.segmentInfo.filter((segment) => segment.descriptorValid)) {
      const path = join(journalFixture, info.file);
      const bytes = (await readFile(path)).subarray(0, DESCRIPTOR_LENGTH);
      const descriptor = parseSegmentDescriptor(bytes, path);
      expect(descriptor).toMatchObject({
        index: BigInt(info.index!),
        lastIndex: BigInt(info.lastIndex!),
        lastPosition: info.lastPosition,
        maxSegmentSize: 524288,
      });
      expect(encodeSegmentDescriptor(descriptor!).equals(bytes)).toBe(true);
    }
  });

  it('treats a segment without descriptor as preallocated', async () => {
    const path = join(journalFixture, segmentName(5));
    expect(parseSegmentDescriptor((await readFile(path)).subarray(0, DESCRIPTOR_LENGTH), path)).toBeUndefined();
  });

  it('decodes every 64-bit index and position a frame can hold, and rejects a checksum with high bits', () => {
    // decodeFrameAt reads both through numbers when they are safe integers: the edges of that path.
    const edges = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n];
    const unsigned = fc.oneof(fc.constantFrom(...edges, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    const signed = fc.oneof(fc.constantFrom(...edges, -1n, -(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 63n)), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
    fc.assert(
      fc.property(unsigned, signed, fc.nat(64), (index, asqn, dataLength) => {
        const encoded = encodeFrame(index, asqn, dataLength);
        const bytes = Buffer.concat([encoded, Buffer.alloc(1)]);
        const window = { fileSize: bytes.length, bytes, start: 0, end: bytes.length };
        const frame = decodeFrameAt(window, 'segment', 0, index);
        expect(frame).toMatchObject({ offset: 0, frameLength: encoded.length, index, asqn });
        expect((frame as { data: Buffer }).data.equals(encoded.subarray(encoded.length - dataLength))).toBe(true);
        bytes[13] = 1; // the checksum's high word: a CRC32C never sets it
        expect(() => decodeFrameAt(window, 'segment', 0, index)).toThrow(/checksum mismatch: the frame says 1[0-9a-f]{8},/);
      }),
      { seed: 1313, numRuns: 500 },
    );
  });

  it('parses segment file names of a partition', () => {
    expect(parseSegmentFileName('raft-partition-partition-2-17.log')).toEqual({ partitionId: 2, segmentId: 17n });
    expect(parseSegmentFileName('raft-partition-partition-21-1.log')).toEqual({ partitionId: 21, segmentId: 1n });
    expect(parseSegmentFileName('raft-partition-partition-02-1.log')).toBeUndefined();
    expect(parseSegmentFileName('raft-partition-partition-2.meta')).toBeUndefined();
    expect(parseSegmentFileName('raft-partition-partition-2-1.log.tmp')).toBeUndefined();
  });
});

describe('journal reader', () => {
  it('reads every entry of the fixture journal with the asqns Zeebe wrote', async () => {
    const segments = await listJournalSegments(journalFixture, partitionId);
    expect(segments.map((segment) => segment.fileName)).toEqual([1, 2, 3, 4, 5].map(segmentName));
    let count = 0;
    const asqns: number[] = [];
    for await (const frame of readJournalFrames(segments)) {
      count += 1;
      expect(frame.index).toBe(BigInt(count));
      if (frame.asqn >= 0n) asqns.push(Number(frame.asqn));
      else expect(frame.index % 7n).toBe(0n);
    }
    expect(count).toBe(6000);
    expect(asqns).toEqual(report.asqns);
  });
});

/** One frame as Zeebe writes it (spec §1.2), with `dataLength` bytes of payload. */
function encodeFrame(index: bigint, asqn: bigint, dataLength: number): Buffer {
  const record = Buffer.alloc(28 + dataLength, Number(index % 256n));
  [16, 2, 7, 2].forEach((value, field) => record.writeUInt16LE(value, 2 * field));
  record.writeBigUInt64LE(index, 8);
  record.writeBigInt64LE(asqn, 16);
  record.writeUInt32LE(dataLength, 24);
  const header = Buffer.alloc(21);
  header.writeUInt8(1, 0);
  [12, 1, 7, 2].forEach((value, field) => header.writeUInt16LE(value, 1 + 2 * field));
  header.writeBigInt64LE(BigInt(crc32c(record)), 9);
  header.writeInt32LE(record.length, 17);
  return Buffer.concat([header, record]);
}

describe('journal reader on segments larger than its read chunk', () => {
  it('reads frames that straddle chunks and frames larger than a chunk', async () => {
    const dir = await temporaryDirectory();
    // Sizes chosen so frames cross the 1 MiB chunk boundaries and one frame exceeds a chunk.
    const dataLengths = [
      ...Array.from({ length: 40 }, (_, i) => 30_000 + i * 7),
      1_500_000,
      ...Array.from({ length: 40 }, (_, i) => 25_000 + i * 11),
    ];
    const frames = dataLengths.map((length, i) => encodeFrame(BigInt(i + 10), BigInt(i * 3), length));
    const descriptor = { id: 1n, index: 10n, maxSegmentSize: 8 * 1024 * 1024, lastIndex: 0n, lastPosition: 0 };
    await writeFile(
      join(dir, segmentName(1)),
      Buffer.concat([encodeSegmentDescriptor(descriptor), ...frames, Buffer.alloc(4096)]),
    );

    const segment = written(await listJournalSegments(dir, partitionId), segmentName(1));
    const read = await framesOf(segment);
    expect(read.map((frame) => frame.frameLength)).toEqual(frames.map((frame) => frame.length));
    expect(read.map((frame) => frame.index)).toEqual(dataLengths.map((_, i) => BigInt(i + 10)));
    expect(read.at(-1)!.asqn).toBe(BigInt((dataLengths.length - 1) * 3));
  });
});

describe('truncateJournalAtCheckpoint', () => {
  it('produces exactly the bytes of Zeebe 8.5.4 when truncating at asqn 11003', async () => {
    const dir = await copyOfJournal();
    const result = await truncateJournalAtCheckpoint(dir, partitionId, 11003n);

    expect(result).toMatchObject({
      checkpointIndex: 4336n,
      keptSegments: [1, 2, 3].map(segmentName),
      deletedSegments: [4, 5].map(segmentName),
      modifiedSegment: segmentName(3),
    });
    expectZeebeTruncatedJournal(dir, partitionId, zeebeTruncations.fullSegment);
    expect((await readdir(dir)).sort()).toEqual([1, 2, 3].map(segmentName));
  });

  it('produces exactly the bytes of Zeebe 8.5.4 when truncating inside the active segment at asqn 14882', async () => {
    const dir = await copyOfJournal();
    const result = await truncateJournalAtCheckpoint(dir, partitionId, 14882n);

    expect(result).toMatchObject({
      checkpointIndex: 5850n,
      keptSegments: [1, 2, 3, 4].map(segmentName),
      deletedSegments: [segmentName(5)],
      modifiedSegment: segmentName(4),
    });
    expectZeebeTruncatedJournal(dir, partitionId, zeebeTruncations.activeSegment);
    // Zeebe's two end markers: after the checkpoint (index 5851) and at the last written entry (index 6000).
    expect(await byteAt(join(dir, segmentName(4)), 32501)).toBe(0);
    expect(await byteAt(join(dir, segmentName(4)), 73586)).toBe(0);
  });

  it('marks a torn frame at the end of the active segment, as a broker opening it does', async () => {
    const dir = await copyOfJournal();
    const path = join(dir, segmentName(4));
    const frames = await framesOf(written(await listJournalSegments(dir, partitionId), segmentName(4)));
    const last = frames.at(-1)!;
    // A copy taken while the broker was writing: the last frame's record data is half there.
    await flipByte(path, last.offset + last.frameLength - 3);

    await truncateJournalAtCheckpoint(dir, partitionId, 14882n);
    const secondLast = frames.at(-2)!;
    for (const offset of [32501, secondLast.offset, last.offset]) expect(await byteAt(path, offset), `offset ${offset}`).toBe(0);
  });

  it("fails on an intact entry out of order after the checkpoint, as the broker's journal would (InvalidIndex)", async () => {
    const dir = await copyOfJournal();
    const path = join(dir, segmentName(4));
    const last = (await framesOf(written(await listJournalSegments(dir, partitionId), segmentName(4)))).at(-1)!;
    // Not torn: a whole frame with a valid checksum whose index skips ahead.
    const frame = (await readFile(path)).subarray(last.offset, last.offset + last.frameLength);
    frame.writeBigUInt64LE(last.index + 5n, 21 + 8);
    frame.writeBigInt64LE(BigInt(crc32c(frame.subarray(21))), 9);
    await overwrite(path, last.offset, frame);
    const before = await sha256(path);

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 14882n));
    expect(error.message).toContain(`corrupt at byte offset ${last.offset} (entry index ${last.index}): the entry has index ${last.index + 5n}`);
    expect(await sha256(path)).toBe(before);
  });

  it('keeps the active segment when the checkpoint is its last entry', async () => {
    const dir = await copyOfJournal();
    const result = await truncateJournalAtCheckpoint(dir, partitionId, 15270n);

    expect(result).toMatchObject({ checkpointIndex: 6000n, modifiedSegment: segmentName(4) });
    expect(result.deletedSegments).toEqual([segmentName(5)]);
    expect((await readdir(dir)).sort()).toEqual([1, 2, 3, 4].map(segmentName));
    // The active segment already ended there with lastIndex/lastPosition 0, so nothing changes.
    expect(await sha256(join(dir, segmentName(4)))).toBe(await sha256(join(journalFixture, segmentName(4))));

    const segment = written(await listJournalSegments(dir, partitionId), segmentName(4));
    expect(segment.descriptor).toMatchObject({ lastIndex: 0n, lastPosition: 0 });
    const frames = await framesOf(segment);
    expect(frames).toHaveLength(265);
    const last = frames.at(-1)!;
    expect(last).toMatchObject({ index: 6000n, asqn: 15270n });
    expect(await byteAt(segment.path, last.offset + last.frameLength)).toBe(0);
  });

  it('keeps only the first entry when the checkpoint is the first asqn', async () => {
    const dir = await copyOfJournal();
    const result = await truncateJournalAtCheckpoint(dir, partitionId, 1n);

    expect(result).toMatchObject({
      checkpointIndex: 1n,
      keptSegments: [segmentName(1)],
      deletedSegments: [2, 3, 4, 5].map(segmentName),
      modifiedSegment: segmentName(1),
    });
    const segment = written(await listJournalSegments(dir, partitionId), segmentName(1));
    expect(segment.descriptor).toMatchObject({ lastIndex: 0n, lastPosition: 0 });
    const frames = await framesOf(segment);
    expect(frames).toEqual([expect.objectContaining({ index: 1n, asqn: 1n })]);
    // The old lastPosition frame is marked as end of data as well.
    expect(await byteAt(segment.path, 523464)).toBe(0);
  });

  it('rejects a checkpoint position that no entry has', async () => {
    expect(report.asqns).not.toContain(11002);
    const dir = await copyOfJournal();

    const between = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11002n));
    expect(between.message).toContain(
      'Failed to restore from backup. Cannot find a record at checkpoint position 11002 in the log.',
    );
    expect(between.message).toContain('start at 1 and go from 10999 straight to 11003');

    const beyond = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 999999n));
    expect(beyond.message).toContain('Cannot find a record at checkpoint position 999999 in the log.');
    expect(beyond.message).toContain('run from 1 to 15270');

    // Nothing was modified or deleted.
    for (const id of [1, 2, 3, 4, 5]) {
      expect(await sha256(join(dir, segmentName(id)))).toBe(await sha256(join(journalFixture, segmentName(id))));
    }
  });

  it('ends the log at a torn last frame of the active segment, as a broker does, so a checkpoint in it is not found', async () => {
    const dir = await copyOfJournal();
    const frames = await framesOf(written(await listJournalSegments(dir, partitionId), segmentName(4)));
    const last = frames.at(-1)!;
    await flipByte(join(dir, segmentName(4)), last.offset + last.frameLength - 3);

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 15270n));
    expect(error.message).toContain('Cannot find a record at checkpoint position 15270 in the log.');
    const lastIntact = frames.slice(0, -1).filter((frame) => frame.asqn >= 0n).at(-1)!;
    expect(error.message).toContain(`run from 1 to ${lastIntact.asqn}. The log then ends in a partially written entry at byte offset ${last.offset}`);
  });

  it('rejects an empty journal', async () => {
    const dir = await temporaryDirectory();
    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 5n));
    expect(error.message).toContain('Cannot find a record at checkpoint position 5 in the log.');
    expect(error.message).toContain('No record in the journal raft-partition-partition-2');
  });

  it('names the file, offset and index of a corrupt entry', async () => {
    const dir = await copyOfJournal();
    const path = join(dir, segmentName(2));
    // Inside the record data of the segment's first frame (index 1896).
    await flipByte(path, DESCRIPTOR_LENGTH + 60);

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11003n));
    expect(error.message).toContain(`Journal segment ${path} is corrupt at byte offset 57 (entry index 1896)`);
    expect(error.message).toContain('checksum mismatch');
    expect(await readdir(dir)).toHaveLength(5);
  });

  it('rejects a descriptor whose checksum does not match', async () => {
    const dir = await copyOfJournal();
    const path = join(dir, segmentName(3));
    await flipByte(path, 30);

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11003n));
    expect(error.message).toContain(`Journal segment ${path} has an unusable descriptor: checksum mismatch`);
  });

  it('rejects descriptor version 1 clearly', async () => {
    const dir = await copyOfJournal();
    const path = join(dir, segmentName(2));
    await overwrite(path, 0, Buffer.of(1));

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11003n));
    expect(error.message).toContain(`Journal segment ${path} has an unusable descriptor`);
    expect(error.message).toContain('descriptor version 1');
    expect(error.message).toContain('only version 2 is supported');
  });

  it('rejects a gap in the segment ids', async () => {
    const dir = await copyOfJournal();
    await rm(join(dir, segmentName(2)));

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11003n));
    expect(error.message).toContain('segment ids must be consecutive');
  });

  it('rejects a never-written segment before written ones', async () => {
    const dir = await copyOfJournal();
    await overwrite(join(dir, segmentName(3)), 0, Buffer.alloc(DESCRIPTOR_LENGTH));

    const error = await rejection(truncateJournalAtCheckpoint(dir, partitionId, 11003n));
    expect(error.message).toContain(`${segmentName(3)} was never written`);
  });

  it('leaves files of other journals and other files alone', async () => {
    const dir = await copyOfJournal();
    const otherJournal = join(dir, 'raft-partition-partition-3-1.log');
    const metaFile = join(dir, 'raft-partition-partition-2.meta');
    await cp(join(journalFixture, segmentName(1)), otherJournal);
    await writeFile(metaFile, 'meta');

    const result = await truncateJournalAtCheckpoint(dir, partitionId, 11003n);
    expect(result.deletedSegments).toEqual([4, 5].map(segmentName));
    expect(await sha256(otherJournal)).toBe(await sha256(join(journalFixture, segmentName(1))));
    expect(await readFile(metaFile, 'utf8')).toBe('meta');
  });
});
