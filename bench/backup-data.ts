/**
 * The benchmark's backup: 3 partitions, each a journal of 128 MiB segments (Zeebe's default
 * `maxSegmentSize`) and a RocksDB-like snapshot, written byte for byte as a Zeebe 8.5 broker does
 * with the project's own JournalWriter and checksum writer (imported from dist/).
 *
 * Unlike `src/demo/synthetic-partition.ts`, whose entries are random bytes, the entries here are
 * record-like (msgpack-ish field names and values that repeat, keys and counters that vary), so
 * zstd compresses segments about as well as real Zeebe logs (ratio ~3-5). Random bytes would make
 * zstd store raw blocks and turn the decompression benchmark into a memcpy benchmark.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { JournalWriter } from '../dist/journal/journal-writer.js';
import { DESCRIPTOR_LENGTH, frameLength } from '../dist/journal/segment-format.js';
import { writeSnapshotChecksumFile } from '../dist/snapshot/checksum-writer.js';

const MiB = 1024 * 1024;
/** Zeebe's default `maxSegmentSize`. */
export const SEGMENT_SIZE = 128 * MiB;
const SST_FILE_SIZE = 64 * MiB;
const RAFT_ENTRY_INTERVAL = 7n;

export interface GeneratedPartition {
  partitionId: number;
  directory: string;
  snapshotId: string;
  checkpointPosition: bigint;
  /** File names relative to `directory`. */
  segmentFiles: string[];
  /** File names relative to `directory/snapshots/<snapshotId>`, and the checksum file last (in `snapshots/`). */
  snapshotFiles: string[];
  checksumFile: string;
}

/**
 * One partition of about `bytes` bytes: ~60 % journal (full segments, a half-filled last one and
 * the all-zero segment a broker preallocates), the rest snapshot files of up to 64 MiB; and, with
 * `largeFileBytes`, one more snapshot file of that size, of poorly compressible content.
 */
export async function generatePartition(
  directory: string,
  partitionId: number,
  bytes: number,
  seed: number,
  largeFileBytes = 0,
): Promise<GeneratedPartition> {
  const random = new XorShift(seed);
  const pool = recordPool(random);
  await mkdir(directory, { recursive: true });
  const segments = Math.max(2, Math.round((bytes * 0.6) / SEGMENT_SIZE));
  // segments - 2 full segments, one half-filled, one preallocated.
  const lastDataSegment = BigInt(segments - 1);
  const lastSegmentTarget = (SEGMENT_SIZE - DESCRIPTOR_LENGTH) / 2;
  const writer = await JournalWriter.create(directory, partitionId, SEGMENT_SIZE, { preallocateNextSegment: true });
  let asqn = 0n;
  let lastSegmentBytes = 0;
  let checkpoint: bigint | undefined;
  let snapshotEntry = { index: 1n, asqn: 1n };
  let segmentFiles: string[] = [];
  for (let index = 1n; ; index++) {
    const positioned = index % RAFT_ENTRY_INTERVAL !== 0n;
    if (positioned) asqn += BigInt(1 + random.below(5));
    const data = entryData(pool, random);
    await writer.append({ asqn: positioned ? asqn : -1n, data });
    const inLast = writer.activeSegmentId === lastDataSegment;
    if (inLast) lastSegmentBytes += frameLength(data.length);
    if (!positioned) continue;
    if (!inLast) snapshotEntry = { index, asqn };
    if (inLast && checkpoint === undefined && lastSegmentBytes >= lastSegmentTarget * 0.6) checkpoint = asqn;
    if (checkpoint !== undefined && lastSegmentBytes >= lastSegmentTarget) {
      segmentFiles = (await writer.close()).files;
      break;
    }
  }
  const snapshotId = `${snapshotEntry.index}-1-${snapshotEntry.asqn}-${snapshotEntry.asqn - 10n}`;
  const snapshotDirectory = join(directory, 'snapshots', snapshotId);
  await mkdir(snapshotDirectory, { recursive: true });
  const small: [string, Buffer][] = [
    ['CURRENT', Buffer.from('MANIFEST-000009\n')],
    ['MANIFEST-000009', fill(6000, pool, random)],
    ['OPTIONS-000011', fill(4500, pool, random)],
    ['zeebe.metadata', Buffer.from(JSON.stringify({ version: 1, processedPosition: Number(snapshotEntry.asqn) }))],
  ];
  for (const [name, content] of small) await writeFile(join(snapshotDirectory, name), content);
  const snapshotBytes = Math.max(SST_FILE_SIZE / 4, bytes - segments * SEGMENT_SIZE);
  const sstCount = Math.ceil(snapshotBytes / SST_FILE_SIZE);
  const sstFiles: string[] = [];
  const sstName = (i: number) => `${String(12 + i).padStart(6, '0')}.sst`;
  for (let i = 0; i < sstCount; i++) {
    const size = Math.min(SST_FILE_SIZE, snapshotBytes - i * SST_FILE_SIZE);
    await pipeline(chunks(size, pool, random), createWriteStream(join(snapshotDirectory, sstName(i))));
    sstFiles.push(sstName(i));
  }
  if (largeFileBytes > 0) {
    await pipeline(blockCompressedChunks(largeFileBytes, pool, random), createWriteStream(join(snapshotDirectory, sstName(sstCount))));
    sstFiles.push(sstName(sstCount));
  }
  const checksumFile = `${snapshotId}.checksum`;
  await writeSnapshotChecksumFile(snapshotDirectory, join(directory, 'snapshots', checksumFile));
  return {
    partitionId,
    directory,
    snapshotId,
    checkpointPosition: checkpoint!,
    segmentFiles,
    snapshotFiles: [...small.map(([name]) => name), ...sstFiles].sort(),
    checksumFile,
  };
}

