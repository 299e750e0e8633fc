import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupInvalidError, asLocalStorageError } from '../errors.js';
import {
  DESCRIPTOR_LENGTH,
  END_OF_DATA,
  FRAME_HEADER_LENGTH,
  RECORD_HEADER_LENGTH,
  CorruptFrameError,
  corruptFrameError,
  frameChecksumProblem,
  frameHeaderProblem,
  frameRecordLength,
  journalNameOfPartition,
  parseSegmentDescriptor,
  parseSegmentFileName,
  recordAsqn,
  recordIndex,
  recordProblem,
  type SegmentDescriptor,
} from './segment-format.js';

/**
 * Reads of 4 MiB: a restore scans journals it has just written, from the page cache, where a
 * read's cost is mostly its round trip through the thread pool; 4 MiB reads measured about twice
 * as fast as 1 MiB ones (bench/restore-bench.ts), at 4 MiB of memory per scan.
 */
const READ_CHUNK_SIZE = 4 * 1024 * 1024;

export interface JournalSegment {
  path: string;
  fileName: string;
  id: bigint;
  /** Undefined for a preallocated segment that was never written. */
  descriptor: SegmentDescriptor | undefined;
}

export interface WrittenSegment extends JournalSegment {
  descriptor: SegmentDescriptor;
}

export interface SegmentFrame {
  /** Byte offset of the frame-version byte in the segment file. */
  offset: number;
  /** Bytes the whole frame occupies, header included; the next frame starts right after. */
  frameLength: number;
  index: bigint;
  /** Zeebe log position of the batch, or -1 for Raft-internal entries. */
  asqn: bigint;
  /** The entry's data: a view into the reader's buffer, overwritten by later frames; copy it to keep it. */
  data: Buffer;
}

export interface JournalFrame extends SegmentFrame {
  segment: WrittenSegment;
}

/**
 * The segment files of one partition's journal in `directory`, ordered by segment id, with
 * their descriptors. Checks that the ids are consecutive, that each descriptor carries the id
 * of its file name, and that preallocated (never written) segments only follow the written ones.
 */
export async function listJournalSegments(directory: string, partitionId: number): Promise<JournalSegment[]> {
  const journalName = journalNameOfPartition(partitionId);
  let fileNames: string[];
  try {
    fileNames = await readdir(directory);
  } catch (error) {
    throw asLocalStorageError(error, 'list', directory);
  }
  const segmentFiles = fileNames
    .flatMap((fileName) => {
      const parsed = parseSegmentFileName(fileName);
      return parsed?.partitionId === partitionId ? [{ fileName, id: parsed.segmentId }] : [];
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const segments: JournalSegment[] = [];
  for (const { fileName, id } of segmentFiles) {
    const previous = segments.at(-1);
    if (previous && id !== previous.id + 1n) {
      throw new BackupInvalidError(
        `Journal ${journalName} in ${directory} is incomplete: segment ${previous.fileName} is followed by ${fileName}, but segment ids must be consecutive.`,
      );
    }
    const path = join(directory, fileName);
    const descriptor = await readSegmentDescriptor(path);
    if (descriptor && descriptor.id !== id) {
      throw new BackupInvalidError(
        `Journal segment ${path} has segment id ${descriptor.id} in its descriptor, which does not match its file name.`,
      );
    }
    if (descriptor && previous && !previous.descriptor) {
      throw new BackupInvalidError(
        `Journal segment ${previous.path} was never written (it has no descriptor) but is followed by segment ${fileName}; only the last segments of a journal may be empty.`,
      );
    }
    segments.push({ path, fileName, id, descriptor });
  }
  return segments;
}

async function readSegmentDescriptor(path: string): Promise<SegmentDescriptor | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(DESCRIPTOR_LENGTH);
    const { bytesRead } = await handle.read(buf, 0, DESCRIPTOR_LENGTH, 0);
    return parseSegmentDescriptor(buf.subarray(0, bytesRead), path);
  } catch (error) {
    throw asLocalStorageError(error, 'read', path);
  } finally {
    await handle?.close();
  }
}

