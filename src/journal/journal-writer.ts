import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DESCRIPTOR_LENGTH,
  encodeFrame,
  encodeSegmentDescriptor,
  frameLength,
  journalNameOfPartition,
  type SegmentDescriptor,
} from './segment-format.js';

/**
 * Frames are packed into a buffer of this size and written with one positional write; a second
 * buffer fills while the first is being written, so encoding overlaps the disk.
 */
const WRITE_CHUNK_SIZE = 1024 * 1024;
const ASQN_IGNORE = -1n;

export interface JournalWriterOptions {
  /** Index of the first entry; 1 for a fresh journal. */
  firstIndex?: bigint;
  /**
   * Leave an all-zero next segment without descriptor behind on close, as a broker does when it
   * has already preallocated the segment it would roll over to.
   */
  preallocateNextSegment?: boolean;
  /** fsync every segment before closing it, so the journal is durable once close() returns. */
  fsync?: boolean;
}

export interface WrittenJournal {
  /** Segment file names in segment order, the preallocated next segment included. */
  files: string[];
  /** Index of the last appended entry, or firstIndex - 1 when none was appended. */
  lastIndex: bigint;
}

/** The entry to append; its index is the next one in the journal. */
export interface JournalAppend {
  /** Zeebe log position of the batch, or -1 for Raft-internal entries. */
  asqn: bigint;
  data: Uint8Array;
}

interface ActiveSegment {
  fileName: string;
  handle: FileHandle;
  descriptor: SegmentDescriptor;
  /** File offset where the next frame goes. */
  writeOffset: number;
  /** File offset of the last frame, 0 while the segment holds none. */
  lastFramePosition: number;
}

/**
 * Writes a partition's journal byte for byte as a Zeebe broker does (spec §1): preallocated
 * segments of `maxSegmentSize`, frames packed after the descriptor, and on rollover the finished
 * segment's descriptor records its last entry. Memory stays at one write chunk however large
 * the journal gets.
 */
export class JournalWriter {
  private readonly files: string[] = [];
  private chunk = Buffer.allocUnsafe(WRITE_CHUNK_SIZE);
  /** The other buffer, free once `pendingWrite` has settled. */
  private spareChunk = Buffer.allocUnsafe(WRITE_CHUNK_SIZE);
  private pendingWrite: Promise<void> = Promise.resolve();
  /** File offset of chunk[0] in the active segment. */
  private chunkStart = 0;
  private chunkUsed = 0;
  private nextIndex: bigint;
  private lastAsqn = ASQN_IGNORE;

  private segment!: ActiveSegment;

  private constructor(
    private readonly journal: JournalLocation,
    private readonly options: JournalWriterOptions,
    firstSegment: ActiveSegment,
  ) {
    this.nextIndex = firstSegment.descriptor.index;
    this.begin(firstSegment);
  }

  static async create(
    directory: string,
    partitionId: number,
    maxSegmentSize: number,
    options: JournalWriterOptions = {},
  ): Promise<JournalWriter> {
    // The descriptor stores the size as an i32.
    if (!Number.isInteger(maxSegmentSize) || maxSegmentSize <= DESCRIPTOR_LENGTH || maxSegmentSize > 2 ** 31 - 1) {
      throw new RangeError(`maxSegmentSize must be an i32 larger than the ${DESCRIPTOR_LENGTH}-byte descriptor`);
    }
    const journal = { directory, partitionId, maxSegmentSize };
    return new JournalWriter(journal, options, await createSegment(journal, 1n, options.firstIndex ?? 1n));
  }

  /** Id of the segment being written, which holds the last appended entry. */
  get activeSegmentId(): bigint {
    return this.segment.descriptor.id;
  }