/** A few thousand distinct msgpack-ish records: field names repeat across records, values vary. */
function recordPool(random: XorShift): Buffer[] {
  const fields = ['processInstanceKey', 'bpmnProcessId', 'elementId', 'flowScopeKey', 'bpmnElementType', 'version', 'variables', 'tenantId', 'intent', 'recordType'];
  const words = ['order', 'payment', 'shipping', 'invoice', 'customer', 'approve', 'review', 'task', 'gateway', 'timer', 'ELEMENT_ACTIVATED', 'COMMAND', 'EVENT', '<default>'];
  const pool: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    const parts: string[] = [];
    for (const field of fields) {
      if (random.below(4) === 0) continue;
      const value =
        field === 'variables'
          ? JSON.stringify({ amount: random.below(100000), currency: 'EUR', item: words[random.below(words.length)], count: random.below(50) })
          : field.endsWith('Key')
            ? String(2251799813685248 + random.below(1_000_000_000))
            : `${words[random.below(words.length)]}-${words[random.below(words.length)]}-${random.below(100)}`;
      parts.push(`\u00a0${field}\u00d9${value}`);
    }
    pool.push(Buffer.from(parts.join('')));
  }
  return pool;
}

/** An entry: a batch of records, each stamped with a fresh key and timestamp (8 varying bytes). */
function entryData(pool: Buffer[], random: XorShift): Buffer {
  return fill(100 + random.below(3900), pool, random);
}

function fill(length: number, pool: Buffer[], random: XorShift): Buffer {
  const data = Buffer.allocUnsafe(length);
  let offset = 0;
  while (offset < length) {
    const record = pool[random.below(pool.length)]!;
    const start = offset;
    offset += record.copy(data, offset);
    // Values differ from record to record: a few varying bytes inside each one.
    for (let at = start + 16; at + 4 <= offset; at += 40) data.writeUInt32LE(random.next(), at);
    if (offset + 8 <= length) {
      data.writeUInt32LE(random.next(), offset);
      data.writeUInt32LE(random.next() & 0xffff, offset + 4);
      offset += 8;
    }
  }
  return data;
}

function* chunks(size: number, pool: Buffer[], random: XorShift): Generator<Buffer> {
  for (let done = 0; done < size; done += MiB) yield fill(Math.min(MiB, size - done), pool, random);
}

/**
 * Like an SST file written with RocksDB's block compression on (as large, old levels are): every
 * 4 KiB block is high-entropy (a compressed data block) but for a record-like tail (keys of its
 * index), so zstd saves less than a tenth of it.
 */
function* blockCompressedChunks(size: number, pool: Buffer[], random: XorShift): Generator<Buffer> {
  const BLOCK = 4096;
  const COMPRESSED_PART = BLOCK - 512;
  for (const chunk of chunks(size, pool, random)) {
    const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
    for (let block = 0; block < words.length; block += BLOCK / 4) {
      const end = Math.min(block + COMPRESSED_PART / 4, words.length);
      for (let word = block; word < end; word++) words[word] = random.next();
    }
    yield chunk;
  }
}

class XorShift {
  private state: number;
  constructor(seed: number) {
    this.state = Math.imul(seed, 2654435761) || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
}
