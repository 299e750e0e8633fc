import { crc32c } from '../util/crc32c.js';
import { BackupInvalidError } from '../errors.js';

/*
 * Byte layout of Zeebe's journal segment files (spec: journal-and-snapshot-format.md §1).
 * Everything is little-endian and framed by SBE message headers of schema 7, version 2.
 */

const SBE_SCHEMA_ID = 7;
const SBE_SCHEMA_VERSION = 2;
const SBE_HEADER_LENGTH = 8;

/** Where an SBE message header sits and the block length and template it must announce. */
interface SbeHeaderSpec {
  offset: number;
  blockLength: number;
  templateId: number;
}

/**
 * Returns why the SBE header differs from the expected one, or undefined when it matches.
 * `base`: where the structure holding the header starts in `buf`.
 */
function sbeHeaderMismatch(buf: Buffer, spec: SbeHeaderSpec, base = 0): string | undefined {
  // Checked for two headers of every frame of a journal scan: compare in place, and build the
  // arrays for the message only when it does not match.
  const at = base + spec.offset;
  if (
    buf.readUInt16LE(at) === spec.blockLength &&
    buf.readUInt16LE(at + 2) === spec.templateId &&
    buf.readUInt16LE(at + 4) === SBE_SCHEMA_ID &&
    buf.readUInt16LE(at + 6) === SBE_SCHEMA_VERSION
  ) {
    return undefined;
  }
  const expected = [spec.blockLength, spec.templateId, SBE_SCHEMA_ID, SBE_SCHEMA_VERSION];
  const actual = expected.map((_, field) => buf.readUInt16LE(at + 2 * field));
  return `its SBE header (blockLength, templateId, schemaId, version) is (${actual.join(', ')}) instead of (${expected.join(', ')})`;
}

// ---- Segment descriptor -------------------------------------------------------------------

export const DESCRIPTOR_LENGTH = 57;
export const DESCRIPTOR_VERSION = 2;
/** Version 1 predates the SBE layout; its fields sit elsewhere. */
const LEGACY_DESCRIPTOR_VERSION = 1;
/** A zero version byte means the writer preallocated the file but never wrote a descriptor. */
const NO_DESCRIPTOR = 0;

const DescriptorOffset = {
  version: 0,
  checksum: 9,
  checksummedFrom: 17,
  id: 25,
  index: 33,
  maxSegmentSize: 41,
  lastIndex: 45,
  lastPosition: 53,
} as const;

const DESCRIPTOR_OUTER_HEADER: SbeHeaderSpec = { offset: 1, blockLength: 8, templateId: 4 };
const DESCRIPTOR_INNER_HEADER: SbeHeaderSpec = { offset: 17, blockLength: 32, templateId: 3 };

export interface SegmentDescriptor {
  id: bigint;
  /** Index of the first entry in the segment. */
  index: bigint;
  maxSegmentSize: number;
  /** Index of the last entry, or 0 when the writer has not recorded it (the active segment). */
  lastIndex: bigint;
  /** Byte offset of the last entry's frame, or 0 when not recorded. */
  lastPosition: number;
}

/**
 * Decodes the descriptor at the start of a segment file. Returns undefined for a preallocated
 * segment that was never written (version byte 0 or an empty file).
 */
export function parseSegmentDescriptor(buf: Buffer, fileName: string): SegmentDescriptor | undefined {
  const unusable = (reason: string) =>
    new BackupInvalidError(`Journal segment ${fileName} has an unusable descriptor: ${reason}.`);

  if (buf.length === 0 || buf.readUInt8(DescriptorOffset.version) === NO_DESCRIPTOR) return undefined;
  const version = buf.readUInt8(DescriptorOffset.version);
  if (version === LEGACY_DESCRIPTOR_VERSION) {
    throw unusable(
      `it uses descriptor version 1, an old layout without SBE headers that this agent cannot read; only version ${DESCRIPTOR_VERSION} is supported`,
    );
  }
  if (version !== DESCRIPTOR_VERSION) {
    throw unusable(`unknown descriptor version ${version}; only version ${DESCRIPTOR_VERSION} is supported`);
  }
  if (buf.length < DESCRIPTOR_LENGTH) {
    throw unusable(`the file has ${buf.length} bytes, fewer than the ${DESCRIPTOR_LENGTH} of a descriptor`);
  }
  const headerMismatch =
    sbeHeaderMismatch(buf, DESCRIPTOR_OUTER_HEADER) ?? sbeHeaderMismatch(buf, DESCRIPTOR_INNER_HEADER);
  if (headerMismatch) throw unusable(headerMismatch);

  const storedChecksum = buf.readBigInt64LE(DescriptorOffset.checksum);
  const actualChecksum = descriptorChecksum(buf);
  if (storedChecksum !== actualChecksum) {
    throw unusable(
      `checksum mismatch: the descriptor says ${storedChecksum.toString(16)}, its bytes have ${actualChecksum.toString(16)}`,
    );
  }
  return {
    id: buf.readBigInt64LE(DescriptorOffset.id),
    index: buf.readBigInt64LE(DescriptorOffset.index),
    maxSegmentSize: buf.readInt32LE(DescriptorOffset.maxSegmentSize),
    lastIndex: buf.readBigUInt64LE(DescriptorOffset.lastIndex),
    lastPosition: buf.readUInt32LE(DescriptorOffset.lastPosition),
  };
}