/**
 * The frames of every written segment in order, checking that indexes continue from one segment
 * to the next. Stops at the first preallocated segment.
 */
export async function* readJournalFrames(segments: readonly JournalSegment[]): AsyncGenerator<JournalFrame> {
  for await (const batch of readJournalFrameBatches(segments)) yield* batch;
}

/**
 * readJournalFrames in batches: every frame the read buffer holds at once (hundreds), so that a
 * scan of a multi-GiB journal pays for one await per batch rather than per frame; per-frame
 * awaits were most of the cost of truncating a restored journal. The frames' `data` stay valid
 * until the next batch is requested.
 */
export async function* readJournalFrameBatches(segments: readonly JournalSegment[]): AsyncGenerator<JournalFrame[]> {
  let previous: { segment: JournalSegment; lastIndex: bigint } | undefined;
  // One read buffer for the whole journal, not one per segment.
  const buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE);
  for (const { descriptor, ...file } of segments) {
    if (!descriptor) return;
    const segment: WrittenSegment = { ...file, descriptor };
    if (previous && descriptor.index !== previous.lastIndex + 1n) {
      throw new BackupInvalidError(
        `Journal segment ${segment.path} starts at index ${descriptor.index}, but the entries before it end at index ${previous.lastIndex} (in ${previous.segment.path}).`,
      );
    }
    previous = { segment, lastIndex: descriptor.index - 1n };
    for await (const batch of readSegmentFrameBatches(segment, buffer)) {
      const frames = batch as JournalFrame[];
      for (const frame of frames) frame.segment = segment;
      if (frames.length > 0) previous.lastIndex = frames[frames.length - 1]!.index;
      yield frames;
    }
  }
}

/**
 * The valid frames of one segment, up to the end-of-data marker or the end of the file. Each
 * frame's checksum is verified and indexes must count up by one from the descriptor's index.
 */
export async function* readSegmentFrames(segment: WrittenSegment): AsyncGenerator<SegmentFrame> {
  for await (const batch of readSegmentFrameBatches(segment)) yield* batch;
}

/**
 * readSegmentFrames in batches of the frames the read buffer holds; see readJournalFrameBatches.
 * `buffer` is the read buffer to use (and to grow, should a frame be larger); `from`, the entry to
 * start at, the segment's first by default.
 */
export async function* readSegmentFrameBatches(
  segment: WrittenSegment,
  buffer: Buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE),
  from: EntryLocation = { offset: DESCRIPTOR_LENGTH, index: segment.descriptor.index },
): AsyncGenerator<SegmentFrame[]> {
  const { path } = segment;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const window = new FileWindow(handle, (await handle.stat()).size, buffer);
    let offset = from.offset;
    let expectedIndex = from.index;
    for (;;) {
      const batch: SegmentFrame[] = [];
      let frame: SegmentFrame | typeof END | undefined;
      try {
        while (
          batch.length < MAX_BATCH_FRAMES &&
          offset < window.fileSize &&
          (frame = decodeFrameAt(window, path, offset, expectedIndex)) &&
          frame !== END
        ) {
          batch.push(frame);
          offset += frame.frameLength;
          expectedIndex += 1n;
        }
      } catch (corrupt) {
        // Reported only if the reader asks for this frame: one that stops earlier (at the
        // checkpoint) must not fail on a torn frame behind it, as with frame-by-frame reading.
        if (batch.length > 0) yield batch;
        throw corrupt;
      }
      if (batch.length > 0) yield batch;
      if (frame === END || offset >= window.fileSize) return;
      if (batch.length === MAX_BATCH_FRAMES) continue;
      await window.load(offset, bytesNeededAt(window, offset));
    }
  } catch (error) {
    throw asLocalStorageError(error, 'read', path);
  } finally {
    await handle?.close();
  }
}

