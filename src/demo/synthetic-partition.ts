import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { JournalWriter } from '../journal/journal-writer.js';
import { encodeRaftEntry } from '../journal/raft-entry.js';
import { DESCRIPTOR_LENGTH, frameLength } from '../journal/segment-format.js';
import { writeSnapshotChecksumFile } from '../snapshot/checksum-writer.js';
import { sourceFilesIn, type SourceFile } from './filesystem-backup-writer.js';

const MIN_ENTRY_DATA = 50;
const MAX_ENTRY_DATA = 4000;
/** Raft writes an internal entry (asqn -1) now and then; every 7th is often enough to exercise it. */
const RAFT_ENTRY_INTERVAL = 7n;
/** Records per application entry: the batch's positions run from its asqn on. */
const MAX_BATCH_RECORDS = 5;
const RAFT_TERM = 1n;
const MAX_SST_FILE_SIZE = 64 * 1024 * 1024;
const FILE_WRITE_CHUNK = 1024 * 1024;
const SNAPSHOT_TERM = 1;

export interface PartitionDataOptions {
  /** Becomes the partition directory: segments in it, the snapshot under `snapshots/`. */
  directory: string;
  partitionId: number;
  /** Approximate size of all segment files together, the all-zero next segment included. */
  journalBytes: number;
  maxSegmentSize: number;
  /** Approximate size of the snapshot files together. */
  snapshotBytes: number;
  /** The same seed gives the same bytes. */
  seed: number;
  /** Node ids of the partition's Raft members, written into the log's configuration entry (default: node 0). */
  members?: number[];
}

export interface PartitionData {
  segmentFiles: SourceFile[];
  /** The snapshot's files and its `.checksum` file. */
  snapshotFiles: SourceFile[];
  snapshotId: string;
  /** The asqn of an entry in the last written segment, so a restore truncates there. */
  checkpointPosition: bigint;
}

interface Entry {
  index: bigint;
  asqn: bigint;
}

/**
 * Generates a partition's journal and snapshot as a Zeebe 8.5 broker would have them at backup
 * time, in the sizes asked for, for the demo and for benchmarks. Memory stays bounded however
 * many GiB are generated.
 */
export async function generatePartitionData(options: PartitionDataOptions): Promise<PartitionData> {
  const random = new SeededRandom(options.seed);
  const { checkpoint, snapshotEntry, segmentFiles } = await generateJournal(options, random);
  const processedPosition = snapshotEntry.asqn;
  const exportedPosition = maxBigInt(0n, processedPosition - BigInt(random.int(0, 99)));
  const snapshotId = `${snapshotEntry.index}-${SNAPSHOT_TERM}-${processedPosition}-${exportedPosition}`;

  const snapshotsDirectory = join(options.directory, 'snapshots');
  const snapshotDirectory = join(snapshotsDirectory, snapshotId);
  await mkdir(snapshotDirectory, { recursive: true });
  await writeSnapshotFiles(snapshotDirectory, options.snapshotBytes, { processedPosition, exportedPosition }, random);
  const checksumName = `${snapshotId}.checksum`;
  await writeSnapshotChecksumFile(snapshotDirectory, join(snapshotsDirectory, checksumName));

  return {
    segmentFiles,
    snapshotFiles: [
      ...(await sourceFilesIn(snapshotDirectory)),
      { name: checksumName, source: join(snapshotsDirectory, checksumName) },
    ],
    snapshotId,
    checkpointPosition: checkpoint.asqn,
  };
}

/**
 * Fills all but the last data segment and the last one about half, then leaves the all-zero next
 * segment a broker preallocates. The checkpoint lies in the last data segment with entries after
 * it; the snapshot is taken at the last position before that segment, as in the 8.5.4 fixture.
 * Entries are Raft entries as a broker writes them: the partition's configuration first, an
 * initial entry now and then (a new leader's), and application entries holding batches of
 * records, whose payload here is random bytes.
 */
