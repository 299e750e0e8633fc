import { Transform, type TransformCallback } from 'node:stream';

/*
 * The frame structure of a zstd stream (RFC 8878 §3.1), followed block header by block header
 * without decoding anything. The decoder checks a frame's content size and checksum only when it
 * reaches the frame's end; given a stream cut short it ends without an error, having returned what
 * it had (measured with Node 22's zstd: a 9 MiB file minus its last byte decodes to 9,306,112 of
 * 9,437,184 bytes, its first 64 KiB to nothing). Following the frames tells a complete stream from
 * a cut one.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const BLOCK_HEADER_LENGTH = 3;
const CHECKSUM_LENGTH = 4;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;

type Expecting =
  | 'magic'
  | 'frameHeaderDescriptor'
  | 'frameHeaderRest'
  | 'blockHeader'
  | 'skippableFrameSize';

export class ZstdFrameError extends Error {}

/** A valid stream of several zstd frames, which Node's built-in decoder cannot read (see withFrameChecks). */
export class MultiFrameStreamError extends Error {
  constructor() {
    super("the stream holds more than one zstd frame, which Node's built-in decoder does not read past the first");
  }
}

/** Follows the frames of a zstd stream fed to it in pieces; see the top of this file. */
export class ZstdFrameChecker {
  private expecting: Expecting = 'magic';
  /** Header bytes gathered so far, and how many `expecting` needs. */
  private header = Buffer.alloc(14);
  private headerLength = 0;
  private needed = 4;
  /** Payload bytes (block contents, checksums, skippable frames) still to pass over. */
  private skipping = 0;
  private frameHasChecksum = false;
  private lastBlockSeen = false;
  private offset = 0;
  private frames = 0;
  /** zstd frames (not skippable ones) whose header has begun, the current one included. */
  framesStarted = 0;
  private blocksInFrame = 0;
  /** The sum of the frames' declared content sizes, while every frame declares one. */
  private declaredSize: bigint | undefined = 0n;

  update(chunk: Buffer): void {
    let position = 0;
    while (position < chunk.length) {
      if (this.skipping > 0) {
        const skipped = Math.min(this.skipping, chunk.length - position);
        this.skipping -= skipped;
        position += skipped;
        this.offset += skipped;
        if (this.skipping === 0 && this.lastBlockSeen) this.endFrame();
        continue;
      }
      const taken = Math.min(this.needed - this.headerLength, chunk.length - position);
      chunk.copy(this.header, this.headerLength, position, position + taken);
      this.headerLength += taken;
      position += taken;
      this.offset += taken;
      if (this.headerLength === this.needed) this.onHeader(this.header.subarray(0, this.needed));
    }
  }

  /** Throws unless the stream ended right after a complete frame. */
  checkComplete(): void {
    if (this.frames === 0 && this.expecting === 'magic' && this.headerLength === 0) {
      throw new ZstdFrameError(this.offset === 0 ? 'the stream is empty: no zstd frame' : 'the stream holds no zstd frame, only skippable ones');
    }
    if (this.expecting !== 'magic' || this.headerLength > 0 || this.skipping > 0) {
      throw new ZstdFrameError(`the stream ends after ${this.offset} bytes, inside ${this.place()}: it is cut short (truncated)`);
    }
  }

  /** Throws when every frame declares its content size and `decodedBytes` differs from their sum. */
  checkDecodedSize(decodedBytes: number): void {
    if (this.declaredSize !== undefined && this.declaredSize !== BigInt(decodedBytes)) {
      throw new ZstdFrameError(`the frames declare ${this.declaredSize} bytes of content, but ${decodedBytes} were decoded`);
    }
  }

  /** Where in the stream the input stopped, for the message. */
  private place(): string {
    const frame = `frame ${this.frames + 1}`;
    switch (this.expecting) {
      case 'magic':
        return this.skipping > 0 ? 'a skippable frame' : 'the magic number of a frame';
      case 'skippableFrameSize':
        return 'the header of a skippable frame';
      case 'frameHeaderDescriptor':
      case 'frameHeaderRest':
        return `the header of ${frame}`;
      case 'blockHeader':
        if (this.skipping === 0) return `${frame} after its block ${this.blocksInFrame}; its last block never came`;
        if (this.lastBlockSeen && this.frameHasChecksum && this.skipping <= CHECKSUM_LENGTH) return `the content checksum of ${frame}`;
        return `block ${this.blocksInFrame} of ${frame}`;
    }
  }

