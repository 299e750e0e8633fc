import { crc32c } from '@node-rs/crc32';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceFile } from '../../../src/demo/common-manifest.js';
import { sourceFilesIn } from '../../../src/demo/filesystem-backup-writer.js';
import { JournalWriter } from '../../../src/journal/journal-writer.js';
import { FRAME_HEADER_LENGTH, frameLength } from '../../../src/journal/segment-format.js';
import { writeSnapshotChecksumFile } from '../../../src/snapshot/checksum-writer.js';
import { planJournal, type JournalPlan, type PlannedEntry, type SnapshotPositions } from './journal-plan.js';
import type { PartitionShape, SnapshotShape, TornFrame } from './partition-shape.js';
import { contentOf } from './payloads.js';
import { scanSegment } from './reference-truncation.js';
import { SeededRandom } from './seeded-random.js';

export const GENERATED_PARTITION_ID = 1;
/** Spec §1.2: the frame's checksum follows its version byte and SBE header. */
const FRAME_CHECKSUM_OFFSET = 9;

/** A partition's files as a broker had them when it took the backup. */
export interface GeneratedPartition {
  shape: PartitionShape;
  plan: JournalPlan;
  /** Segment files in segment order, the preallocated next segment included. */
  segmentFiles: SourceFile[];
  snapshot?: { id: string; files: SourceFile[]; checksumFile: SourceFile };
}

/** Writes the journal and snapshot the shape describes into `directory`; the same shape gives the same bytes. */
export async function writeGeneratedPartition(shape: PartitionShape, directory: string): Promise<GeneratedPartition> {
  const random = new SeededRandom(String(shape.seed));
  const plan = planJournal(shape, random.fork('plan'));
  const segmentFiles = await writeJournal(shape, plan, join(directory, 'journal'), random.fork('payloads'));
  const snapshot =
    shape.snapshot && plan.snapshotPositions
      ? await writeSnapshot(shape.snapshot, plan.snapshotPositions, join(directory, 'snapshots'), random.fork('snapshot'))
      : undefined;
  return { shape, plan, segmentFiles, ...(snapshot ? { snapshot } : {}) };
}

async function writeJournal(shape: PartitionShape, plan: JournalPlan, directory: string, random: SeededRandom): Promise<SourceFile[]> {
  await mkdir(directory, { recursive: true });
  const writer = await JournalWriter.create(directory, GENERATED_PARTITION_ID, shape.maxSegmentSize, {
    firstIndex: shape.firstIndex,
    preallocateNextSegment: shape.preallocatedNextSegment,
  });
  for (const entry of plan.entries) await writer.append({ asqn: entry.asqn, data: contentOf(entry.content, entry.dataLength, random) });
  const { files } = await writer.close();
  const segmentFiles = files.map((name) => ({ name, source: join(directory, name) }));
  const torn = plan.entries.find((entry) => entry.torn);
  if (torn) await tearFrame(segmentFiles[torn.segment]!.source, torn, shape.tornLastFrame!, random.fork('torn'));
  await expectLaidOutAsPlanned(segmentFiles, plan);
  return segmentFiles;
}

/**
 * Spoils the end of a written frame as a copy taken mid-write finds it: the version byte and
 * header made it to disk, part of the record did not (or holds stale bytes). Only the record is
 * touched, so the header still announces a valid frame and only its checksum gives it away.
 */
async function tearFrame(path: string, entry: PlannedEntry, kind: TornFrame, random: SeededRandom): Promise<void> {
  const recordStart = entry.offset + FRAME_HEADER_LENGTH;
  const frameEnd = entry.offset + frameLength(entry.dataLength);
  const handle = await open(path, 'r+');
  try {
    const frame = Buffer.alloc(frameEnd - entry.offset);
    await handle.read(frame, 0, frame.length, entry.offset);
    const record = frame.subarray(FRAME_HEADER_LENGTH);
    const storedChecksum = frame.readBigInt64LE(FRAME_CHECKSUM_OFFSET);
    let cut = random.int(0, record.length - 1);
    const spoil = () => (kind === 'zeroedTail' ? record.fill(0, cut) : random.bytes(record.length - cut).copy(record, cut));
    spoil();
    // Zeroing bytes that were zero already changes nothing; the record header never is all zero.
    if (BigInt(crc32c(record)) === storedChecksum) {
      cut = 0;
      spoil();
    }
    if (BigInt(crc32c(record)) === storedChecksum) throw new Error(`could not tear the frame at ${entry.offset} of ${path}`);
    await handle.write(record, 0, record.length, recordStart);
  } finally {
    await handle.close();
  }
}

/** The plan placed checkpoints by predicting the writer's layout; a wrong prediction must not pass silently. */
async function expectLaidOutAsPlanned(segmentFiles: SourceFile[], plan: JournalPlan): Promise<void> {
  const found: string[] = [];
  for (const [segment, file] of segmentFiles.entries()) {
    const scanned = scanSegment(file.name, await readFile(file.source));
    found.push(...scanned.entries.map((entry) => `${segment}@${entry.offset}:${entry.index}/${entry.asqn}`));
    if (scanned.tornFrameOffset !== undefined) found.push(`${segment}@${scanned.tornFrameOffset}:torn`);
  }
  const planned = plan.entries.map((entry) => `${entry.segment}@${entry.offset}:${entry.torn ? 'torn' : `${entry.index}/${entry.asqn}`}`);
  if (found.join() !== planned.join()) {
    const at = planned.findIndex((entry, i) => found[i] !== entry);
    throw new Error(`the journal writer did not lay out entry #${at} as planned: planned ${planned[at]}, found ${found[at]}`);
  }
}

async function writeSnapshot(shape: SnapshotShape, positions: SnapshotPositions, snapshotsDirectory: string, random: SeededRandom) {
  const { index, processedPosition, exportedPosition } = positions;
  const id = `${index}-${shape.term}-${processedPosition}-${exportedPosition}`;
  const directory = join(snapshotsDirectory, id);
  await mkdir(directory, { recursive: true });
  // RocksDB numbers all its files from one counter: manifest, options, then the tables.
  const files: [string, Buffer][] = [
    ['CURRENT', Buffer.from('MANIFEST-000005\n')],
    ['MANIFEST-000005', contentOf(shape.manifestFile.content, shape.manifestFile.size, random)],
    ['OPTIONS-000007', contentOf(shape.optionsFile.content, shape.optionsFile.size, random)],
    ...shape.tableFiles.map((table, i): [string, Buffer] => [`${String(8 + i).padStart(6, '0')}.sst`, contentOf(table.content, table.size, random)]),
    [
      'zeebe.metadata',
      Buffer.from(
        JSON.stringify({
          version: 1,
          processedPosition: Number(processedPosition),
          exportedPosition: Number(exportedPosition),
          lastFollowupEventPosition: Number(processedPosition),
        }),
      ),
    ],
  ];
  for (const [name, content] of files) await writeFile(join(directory, name), content);
  const checksumFile = { name: `${id}.checksum`, source: join(snapshotsDirectory, `${id}.checksum`) };
  await writeSnapshotChecksumFile(directory, checksumFile.source);
  return { id, files: [...(await sourceFilesIn(directory)), checksumFile], checksumFile };
}
