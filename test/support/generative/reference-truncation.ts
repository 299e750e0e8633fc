import { crc32c } from '@node-rs/crc32';

/*
 * The restore's expected journal, computed from the spec alone
 * (shared/spec/journal-and-snapshot-format.md §1.2 and §1.3) and proven against Zeebe 8.5.4's own
 * truncations in test/fixtures/zeebe-8.5.4. It deliberately shares no code with src/journal: a
 * bug there must not be able to hide by being copied into the expectation.
 */

const DESCRIPTOR_BYTES = 57;
const FRAME_HEADER_BYTES = 21;
const RECORD_HEADER_BYTES = 28;
const VALID_FRAME = 1;

const Descriptor = { checksum: 9, checksummedFrom: 17, id: 25, index: 33, lastIndex: 45, lastPosition: 53 } as const;
const Frame = { checksum: 9, recordLength: 17 } as const;
const Record = { index: 8, asqn: 16 } as const;

export interface ScannedEntry {
  /** Byte offset of the frame's version byte. */
  offset: number;
  /** Bytes the whole frame occupies. */
  frameBytes: number;
  index: bigint;
  asqn: bigint;
}

export interface ScannedSegment {
  name: string;
  id: bigint;
  /** Undefined for a preallocated segment whose descriptor was never written. */
  descriptor?: { index: bigint; lastIndex: bigint; lastPosition: number };
  entries: ScannedEntry[];
  /**
   * A frame announced as valid whose bytes are incomplete (checksum mismatch or cut short): a copy
   * taken while the broker was writing it. A broker opening the segment marks it as the end.
   */
  tornFrameOffset?: number;
}

/** `raft-partition-partition-<p>-<id>.log` → id. */
function segmentIdOf(name: string): bigint {
  const match = /-(\d+)\.log$/.exec(name);
  if (!match) throw new Error(`${name} is not a segment file name`);
  return BigInt(match[1]!);
}

/**
 * Reads a segment as a broker opening it would: descriptor, then frames until the end marker, the
 * end of the file or a torn frame. Anything else unexpected is an error, since the generator
 * never writes it and the model should not guess.
 */
export function scanSegment(name: string, bytes: Buffer): ScannedSegment {
  const id = segmentIdOf(name);
  if (bytes.length === 0 || bytes[0] === 0) return { name, id, entries: [] };
  const descriptor = {
    index: bytes.readBigInt64LE(Descriptor.index),
    lastIndex: bytes.readBigUInt64LE(Descriptor.lastIndex),
    lastPosition: bytes.readUInt32LE(Descriptor.lastPosition),
  };
  const entries: ScannedEntry[] = [];
  let offset = DESCRIPTOR_BYTES;
  while (offset < bytes.length && bytes[offset] !== 0) {
    if (bytes[offset] !== VALID_FRAME) throw new Error(`${name}: frame version ${bytes[offset]} at ${offset}`);
    const recordStart = offset + FRAME_HEADER_BYTES;
    const recordLength = recordStart <= bytes.length ? bytes.readInt32LE(offset + Frame.recordLength) : -1;
    const recordEnd = recordStart + recordLength;
    const intact =
      recordLength >= RECORD_HEADER_BYTES &&
      recordEnd <= bytes.length &&
      BigInt(crc32c(bytes.subarray(recordStart, recordEnd))) === bytes.readBigInt64LE(offset + Frame.checksum);
    if (!intact) return { name, id, descriptor, entries, tornFrameOffset: offset };
    const index = bytes.readBigUInt64LE(recordStart + Record.index);
    const expectedIndex = descriptor.index + BigInt(entries.length);
    if (index !== expectedIndex) throw new Error(`${name}: entry at ${offset} has index ${index}, expected ${expectedIndex}`);
    entries.push({ offset, frameBytes: recordEnd - offset, index, asqn: bytes.readBigInt64LE(recordStart + Record.asqn) });
    offset = recordEnd;
  }
  return { name, id, descriptor, entries };
}

export type ReferenceTruncation =
  | {
      kind: 'truncated';
      /** Every segment file the restored journal keeps, by name, with its exact bytes. */
      files: Map<string, Buffer>;
      checkpointIndex: bigint;
      checkpointSegment: string;
    }
  | { kind: 'checkpointMissing'; firstAsqn?: bigint; lastAsqn?: bigint };

/**
 * What Zeebe's restore leaves of a journal for checkpoint position `checkpointPosition` (§1.3):
 * segments before the checkpoint's unchanged; in the checkpoint's segment the version byte of the
 * frame after the checkpoint, of the segment's last written entry and of a torn frame set to 0 and
 * the descriptor's last entry reset; later segments gone.
 */
export function referenceTruncation(segmentFiles: Map<string, Buffer>, checkpointPosition: bigint): ReferenceTruncation {
  const segments = [...segmentFiles].map(([name, bytes]) => scanSegment(name, bytes)).sort((a, b) => (a.id < b.id ? -1 : 1));
  const holder = segments.find((segment) => segment.entries.some((entry) => entry.asqn === checkpointPosition));
  if (checkpointPosition < 0n || !holder) {
    const asqns = segments.flatMap((segment) => segment.entries.map((entry) => entry.asqn)).filter((asqn) => asqn >= 0n);
    return { kind: 'checkpointMissing', ...(asqns.length > 0 ? { firstAsqn: asqns[0], lastAsqn: asqns.at(-1) } : {}) };
  }
  const checkpoint = holder.entries.find((entry) => entry.asqn === checkpointPosition)!;
  const files = new Map<string, Buffer>();
  for (const segment of segments) {
    if (segment.id < holder.id) files.set(segment.name, segmentFiles.get(segment.name)!);
  }
  files.set(holder.name, truncatedSegment(segmentFiles.get(holder.name)!, holder, checkpoint));
  return { kind: 'truncated', files, checkpointIndex: checkpoint.index, checkpointSegment: holder.name };
}

function truncatedSegment(original: Buffer, segment: ScannedSegment, checkpoint: ScannedEntry): Buffer {
  const bytes = Buffer.from(original);
  const lastWritten = segment.descriptor!.lastPosition || segment.entries.at(-1)!.offset;
  const endMarkers = [checkpoint.offset + checkpoint.frameBytes];
  if (lastWritten > checkpoint.offset) endMarkers.push(lastWritten);
  if (segment.tornFrameOffset !== undefined) endMarkers.push(segment.tornFrameOffset);
  for (const offset of endMarkers) if (offset < bytes.length) bytes[offset] = 0;

  bytes.writeBigUInt64LE(0n, Descriptor.lastIndex);
  bytes.writeUInt32LE(0, Descriptor.lastPosition);
  bytes.writeBigInt64LE(BigInt(crc32c(bytes.subarray(Descriptor.checksummedFrom, DESCRIPTOR_BYTES))), Descriptor.checksum);
  return bytes;
}