async function generateJournal(options: PartitionDataOptions, random: SeededRandom) {
  const { directory, partitionId, maxSegmentSize } = options;
  await mkdir(directory, { recursive: true });
  const lastDataSegment = BigInt(Math.max(1, Math.round(options.journalBytes / maxSegmentSize) - 1));
  const lastSegmentTarget = (maxSegmentSize - DESCRIPTOR_LENGTH) / 2;

  const writer = await JournalWriter.create(directory, partitionId, maxSegmentSize, { preallocateNextSegment: true });
  let lastSegmentBytes = 0;
  let checkpoint: Entry | undefined;
  let snapshotEntry: Entry | undefined;
  let nextPosition = 1n;
  const configuration = configurationEntry(options.members ?? [0]);
  for (let index = 1n; ; index++) {
    const positioned = index !== 1n && index % RAFT_ENTRY_INTERVAL !== 0n;
    const payload = random.bytes(random.int(MIN_ENTRY_DATA, MAX_ENTRY_DATA));
    const entry = { index, asqn: positioned ? nextPosition : -1n };
    // Far enough into the last segment to leave entries after it for the restore to cut off. A
    // broker writes the checkpoint record in a batch of its own.
    const isCheckpoint = positioned && !checkpoint && writer.activeSegmentId === lastDataSegment && lastSegmentBytes >= lastSegmentTarget * 0.6;
    let data: Buffer;
    if (positioned) {
      const highestPosition = isCheckpoint ? nextPosition : nextPosition + BigInt(random.int(1, MAX_BATCH_RECORDS)) - 1n;
      data = encodeRaftEntry({ kind: 'application', term: RAFT_TERM, lowestPosition: nextPosition, highestPosition }, payload);
      nextPosition = highestPosition + 1n;
    } else {
      data = index === 1n ? configuration : encodeRaftEntry({ kind: 'initial', term: RAFT_TERM });
    }
    await writer.append({ asqn: entry.asqn, data });

    const inLastSegment = writer.activeSegmentId === lastDataSegment;
    if (inLastSegment) lastSegmentBytes += frameLength(data.length);
    if (!positioned) continue;
    // With a single data segment the snapshot falls back to its first position.
    if (!inLastSegment || !snapshotEntry) snapshotEntry = entry;
    if (isCheckpoint) checkpoint = entry;
    if (checkpoint && lastSegmentBytes >= lastSegmentTarget) {
      const { files } = await writer.close();
      const segmentFiles = files.map((name) => ({ name, source: join(directory, name) }));
      return { checkpoint, snapshotEntry, segmentFiles };
    }
  }
}

/** The configuration entry a partition's log starts with: every member active. */
function configurationEntry(members: number[]): Buffer {
  const updated = BigInt(Date.UTC(2026, 0, 1));
  return encodeRaftEntry({
    kind: 'configuration',
    term: RAFT_TERM,
    timestamp: updated,
    members: members.map((nodeId) => ({ id: String(nodeId), type: 'ACTIVE', updated })),
    oldMembers: [],
  });
}

/** RocksDB's files as Zeebe 8.5 snapshots them, with random content of the requested size. */
async function writeSnapshotFiles(
  snapshotDirectory: string,
  snapshotBytes: number,
  positions: { processedPosition: bigint; exportedPosition: bigint },
  random: SeededRandom,
): Promise<void> {
  const metadata = JSON.stringify({
    version: 1,
    processedPosition: Number(positions.processedPosition),
    exportedPosition: Number(positions.exportedPosition),
    lastFollowupEventPosition: Number(positions.processedPosition),
  });
  const smallFiles: [string, Buffer][] = [
    ['CURRENT', Buffer.from('MANIFEST-000009\n')],
    ['MANIFEST-000009', random.bytes(6000)],
    ['OPTIONS-000011', random.bytes(4500)],
    ['zeebe.metadata', Buffer.from(metadata)],
  ];
  for (const [name, content] of smallFiles) await writeFile(join(snapshotDirectory, name), content);

  const sstBytes = Math.max(0, snapshotBytes - smallFiles.reduce((sum, [, content]) => sum + content.length, 0));
  const sstCount = Math.max(1, Math.ceil(sstBytes / MAX_SST_FILE_SIZE));
  for (let i = 0; i < sstCount; i++) {
    const size = Math.floor(sstBytes / sstCount) + (i === sstCount - 1 ? sstBytes % sstCount : 0);
    // RocksDB numbers its files from one counter, so table files come after the options file.
    const name = `${String(12 + i).padStart(6, '0')}.sst`;
    await writeRandomFile(join(snapshotDirectory, name), size, random);
  }
}

async function writeRandomFile(path: string, size: number, random: SeededRandom): Promise<void> {
  await pipeline(randomChunks(size, random), createWriteStream(path, { flags: 'wx' }));
}

function* randomChunks(size: number, random: SeededRandom): Generator<Buffer> {
  for (let produced = 0; produced < size; produced += FILE_WRITE_CHUNK) {
    yield random.bytes(Math.min(FILE_WRITE_CHUNK, size - produced));
  }
}

/**
 * Reproducible pseudo-random bytes and numbers from a seed. An AES-CTR keystream is far faster
 * than any JavaScript generator, which matters when filling GiBs.
 */
class SeededRandom {
  private static readonly BLOCK_SIZE = 1024 * 1024;
  private static readonly ZEROS = Buffer.alloc(SeededRandom.BLOCK_SIZE);
  private readonly keystream: Cipher;
  private block = Buffer.alloc(0);
  private used = 0;

  constructor(seed: number) {
    const key = createHash('sha256').update(`synthetic-partition:${seed}`).digest().subarray(0, 16);
    this.keystream = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }

  /** `length` fresh bytes; the buffer is never handed out again. */
  bytes(length: number): Buffer {
    if (this.used + length > this.block.length) {
      const zeros = length > SeededRandom.BLOCK_SIZE ? Buffer.alloc(length) : SeededRandom.ZEROS;
      this.block = this.keystream.update(zeros);
      this.used = 0;
    }
    this.used += length;
    return this.block.subarray(this.used - length, this.used);
  }

  /** An integer from min to max, both included; the modulo bias is irrelevant for test data. */
  int(min: number, max: number): number {
    return min + (this.bytes(4).readUInt32LE(0) % (max - min + 1));
  }
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
