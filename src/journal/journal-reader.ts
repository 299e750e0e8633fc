import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupInvalidError, asLocalStorageError } from '../errors.js';
import {
  DESCRIPTOR_LENGTH,
  END_OF_DATA,
  FRAME_HEADER_LENGTH,
  corruptFrameError,
  decodeFrameHeader,
  decodeRecordHeader,
  journalNameOfPartition,
  parseSegmentDescriptor,
  parseSegmentFileName,
  recordChecksum,
  recordData,
  type SegmentDescriptor,
} from './segment-format.js';

const READ_CHUNK_SIZE = 1024 * 1024;

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
  let previous: { segment: JournalSegment; lastIndex: bigint } | undefined;
  for (const { descriptor, ...file } of segments) {
    if (!descriptor) return;
    const segment: WrittenSegment = { ...file, descriptor };
    if (previous && descriptor.index !== previous.lastIndex + 1n) {
      throw new BackupInvalidError(
        `Journal segment ${segment.path} starts at index ${descriptor.index}, but the entries before it end at index ${previous.lastIndex} (in ${previous.segment.path}).`,
      );
    }
    previous = { segment, lastIndex: descriptor.index - 1n };
    for await (const frame of readSegmentFrames(segment)) {
      previous.lastIndex = frame.index;
      yield { ...frame, segment };
    }
  }
}

/**
 * The valid frames of one segment, up to the end-of-data marker or the end of the file. Each
 * frame's checksum is verified and indexes must count up by one from the descriptor's index.
 */
export async function* readSegmentFrames(segment: WrittenSegment): AsyncGenerator<SegmentFrame> {
  const { path, descriptor } = segment;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const window = new FileWindow(handle, (await handle.stat()).size);
    let offset = DESCRIPTOR_LENGTH;
    let expectedIndex = descriptor.index;
    while (offset < window.fileSize) {
      const at = { fileName: path, offset, expectedIndex };
      const [version] = await window.bytesAt(offset, 1);
      if (version === END_OF_DATA) return;
      if (offset + FRAME_HEADER_LENGTH > window.fileSize) {
        throw corruptFrameError(at, 'the frame header is cut off by the end of the file');
      }
      const header = decodeFrameHeader(await window.bytesAt(offset, FRAME_HEADER_LENGTH), at);
      const frameLength = FRAME_HEADER_LENGTH + header.recordLength;
      if (offset + frameLength > window.fileSize) {
        throw corruptFrameError(at, `the ${frameLength}-byte frame runs past the end of the file`);
      }
      const record = (await window.bytesAt(offset, frameLength)).subarray(FRAME_HEADER_LENGTH);
      const actualChecksum = recordChecksum(record);
      if (actualChecksum !== header.checksum) {
        throw corruptFrameError(
          at,
          `checksum mismatch: the frame says ${header.checksum.toString(16)}, its record data has ${actualChecksum.toString(16)}`,
        );
      }
      const { index, asqn } = decodeRecordHeader(record, at);
      if (index !== expectedIndex) throw corruptFrameError(at, `the entry has index ${index}`);
      yield { offset, frameLength, index, asqn, data: recordData(record) };
      offset += frameLength;
      expectedIndex += 1n;
    }
  } catch (error) {
    throw asLocalStorageError(error, 'read', path);
  } finally {
    await handle?.close();
  }
}

/**
 * Forward-only view of a file through one buffer: 1 MiB chunks, with the unread tail carried
 * over, so memory grows only to the largest frame rather than with the file.
 */
class FileWindow {
  private buffer = Buffer.alloc(READ_CHUNK_SIZE);
  /** File offset of buffer[0]. */
  private start = 0;
  /** File offset just past the last byte read into the buffer. */
  private end = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly fileSize: number,
  ) {}

  /** `length` bytes at `offset`, valid until the next call; offsets never move backwards. */
  async bytesAt(offset: number, length: number): Promise<Buffer> {
    if (offset + length > this.end) await this.fill(offset, length);
    return this.buffer.subarray(offset - this.start, offset - this.start + length);
  }

  private async fill(offset: number, length: number): Promise<void> {
    const carried = offset < this.end ? this.buffer.subarray(offset - this.start, this.end - this.start) : undefined;
    if (length > this.buffer.length) {
      const larger = Buffer.alloc(length);
      carried?.copy(larger);
      this.buffer = larger;
    } else {
      carried?.copy(this.buffer);
    }
    this.start = offset;
    this.end = offset + (carried?.length ?? 0);
    const limit = Math.min(this.start + this.buffer.length, this.fileSize);
    while (this.end < limit) {
      const { bytesRead } = await this.handle.read(this.buffer, this.end - this.start, limit - this.end, this.end);
      if (bytesRead === 0) break;
      this.end += bytesRead;
    }
    if (offset + length > this.end) {
      throw new Error(`the file ended at byte ${this.end} while reading ${length} bytes at offset ${offset}`);
    }
  }
}

