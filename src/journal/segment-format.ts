import { crc32c } from '@node-rs/crc32';
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

/** Returns why the SBE header differs from the expected one, or undefined when it matches. */
function sbeHeaderMismatch(buf: Buffer, spec: SbeHeaderSpec): string | undefined {
  // Checked for two headers of every frame of a journal scan: compare in place, and build the
  // arrays for the message only when it does not match.
  if (
    buf.readUInt16LE(spec.offset) === spec.blockLength &&
    buf.readUInt16LE(spec.offset + 2) === spec.templateId &&
    buf.readUInt16LE(spec.offset + 4) === SBE_SCHEMA_ID &&
    buf.readUInt16LE(spec.offset + 6) === SBE_SCHEMA_VERSION
  ) {
    return undefined;
  }
  const expected = [spec.blockLength, spec.templateId, SBE_SCHEMA_ID, SBE_SCHEMA_VERSION];
  const actual = expected.map((_, field) => buf.readUInt16LE(spec.offset + 2 * field));
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
/** Where a frame header keeps the length of the record that follows it (an i32). */
export const FRAME_RECORD_LENGTH_OFFSET = FrameOffset.recordLength;
const FRAME_SBE_HEADER: SbeHeaderSpec = { offset: 1, blockLength: 12, templateId: 1 };

const RecordOffset = { index: 8, asqn: 16, dataLength: 24 } as const;
const RECORD_HEADER_LENGTH = 28;
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

export interface FrameHeader {
  checksum: bigint;
  /** Length of the serialized record data after the header. */
  recordLength: number;
}

/** Decodes the header of a valid-entry frame; `buf` starts at the frame-version byte. */
export function decodeFrameHeader(buf: Buffer, at: FrameLocation): FrameHeader {
  const version = buf.readUInt8(FrameOffset.version);
  if (version !== FRAME_VERSION) throw corruptFrameError(at, `unknown frame version ${version}`);
  const headerMismatch = sbeHeaderMismatch(buf, FRAME_SBE_HEADER);
  if (headerMismatch) throw corruptFrameError(at, `the frame header is malformed: ${headerMismatch}`);
  const recordLength = buf.readInt32LE(FrameOffset.recordLength);
  if (recordLength < RECORD_HEADER_LENGTH) {
    throw corruptFrameError(at, `record length ${recordLength} is shorter than a record header`);
  }
  return { checksum: buf.readBigInt64LE(FrameOffset.checksum), recordLength };
}

/** The checksum a frame header must carry for its record data. */
export function recordChecksum(record: Buffer): bigint {
  return BigInt(crc32c(record));
}

export interface RecordHeader {
  index: bigint;
  /** Zeebe log position of the batch, or -1 for Raft-internal entries. */
  asqn: bigint;
}

export function decodeRecordHeader(record: Buffer, at: FrameLocation): RecordHeader {
  const headerMismatch = sbeHeaderMismatch(record, RECORD_SBE_HEADER);
  if (headerMismatch) throw corruptFrameError(at, `the record is malformed: ${headerMismatch}`);
  const dataLength = record.readUInt32LE(RecordOffset.dataLength);
  if (RECORD_HEADER_LENGTH + dataLength !== record.length) {
    throw corruptFrameError(
      at,
      `the record announces ${dataLength} data bytes but the frame holds ${record.length - RECORD_HEADER_LENGTH}`,
    );
  }
  return {
    index: record.readBigUInt64LE(RecordOffset.index),
    asqn: record.readBigInt64LE(RecordOffset.asqn),
  };
}

/** The entry's opaque data: a view into `record`, the serialized record data of a frame. */
export function recordData(record: Buffer): Buffer {
  return record.subarray(RECORD_HEADER_LENGTH);
}

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