/** An entry's place in its segment file. */
export interface EntryLocation {
  offset: number;
  index: bigint;
}

export interface SegmentTail {
  /** The segment's last valid entry. */
  lastEntry: EntryLocation;
  /**
   * Where a torn frame follows it (cut off by the end of the file, failing its checksum or
   * malformed, as a copy of a segment that was being written can end): a broker opening the
   * segment marks that frame as ignored.
   */
  tornFrameOffset?: number;
}

/**
 * The segment's last entry as a broker finds it when it opens the segment, given `known`, a valid
 * entry of it. Zeebe 8.5.4's `SegmentWriter` (constructor, `jumpToLastEntry`, `reset`) jumps to the
 * descriptor's `lastPosition` and follows the entries after it; when the descriptor records none
 * (the active segment) or that entry or one after it cannot be read, it scans the segment, and
 * `resetPartiallyWrittenEntry` marks a torn frame at the end as ignored. An entry that is intact
 * but out of order fails the broker's journal (`InvalidIndex`), so it fails here too.
 */
export async function findSegmentTail(segment: WrittenSegment, known: EntryLocation & { frameLength: number }): Promise<SegmentTail> {
  const { descriptor } = segment;
  const buffer = Buffer.allocUnsafe(TAIL_READ_CHUNK_SIZE);
  if (descriptor.lastPosition > known.offset) {
    const jumped = await followEntries(segment, buffer, { offset: descriptor.lastPosition, index: descriptor.lastIndex });
    if (jumped && jumped.tornFrameOffset === undefined) return jumped;
  }
  const next = { offset: known.offset + known.frameLength, index: known.index + 1n };
  const last = { offset: known.offset, index: known.index };
  return (await followEntries(segment, buffer, next, last)) ?? { lastEntry: last };
}

/** The tail is usually a few entries after the checkpoint; no need for the scan's 4 MiB buffer. */
const TAIL_READ_CHUNK_SIZE = 256 * 1024;

/**
 * Follows the valid entries from `start` to the end-of-data marker, the end of the file, or a torn
 * frame, after `lastEntry` if one is known to precede `start`. Undefined when no valid entry is
 * found; throws for an intact entry out of order after a valid one.
 */
async function followEntries(segment: WrittenSegment, buffer: Buffer, start: EntryLocation, lastEntry?: EntryLocation): Promise<SegmentTail | undefined> {
  try {
    for await (const batch of readSegmentFrameBatches(segment, buffer, start)) {
      const { offset, index } = batch[batch.length - 1]!;
      lastEntry = { offset, index };
    }
  } catch (error) {
    if (!(error instanceof CorruptFrameError)) throw error;
    if (lastEntry === undefined) return undefined;
    if (error.outOfOrder) throw error;
    return { lastEntry, tornFrameOffset: error.at.offset };
  }
  return lastEntry && { lastEntry };
}

/** What decodeFrameAt returns at the end-of-data marker. */
export const END = Symbol('end of data');

