import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, zstdCompressSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerDecodingSink, WorkerFailure } from '../../src/restore/decode-workers.js';
import { tempDir } from '../support/fixtures.js';
import { checkGeneratively, timeoutOf } from '../support/generative/run-generative.js';
import { SeededRandom } from '../support/generative/seeded-random.js';
import { mountTmpfs, mountUnavailable, unmountAll } from '../support/mounts.js';

/*
 * The decode workers (src/restore/decode-worker.ts) write each buffer either behind the decoder,
 * on libuv's pool, or in turn, depending on how many files decode at once. Whichever way, a file
 * must come out byte for byte, with the CRC32C of its content, and a failure (a cut or damaged
 * stream, a full disk, an abort) must be reported, leave no descriptor open, and leave the
 * workers able to decode the next files: an output buffer not handed back would stall them.
 * Generated files decode one alone (written behind, with a spare CPU) and several at once.
 */

const MiB = 1024 * 1024;

afterEach(unmountAll);

interface FileCase {
  seed: string;
  /** Content: random bytes (incompressible), record-like text, zeros. */
  parts: { kind: 'noise' | 'records' | 'zeros'; length: number }[];
  frames: number;
  frameChecksum: boolean;
  contentSize: boolean;
  /** The size of the pieces the compressed stream arrives in. */
  chunkSize: number;
}

/** Lengths around the workers' 1 MiB output buffers, small ones and large ones. */
const partLength = fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: MiB - 64, max: MiB + 64 }), fc.integer({ min: 0, max: 3 * MiB }));

const fileCase: fc.Arbitrary<FileCase> = fc.record({
  seed: fc.string({ minLength: 1, maxLength: 8 }),
  parts: fc.array(fc.record({ kind: fc.constantFrom('noise' as const, 'records' as const, 'zeros' as const), length: partLength }), { minLength: 1, maxLength: 4 }),
  frames: fc.integer({ min: 1, max: 3 }),
  frameChecksum: fc.boolean(),
  contentSize: fc.boolean(),
  chunkSize: fc.integer({ min: 1024, max: 300 * 1024 }),
});

function contentOf(file: FileCase): Buffer {
  const random = new SeededRandom(file.seed);
  return Buffer.concat(
    file.parts.map(({ kind, length }) => {
      if (kind === 'noise') return random.bytes(length);
      if (kind === 'zeros') return Buffer.alloc(length);
      let text = '';
      for (let record = random.int(0, 1e6); text.length < length; record++) text += `{"key":${record},"intent":"CREATED","variables":{"n":${record % 97}}}\n`;
      return Buffer.from(text.slice(0, length));
    }),
  );
}

/** The content in `frames` zstd frames, one after the other, as zstd tools and Zeebe may write them. */
function compress(content: Buffer, file: FileCase): Buffer {
  const random = new SeededRandom(`${file.seed}/frames`);
  const cuts = Array.from({ length: file.frames - 1 }, () => random.int(0, content.length)).sort((a, b) => a - b);
  const bounds = [0, ...cuts, content.length];
  const params = { [constants.ZSTD_c_checksumFlag]: file.frameChecksum ? 1 : 0, [constants.ZSTD_c_contentSizeFlag]: file.contentSize ? 1 : 0 };
  return Buffer.concat(bounds.slice(1).map((end, i) => zstdCompressSync(content.subarray(bounds[i], end), { params })));
}

function inChunks(bytes: Buffer, chunkSize: number): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
    })(),
  );
}

async function decode(compressed: Buffer, path: string, chunkSize = 64 * 1024): Promise<WorkerDecodingSink> {
  const sink = new WorkerDecodingSink(path, { checksum: true });
  await pipeline(inChunks(compressed, chunkSize), sink);
  return sink;
}

async function expectDecoded(sink: WorkerDecodingSink, path: string, content: Buffer): Promise<void> {
  const written = await readFile(path);
  const firstDifference = written.findIndex((byte, i) => byte !== content[i]);
  expect({ size: written.length, firstDifference: written.length === content.length ? firstDifference : 'sizes differ' }).toEqual({
    size: content.length,
    firstDifference: -1,
  });
  expect(sink.bytesWritten).toBe(content.length);
  expect(sink.crc32c).toBe(crc32c(content));
}

/** Paths this process (the workers included) holds open under `directory`. */
async function openFilesUnder(directory: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(directory));
}

