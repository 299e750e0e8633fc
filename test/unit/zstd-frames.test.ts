import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressionFor } from '../../src/compression/registry.js';
import { MultiFrameStreamError, ZstdFrameChecker, ZstdFrameError } from '../../src/compression/zstd-frames.js';

/** Records with repetitive headers and random bodies: zstd emits compressed (not raw) blocks. */
function poorlyCompressible(size: number): Buffer {
  const records: Buffer[] = [];
  for (let length = 0, i = 0; length < size; i++) {
    const record = Buffer.concat([Buffer.from(`{"key":${i},"intent":"CREATED","value":"`), randomBytes(50 + (i % 350))]);
    records.push(record);
    length += record.length;
  }
  return Buffer.concat(records).subarray(0, size);
}

const compress = (content: Buffer, { checksum = false, contentSize = false } = {}) =>
  zstdCompressSync(content, {
    params: { [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0, [constants.ZSTD_c_contentSizeFlag]: contentSize ? 1 : 0 },
  });

/** A skippable frame (RFC 8878 §3.1.2) with `size` bytes of user data. */
const skippableFrame = (size: number) => Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18]), Buffer.from(new Uint32Array([size]).buffer), Buffer.alloc(size, 9)]);

/** Feeds `stream` to a checker in pieces of `piece` bytes. */
function check(stream: Buffer, piece = 7, decodedBytes?: number): void {
  const checker = new ZstdFrameChecker();
  for (let offset = 0; offset < stream.length; offset += piece) checker.update(stream.subarray(offset, offset + piece));
  checker.checkComplete();
  if (decodedBytes !== undefined) checker.checkDecodedSize(decodedBytes);
}

async function decompress(stored: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await pipeline([Readable.from([stored]), ...decompressionFor('zstd', 'test file')!, sink]);
  return Buffer.concat(chunks);
}

describe('ZstdFrameChecker: a zstd stream is complete only after the end of its last frame', () => {
  const content = poorlyCompressible(600 * 1024);

  it.each([
    ['no content size, no checksum (as zstd-jni streams it)', {}],
    ['a content checksum', { checksum: true }],
    ['a declared content size', { contentSize: true }],
    ['both', { checksum: true, contentSize: true }],
  ])('accepts a whole frame with %s, in pieces of any size', (_name, options) => {
    const stream = compress(content, options);
    for (const piece of [1, 3, 4096, stream.length]) expect(() => check(stream, piece, content.length)).not.toThrow();
  });

  it('accepts several frames and skippable frames between them', () => {
    const stream = Buffer.concat([skippableFrame(10), compress(content.subarray(0, 1000)), skippableFrame(0), compress(content.subarray(1000), { checksum: true })]);
    expect(() => check(stream, 5)).not.toThrow();
  });

  it('rejects a stream cut anywhere: inside a header, a block, between blocks or before the checksum', () => {
    const small = compress(poorlyCompressible(300 * 1024), { checksum: true, contentSize: true });
    const cuts = new Set([1, 4, 5, 6, 9, 10, 11, 64 * 1024, small.length - 5, small.length - 4, small.length - 1]);
    for (let cut = 0; cut < small.length; cut += 997) cuts.add(cut);
    for (const cut of [...cuts].filter((cut) => cut > 0)) {
      expect(() => check(small.subarray(0, cut)), `cut at ${cut} of ${small.length}`).toThrow(/cut short \(truncated\)/);
    }
    // Cut after a complete first frame, inside a second one.
    const two = Buffer.concat([compress(Buffer.from('first')), compress(content)]);
    expect(() => check(two.subarray(0, two.length - 100))).toThrow(/inside block \d+ of frame 2:/);
  });

  it('rejects an empty stream, a stream of skippable frames only, and bytes that are not zstd', () => {
    expect(() => check(Buffer.alloc(0))).toThrow(/no zstd frame/);
    expect(() => check(skippableFrame(4))).toThrow(/only skippable ones/);
    expect(() => check(Buffer.from('plain text, not zstd'))).toThrow(/byte 0 should start a zstd frame, but holds 0x/);
    expect(() => check(Buffer.concat([compress(content), Buffer.from('trailing garbage')]))).toThrow(ZstdFrameError);
  });

  it('rejects a decoded size that differs from the declared content size', () => {
    const stream = compress(content, { contentSize: true });
    expect(() => check(stream, 4096, content.length - 1)).toThrow(`the frames declare ${content.length} bytes of content, but ${content.length - 1} were decoded`);
    // Without declared sizes there is nothing to compare.
    expect(() => check(compress(content), 4096, 1)).not.toThrow();
  });
});

describe("zstd decompression stages (Node's decoder, where zstd-napi cannot load)", () => {
  const content = poorlyCompressible(2 * 1024 * 1024);

  it('restore the exact bytes', async () => {
    for (const options of [{}, { checksum: true }, { contentSize: true }]) {
      expect((await decompress(compress(content, options))).equals(content)).toBe(true);
    }
  });

  it('deliver everything the decoder could decode before failing on a cut stream', async () => {
    const stream = compress(content);
    const delivered: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        delivered.push(chunk);
        callback();
      },
    });
    await expect(pipeline([Readable.from([stream.subarray(0, 1024 * 1024)]), ...decompressionFor('zstd', 'test file')!, sink])).rejects.toThrow(/truncated/);
    const start = Buffer.concat(delivered);
    // A reader of a segment's first bytes relies on this: 1 MiB of a stream is most of its start.
    expect(start.length).toBeGreaterThan(900 * 1024);
    expect(start.equals(content.subarray(0, start.length))).toBe(true);
  });

  it("fail where a second frame starts, which Node's decoder would silently skip", async () => {
    const twoFrames = Buffer.concat([compress(content.subarray(0, 1000)), compress(content.subarray(1000))]);
    await expect(decompress(twoFrames)).rejects.toThrow(MultiFrameStreamError);
  });

  it("fail on a stream cut short, which Node's decoder alone ends without complaint", async () => {
    const stream = compress(content);
    await expect(decompress(stream.subarray(0, stream.length - 1))).rejects.toThrow(/cut short \(truncated\)/);
    await expect(decompress(stream.subarray(0, 64 * 1024))).rejects.toThrow(/cut short \(truncated\)/);
  });
});