  private onHeader(bytes: Buffer): void {
    this.headerLength = 0;
    switch (this.expecting) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.framesStarted++;
          return this.expect('frameHeaderDescriptor', 1);
        }
        if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) return this.expect('skippableFrameSize', 4);
        throw new ZstdFrameError(`byte ${this.offset - 4} should start a zstd frame, but holds 0x${magic.toString(16).padStart(8, '0')}`);
      }
      case 'frameHeaderDescriptor': {
        const descriptor = bytes[0]!;
        if (descriptor & 0x08) throw new ZstdFrameError(`frame ${this.frames + 1} sets the reserved bit of its header`);
        const singleSegment = (descriptor & 0x20) !== 0;
        const contentSizeFlag = descriptor >> 6;
        this.frameHasChecksum = (descriptor & 0x04) !== 0;
        this.contentSizeLength = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
        const restLength = (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 0x03]! + this.contentSizeLength;
        this.header[0] = descriptor;
        if (restLength === 0) return this.startBlocks(undefined);
        return this.expect('frameHeaderRest', restLength);
      }
      case 'frameHeaderRest':
        return this.startBlocks(this.contentSize(bytes));
      case 'blockHeader': {
        const header = bytes.readUIntLE(0, BLOCK_HEADER_LENGTH);
        const type = (header >> 1) & 0x03;
        if (type === BLOCK_TYPE_RESERVED) throw new ZstdFrameError(`block ${this.blocksInFrame + 1} of frame ${this.frames + 1} has the reserved block type`);
        this.blocksInFrame++;
        this.lastBlockSeen = (header & 0x01) === 1;
        const contentLength = type === BLOCK_TYPE_RLE ? 1 : header >>> 3;
        this.skipping = contentLength + (this.lastBlockSeen && this.frameHasChecksum ? CHECKSUM_LENGTH : 0);
        if (this.lastBlockSeen && this.skipping === 0) return this.endFrame();
        return this.expect('blockHeader', BLOCK_HEADER_LENGTH);
      }
      case 'skippableFrameSize':
        this.skipping = bytes.readUInt32LE(0);
        return this.expect('magic', 4);
    }
  }

  private contentSizeLength = 0;

  /** The Frame_Content_Size field at the end of the header, if the frame has one. */
  private contentSize(rest: Buffer): bigint | undefined {
    const field = rest.subarray(rest.length - this.contentSizeLength);
    switch (this.contentSizeLength) {
      case 0:
        return undefined;
      case 1:
        return BigInt(field[0]!);
      case 2:
        return BigInt(field.readUInt16LE(0) + 256);
      case 4:
        return BigInt(field.readUInt32LE(0));
      default:
        return field.readBigUInt64LE(0);
    }
  }

  private startBlocks(contentSize: bigint | undefined): void {
    this.declaredSize = contentSize === undefined || this.declaredSize === undefined ? undefined : this.declaredSize + contentSize;
    this.blocksInFrame = 0;
    this.lastBlockSeen = false;
    this.expect('blockHeader', BLOCK_HEADER_LENGTH);
  }

  private endFrame(): void {
    this.frames++;
    this.lastBlockSeen = false;
    this.blocksInFrame = 0;
    this.expect('magic', 4);
  }

  private expect(what: Expecting, bytes: number): void {
    this.expecting = what;
    this.needed = bytes;
  }
}

/**
 * Node's built-in decoder, as pipeline stages with the frames of its input followed (see the top
 * of this file). Both checks run at the end of the output, once the decoder has delivered
 * everything it could: the stream fails when its input was cut short, or when the decoded size
 * differs from what the frames declare. (Failing at the end of the input would drop the decoder's
 * last output, which a reader of a file's first bytes still wants.)
 *
 * Node's decoder stops after the first frame without a word (Node 22: `zstdDecompressSync` of two
 * frames returns the first's content), so a second frame fails the stream where it starts, rather
 * than leave a file that silently ends early.
 */
export function withFrameChecks(decoder: Transform): Transform[] {
  const checker = new ZstdFrameChecker();
  let decodedBytes = 0;
  const input = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        checker.update(chunk);
        if (checker.framesStarted > 1) throw new MultiFrameStreamError();
        callback(null, chunk);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      decodedBytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      attempt(() => {
        checker.checkComplete();
        checker.checkDecodedSize(decodedBytes);
      }, callback);
    },
  });
  return [input, decoder, output];
}

function attempt(check: () => void, callback: TransformCallback): void {
  try {
    check();
    callback();
  } catch (error) {
    callback(error as Error);
  }
}