/** Encodes a version-2 descriptor, checksum included, exactly as Zeebe writes it. */
export function encodeSegmentDescriptor(descriptor: SegmentDescriptor): Buffer {
  const buf = Buffer.alloc(DESCRIPTOR_LENGTH);
  buf.writeUInt8(DESCRIPTOR_VERSION, DescriptorOffset.version);
  writeSbeHeader(buf, DESCRIPTOR_OUTER_HEADER);
  writeSbeHeader(buf, DESCRIPTOR_INNER_HEADER);
  buf.writeBigInt64LE(descriptor.id, DescriptorOffset.id);
  buf.writeBigInt64LE(descriptor.index, DescriptorOffset.index);
  buf.writeInt32LE(descriptor.maxSegmentSize, DescriptorOffset.maxSegmentSize);
  buf.writeBigUInt64LE(descriptor.lastIndex, DescriptorOffset.lastIndex);
  buf.writeUInt32LE(descriptor.lastPosition, DescriptorOffset.lastPosition);
  buf.writeBigInt64LE(descriptorChecksum(buf), DescriptorOffset.checksum);
  return buf;
}

function writeSbeHeader(buf: Buffer, spec: SbeHeaderSpec): void {
  [spec.blockLength, spec.templateId, SBE_SCHEMA_ID, SBE_SCHEMA_VERSION].forEach((value, field) =>
    buf.writeUInt16LE(value, spec.offset + 2 * field),
  );
}

function descriptorChecksum(buf: Buffer): bigint {
  return BigInt(crc32c(buf.subarray(DescriptorOffset.checksummedFrom, DESCRIPTOR_LENGTH)));
}

// ---- Frames -------------------------------------------------------------------------------

export const FRAME_VERSION = 1;
/** Frame-version value that ends a segment's data; truncation writes it after the kept entry. */
export const END_OF_DATA = 0;
/** Version byte, SBE header, checksum i64 and record length i32. */
export const FRAME_HEADER_LENGTH = 1 + SBE_HEADER_LENGTH + 8 + 4;

const FrameOffset = { version: 0, checksum: 9, recordLength: 17 } as const;
const FRAME_SBE_HEADER: SbeHeaderSpec = { offset: 1, blockLength: 12, templateId: 1 };

const RecordOffset = { index: 8, asqn: 16, dataLength: 24 } as const;
/** A record's header; the entry's opaque data follows it. */
export const RECORD_HEADER_LENGTH = 28;
const RECORD_SBE_HEADER: SbeHeaderSpec = { offset: 0, blockLength: 16, templateId: 2 };

/** Identifies a frame in error messages; the expected index still holds when the frame is garbage. */
export interface FrameLocation {
  fileName: string;
  offset: number;
  expectedIndex: bigint;
}

/** A frame that cannot be read: cut off, failing its checksum, malformed, or out of order. */
export class CorruptFrameError extends BackupInvalidError {
  constructor(
    readonly at: FrameLocation,
    reason: string,
    /** A well-formed, intact entry whose index is not the next one: the log is out of order rather than torn. */
    readonly outOfOrder = false,
  ) {
    super(`Journal segment ${at.fileName} is corrupt at byte offset ${at.offset} (entry index ${at.expectedIndex}): ${reason}.`);
  }
}

export function corruptFrameError(at: FrameLocation, reason: string): CorruptFrameError {
  return new CorruptFrameError(at, reason);
}

/*
 * A journal scan decodes every frame of the log (hundreds of thousands per GiB), so the functions
 * below read in place at an offset into the scan's buffer, return numbers where they can and a
 * reason string rather than throwing: no view, object or BigInt per frame beyond what the caller
 * keeps (journal-reader.ts decodeFrameAt). `frame` is where the frame-version byte sits in `buf`.
 */

/** Why the header of the frame at `frame` is not that of a valid entry, or undefined. */
export function frameHeaderProblem(buf: Buffer, frame: number): string | undefined {
  const version = buf[frame + FrameOffset.version];
  if (version !== FRAME_VERSION) return `unknown frame version ${version}`;
  const headerMismatch = sbeHeaderMismatch(buf, FRAME_SBE_HEADER, frame);
  if (headerMismatch) return `the frame header is malformed: ${headerMismatch}`;
  const recordLength = frameRecordLength(buf, frame);
  if (recordLength < RECORD_HEADER_LENGTH) return `record length ${recordLength} is shorter than a record header`;
  return undefined;
}