/** The bytes decodeFrameAt decodes from: a file read through a buffer, or a buffer alone. */
export interface FrameWindow {
  /** Bytes in the file: a frame must end within them. */
  readonly fileSize: number;
  /** Holds the file's bytes from offset `start` up to `end`. */
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

/**
 * Frames live while their batch is consumed, across an await; a young-generation GC in that time
 * promotes them to the old generation, where they pile up until the next full GC. A few hundred
 * at a time keeps that small: all frames of a 4 MiB buffer at once raised the heap by ~40 MiB
 * while three partitions were scanned together.
 */
const MAX_BATCH_FRAMES = 256;

/** How much of the file from `offset` the window must hold to decode the frame there. */
function bytesNeededAt(window: FrameWindow, offset: number): number {
  // decodeFrameAt has checked that such a frame fits into the file.
  if (offset + FRAME_HEADER_LENGTH <= window.end) return FRAME_HEADER_LENGTH + frameRecordLength(window.bytes, offset - window.start);
  return Math.min(FRAME_HEADER_LENGTH, window.fileSize - offset);
}

/**
 * The frame at `offset` if the window holds all of it, END at the end-of-data marker, undefined
 * when more of the file must be read first. Throws for a corrupt frame. Called for every frame of
 * a scan: it reads in place and makes two views (the record, for its checksum, and the data).
 */
export function decodeFrameAt(window: FrameWindow, path: string, offset: number, expectedIndex: bigint): SegmentFrame | typeof END | undefined {
  const { bytes, start, end, fileSize } = window;
  if (offset >= end) return undefined;
  const frame = offset - start;
  if (bytes[frame] === END_OF_DATA) return END;
  if (offset + FRAME_HEADER_LENGTH > fileSize) throw corruptAt(path, offset, expectedIndex, 'the frame header is cut off by the end of the file');
  if (offset + FRAME_HEADER_LENGTH > end) return undefined;
  const headerProblem = frameHeaderProblem(bytes, frame);
  if (headerProblem) throw corruptAt(path, offset, expectedIndex, headerProblem);
  const recordLength = frameRecordLength(bytes, frame);
  const frameLength = FRAME_HEADER_LENGTH + recordLength;
  if (offset + frameLength > fileSize) throw corruptAt(path, offset, expectedIndex, `the ${frameLength}-byte frame runs past the end of the file`);
  if (offset + frameLength > end) return undefined;
  const record = frame + FRAME_HEADER_LENGTH;
  const checksumProblem = frameChecksumProblem(bytes, frame, bytes.subarray(record, record + recordLength));
  if (checksumProblem) throw corruptAt(path, offset, expectedIndex, checksumProblem);
  const problem = recordProblem(bytes, record, recordLength);
  if (problem) throw corruptAt(path, offset, expectedIndex, problem);
  const index = recordIndex(bytes, record);
  if (index !== expectedIndex) throw new CorruptFrameError({ fileName: path, offset, expectedIndex }, `the entry has index ${index}`, true);
  return { offset, frameLength, index, asqn: recordAsqn(bytes, record), data: bytes.subarray(record + RECORD_HEADER_LENGTH, record + recordLength) };
}

function corruptAt(fileName: string, offset: number, expectedIndex: bigint, reason: string): CorruptFrameError {
  return corruptFrameError({ fileName, offset, expectedIndex }, reason);
}

/**
 * Forward-only view of a file through one buffer: 4 MiB chunks, with the unread tail carried
 * over, so memory grows only to the largest frame rather than with the file.
 */
class FileWindow implements FrameWindow {
  start = 0;
  end = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly fileSize: number,
    public bytes: Buffer,
  ) {}

  /**
   * Reads the file from `offset` into the buffer until it holds at least `length` bytes from
   * there. Offsets never move backwards.
   */
  async load(offset: number, length: number): Promise<void> {
    const carried = offset < this.end ? this.bytes.subarray(offset - this.start, this.end - this.start) : undefined;
    if (length > this.bytes.length) {
      const larger = Buffer.alloc(length);
      carried?.copy(larger);
      this.bytes = larger;
    } else {
      carried?.copy(this.bytes);
    }
    this.start = offset;
    this.end = offset + (carried?.length ?? 0);
    const limit = Math.min(this.start + this.bytes.length, this.fileSize);
    while (this.end < limit) {
      const { bytesRead } = await this.handle.read(this.bytes, this.end - this.start, limit - this.end, this.end);
      if (bytesRead === 0) break;
      this.end += bytesRead;
    }
    if (offset + length > this.end) {
      throw new Error(`the file ended at byte ${this.end} while reading ${length} bytes at offset ${offset}`);
    }
  }
}
