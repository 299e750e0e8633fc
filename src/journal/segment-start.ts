import { decodeFrameAt, END, type FrameWindow } from './journal-reader.js';
import { DESCRIPTOR_LENGTH, parseSegmentDescriptor } from './segment-format.js';

/**
 * Where a journal segment starts in the log, as far as its first bytes tell:
 * - `empty`: preallocated and never written, or a descriptor with no entry after it;
 * - `position`: the Zeebe position of its first entry that has one (Raft-internal entries do not);
 * - `unknown`: the bytes do not say (too few of them, only Raft entries, anything malformed).
 */
export type SegmentStart = { kind: 'empty' } | { kind: 'position'; firstPosition: bigint } | { kind: 'unknown' };

/**
 * Reads a segment's start from `head`, the first bytes of the file, all of it when `wholeFile`.
 * Frames are decoded and checksummed as the journal reader does, so a corrupt frame says
 * `unknown` rather than a wrong position; too few bytes say `unknown` too, never `empty`.
 */
export function segmentStart(head: Buffer, fileName: string, wholeFile: boolean): SegmentStart {
  if (head.length === 0) return wholeFile ? { kind: 'empty' } : { kind: 'unknown' };
  try {
    const descriptor = parseSegmentDescriptor(head.subarray(0, DESCRIPTOR_LENGTH), fileName);
    if (!descriptor) return { kind: 'empty' };
    const window = bufferWindow(head);
    let offset = DESCRIPTOR_LENGTH;
    for (let index = descriptor.index; ; index++) {
      const frame = decodeFrameAt(window, fileName, offset, index);
      if (frame === END) return offset === DESCRIPTOR_LENGTH ? { kind: 'empty' } : { kind: 'unknown' };
      if (frame === undefined) return { kind: 'unknown' };
      if (frame.asqn >= 0n) return { kind: 'position', firstPosition: frame.asqn };
      offset += frame.frameLength;
    }
  } catch {
    // A head cut inside a frame reads as a frame running past the end of the file.
    return { kind: 'unknown' };
  }
}

function bufferWindow(buffer: Buffer): FrameWindow {
  return { fileSize: buffer.length, bytes: buffer, start: 0, end: buffer.length };
}