  /** Appends the entry under the next index, rolling over to a new segment when it does not fit. */
  async append(entry: JournalAppend): Promise<void> {
    // A broker refuses such an entry too; the truncation relies on increasing positions.
    if (entry.asqn !== ASQN_IGNORE && entry.asqn <= this.lastAsqn) {
      throw new RangeError(`asqn ${entry.asqn} must be larger than the previous asqn ${this.lastAsqn}`);
    }
    const length = frameLength(entry.data.length);
    const { maxSegmentSize } = this.journal;
    if (DESCRIPTOR_LENGTH + length > maxSegmentSize) {
      throw new RangeError(`a ${length}-byte frame does not fit into a segment of ${maxSegmentSize} bytes`);
    }
    // Zeebe lets a frame end exactly at the end of the segment but never cross it.
    if (this.segment.writeOffset + length > maxSegmentSize) await this.rollOver();
    if (this.chunkUsed + length > this.chunk.length) {
      await this.flushChunk();
      if (length > this.chunk.length) this.chunk = Buffer.allocUnsafe(length);
    }
    encodeFrame(this.chunk, this.chunkUsed, { index: this.nextIndex, asqn: entry.asqn, data: entry.data });
    this.chunkUsed += length;
    this.segment.lastFramePosition = this.segment.writeOffset;
    this.segment.writeOffset += length;
    this.nextIndex += 1n;
    if (entry.asqn !== ASQN_IGNORE) this.lastAsqn = entry.asqn;
  }

  /** Writes what is buffered and leaves the active segment's descriptor at 0/0, like a running broker. */
  async close(): Promise<WrittenJournal> {
    await this.flushChunk();
    await this.pendingWrite;
    if (this.options.fsync) await this.segment.handle.sync();
    await this.segment.handle.close();
    if (this.options.preallocateNextSegment) {
      const next = await createSegment(this.journal, this.segment.descriptor.id + 1n, this.nextIndex);
      // Its descriptor is never written: a broker writes it only when it starts using the segment.
      await next.handle.close();
      this.files.push(next.fileName);
    }
    return { files: [...this.files], lastIndex: this.nextIndex - 1n };
  }

  private async rollOver(): Promise<void> {
    await this.flushChunk();
    await this.pendingWrite;
    const { handle, descriptor, lastFramePosition } = this.segment;
    // Recording the last entry lets a broker jump to the end of a full segment instead of scanning it.
    const finished = { ...descriptor, lastIndex: this.nextIndex - 1n, lastPosition: lastFramePosition };
    await handle.write(encodeSegmentDescriptor(finished), 0, DESCRIPTOR_LENGTH, 0);
    if (this.options.fsync) await handle.sync();
    await handle.close();
    this.begin(await createSegment(this.journal, descriptor.id + 1n, this.nextIndex));
  }

  private begin(segment: ActiveSegment): void {
    this.segment = segment;
    this.files.push(segment.fileName);
    // The descriptor goes out with the segment's first chunk.
    encodeSegmentDescriptor(segment.descriptor).copy(this.chunk, 0);
    this.chunkStart = 0;
    this.chunkUsed = DESCRIPTOR_LENGTH;
  }

  /** Starts writing the filled chunk and switches to the spare one; waits only for the previous write. */
  private async flushChunk(): Promise<void> {
    await this.pendingWrite;
    this.pendingWrite = writeFully(this.segment.handle, this.chunk.subarray(0, this.chunkUsed), this.chunkStart);
    // Marks a failure as handled until the next flush or close awaits it and throws.
    this.pendingWrite.catch(() => {});
    [this.chunk, this.spareChunk] = [this.spareChunk, this.chunk];
    this.chunkStart += this.chunkUsed;
    this.chunkUsed = 0;
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

interface JournalLocation {
  directory: string;
  partitionId: number;
  maxSegmentSize: number;
}

/**
 * Creates a segment file zero-filled to its full size, so the bytes after the last frame read as
 * the end-of-data marker; the descriptor is left for the caller to write.
 */
async function createSegment(journal: JournalLocation, id: bigint, firstIndex: bigint): Promise<ActiveSegment> {
  const fileName = `${journalNameOfPartition(journal.partitionId)}-${id}.log`;
  // 'wx': never overwrite an existing journal.
  const handle = await open(join(journal.directory, fileName), 'wx');
  await handle.truncate(journal.maxSegmentSize);
  const descriptor = { id, index: firstIndex, maxSegmentSize: journal.maxSegmentSize, lastIndex: 0n, lastPosition: 0 };
  return { fileName, handle, descriptor, writeOffset: DESCRIPTOR_LENGTH, lastFramePosition: 0 };
}