/** The workers still decode correctly: nothing was left holding their output buffers. */
async function expectWorkersStillDecode(directory: string, tag: string): Promise<void> {
  const content = contentOf({ seed: tag, parts: [{ kind: 'records', length: 5 * MiB }], frames: 1, frameChecksum: true, contentSize: false, chunkSize: 0 });
  const compressed = zstdCompressSync(content);
  await Promise.all(
    [1, 2, 3].map(async (n) => {
      const path = join(directory, `${tag}-after-${n}`);
      await expectDecoded(await decode(compressed, path), path, content);
    }),
  );
}

describe('zstd files decoded by the workers', () => {
  it(
    'come out byte for byte with their CRC32C, one alone or several at once',
    async () => {
      const directory = await tempDir();
      let caseNumber = 0;
      await checkGeneratively({
        property: 'workerDecoding',
        testFile: import.meta.filename,
        testName: 'come out byte for byte with their CRC32C, one alone or several at once',
        cases: fc.array(fileCase, { minLength: 1, maxLength: 4 }),
        check: async (files) => {
          caseNumber++;
          await Promise.all(
            files.map(async (file, i) => {
              const content = contentOf(file);
              const path = join(directory, `${caseNumber}-${i}`);
              await expectDecoded(await decode(compress(content, file), path, file.chunkSize), path, content);
            }),
          );
        },
      });
      expect(await openFilesUnder(directory)).toEqual([]);
    },
    timeoutOf('workerDecoding', 2),
  );

  const content = contentOf({ seed: 'failures', parts: [{ kind: 'noise', length: 2 * MiB }, { kind: 'records', length: 6 * MiB }], frames: 1, frameChecksum: true, contentSize: false, chunkSize: 0 });
  const compressed = zstdCompressSync(content, { params: { [constants.ZSTD_c_checksumFlag]: 1 } });

  it.each([1, 3])('a stream cut short fails as a decompression failure, %i file(s) at once, and the workers go on', async (atOnce) => {
    const directory = await tempDir();
    const random = new SeededRandom(`cuts-${atOnce}`);
    for (let round = 0; round < 4; round++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: atOnce }, (_, i) => decode(compressed.subarray(0, random.int(1, compressed.length - 1)), join(directory, `cut-${round}-${i}`))),
      );
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason as WorkerFailure;
        expect(reason).toBeInstanceOf(WorkerFailure);
        expect(reason.stage).toBe('decompress');
      }
    }
    expect(await openFilesUnder(directory)).toEqual([]);
    await expectWorkersStillDecode(directory, `cut-${atOnce}`);
  });

  it('a damaged stream fails as a decompression failure', async () => {
    const directory = await tempDir();
    const damaged = Buffer.from(compressed);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    await expect(decode(damaged, join(directory, 'damaged'))).rejects.toMatchObject({ stage: 'decompress' });
    expect(await openFilesUnder(directory)).toEqual([]);
    await expectWorkersStillDecode(directory, 'damaged');
  });

  it('a file destroyed half-way is closed before its sink is, and the workers go on', async () => {
    const directory = await tempDir();
    for (const atOnce of [1, 3]) {
      await Promise.all(
        Array.from({ length: atOnce }, async (_, i) => {
          const sink = new WorkerDecodingSink(join(directory, `destroyed-${atOnce}-${i}`));
          const closed = new Promise((resolve) => sink.once('close', resolve));
          sink.write(compressed.subarray(0, 1024 * 1024));
          sink.write(compressed.subarray(1024 * 1024, 1536 * 1024));
          await new Promise((resolve) => setTimeout(resolve, 20));
          sink.destroy();
          await closed;
        }),
      );
      expect(await openFilesUnder(directory)).toEqual([]);
    }
    await expectWorkersStillDecode(directory, 'destroyed');
  });

  it.skipIf(mountUnavailable)('a full disk fails as a write failure with ENOSPC, alone or several at once, and the workers go on', async () => {
    const full = await tempDir();
    mountTmpfs(full, '3m');
    for (const atOnce of [1, 3]) {
      const outcomes = await Promise.allSettled(Array.from({ length: atOnce }, (_, i) => decode(compressed, join(full, `full-${atOnce}-${i}`))));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ stage: 'write', code: 'ENOSPC' });
      }
      expect(await openFilesUnder(full)).toEqual([]);
    }
    await expectWorkersStillDecode(await tempDir(), 'full');
  });
});