/** Length of the serialized record that follows the frame header at `frame`. */
export function frameRecordLength(buf: Buffer, frame: number): number {
  return buf.readInt32LE(frame + FrameOffset.recordLength);
}

/** Why the record, the bytes after the frame header at `frame`, fails the frame's checksum, or undefined. */
export function frameChecksumProblem(buf: Buffer, frame: number, record: Buffer): string | undefined {
  const actual = crc32c(record);
  // The i64 holds an unsigned 32-bit CRC: its halves compare as numbers, no BigInt per frame.
  if (buf.readUInt32LE(frame + FrameOffset.checksum) === actual && buf.readInt32LE(frame + FrameOffset.checksum + 4) === 0) {
    return undefined;
  }
  return `checksum mismatch: the frame says ${buf.readBigInt64LE(frame + FrameOffset.checksum).toString(16)}, its record data has ${actual.toString(16)}`;
}

/** The checksum a frame header must carry for its record data. */
function recordChecksum(record: Buffer): bigint {
  return BigInt(crc32c(record));
}

export interface RecordHeader {
  index: bigint;
  /** Zeebe log position of the batch, or -1 for Raft-internal entries. */
  asqn: bigint;
}

/** Why the `recordLength` bytes at `record` are not a well-formed record, or undefined. */
export function recordProblem(buf: Buffer, record: number, recordLength: number): string | undefined {
  const headerMismatch = sbeHeaderMismatch(buf, RECORD_SBE_HEADER, record);
  if (headerMismatch) return `the record is malformed: ${headerMismatch}`;
  const dataLength = buf.readUInt32LE(record + RecordOffset.dataLength);
  if (RECORD_HEADER_LENGTH + dataLength !== recordLength) {
    return `the record announces ${dataLength} data bytes but the frame holds ${recordLength - RECORD_HEADER_LENGTH}`;
  }
  return undefined;
}

export function recordIndex(buf: Buffer, record: number): bigint {
  const at = record + RecordOffset.index;
  const high = buf.readUInt32LE(at + 4);
  return high < SAFE_HIGH_WORD ? BigInt(high * 2 ** 32 + buf.readUInt32LE(at)) : buf.readBigUInt64LE(at);
}

export function recordAsqn(buf: Buffer, record: number): bigint {
  const at = record + RecordOffset.asqn;
  const high = buf.readInt32LE(at + 4);
  return high < SAFE_HIGH_WORD && high >= -SAFE_HIGH_WORD ? BigInt(high * 2 ** 32 + buf.readUInt32LE(at)) : buf.readBigInt64LE(at);
}

/**
 * A 64-bit value whose high word is below this in magnitude is a safe integer: one number sum and
 * one BigInt conversion, where readBig(U)Int64LE builds it from three BigInts.
 */
const SAFE_HIGH_WORD = 2 ** 21;

export interface JournalEntry extends RecordHeader {
  data: Uint8Array;
}

/** Bytes the frame of an entry with `dataLength` bytes of data occupies. */
export function frameLength(dataLength: number): number {
  return FRAME_HEADER_LENGTH + RECORD_HEADER_LENGTH + dataLength;
}

/**
 * Encodes the entry's frame, checksum included, exactly as Zeebe appends it, into `target` at
 * `offset` (which must have room for `frameLength(entry.data.length)` bytes). Writing in place
 * lets a writer pack frames into one reused buffer.
 */
export function encodeFrame(target: Buffer, offset: number, entry: JournalEntry): void {
  const frame = target.subarray(offset, offset + frameLength(entry.data.length));
  const record = frame.subarray(FRAME_HEADER_LENGTH);
  writeSbeHeader(record, RECORD_SBE_HEADER);
  record.writeBigUInt64LE(entry.index, RecordOffset.index);
  record.writeBigInt64LE(entry.asqn, RecordOffset.asqn);
  record.writeUInt32LE(entry.data.length, RecordOffset.dataLength);
  record.set(entry.data, RECORD_HEADER_LENGTH);

  frame.writeUInt8(FRAME_VERSION, FrameOffset.version);
  writeSbeHeader(frame, FRAME_SBE_HEADER);
  frame.writeBigInt64LE(recordChecksum(record), FrameOffset.checksum);
  frame.writeInt32LE(record.length, FrameOffset.recordLength);
}

// ---- File names ---------------------------------------------------------------------------

export function journalNameOfPartition(partitionId: number): string {
  return `raft-partition-partition-${partitionId}`;
}

export interface SegmentFileName {
  partitionId: number;
  segmentId: bigint;
}

/** Parses `raft-partition-partition-<p>-<segmentId>.log`; undefined for any other file. */
export function parseSegmentFileName(fileName: string): SegmentFileName | undefined {
  // The partition id must be spelled canonically: the broker looks for exactly its journal name.
  const match = /^raft-partition-partition-(0|[1-9]\d*)-(\d+)\.log$/.exec(fileName);
  if (!match?.[1] || !match[2]) return undefined;
  return { partitionId: Number(match[1]), segmentId: BigInt(match[2]) };
}
