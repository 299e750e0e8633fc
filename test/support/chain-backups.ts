import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listJournalSegments, readJournalFrames } from '../../src/journal/journal-reader.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { writeSnapshotChecksumFile } from '../../src/snapshot/checksum-writer.js';
import { partitionMetadataPrefix } from '../../src/store/metadata-layout.js';
import { contentKey, manifestKey } from '../../src/store/store-layout.js';

/**
 * Consecutive backups of one partition, as a broker takes them: one long journal is written, and
 * each backup is cut out of it at its checkpoint — the segments from some point before the
 * previous checkpoint (so consecutive backups overlap) up to a segment after its own checkpoint.
 */
export interface JournalEntryRecord {
  index: bigint;
  asqn: bigint;
  data: Buffer;
  segmentId: bigint;
}

export interface ChainBackup {
  checkpointId: bigint;
  checkpointPosition: bigint;
  checkpointIndex: bigint;
  /** First position the backup's segments hold. */
  firstLogPosition: bigint;
  /** Index of the first entry in the backup's segments. */
  firstIndex: bigint;
  timestamp: string;
  type: string;
  segmentFiles: string[];
  /** Taken at the last entry of the backup's first segment, so the backup's log continues it. */
  snapshotId: string;
}

export interface ChainBackupSpec {
  checkpointId: bigint;
  timestamp: string;
  type?: 'SCHEDULED_BACKUP' | 'MANUAL_BACKUP';
  /** Start this backup's segments after the previous checkpoint: a gap in the chain. */
  gapBefore?: boolean;
  /** Leave the backup out of the store (its checkpoint still counts for the journal layout). */
  missing?: boolean;
}

export interface ChainFixture {
  partitionId: number;
  entries: JournalEntryRecord[];
  backups: ChainBackup[];
  /** The first backup's snapshot: the one a chain restored from the first backup starts with. */
  snapshotId: string;
}

const segmentSize = 16 * 1024;
/** Segments between two checkpoints. */
const spacing = 3n;

/** Deterministic bytes for the entry at `index` of `seed`'s journal. */
function entryData(seed: number, index: bigint): Buffer {
  const length = 100 + Number((index * 37n + BigInt(seed)) % 600n);
  const digest = createHash('sha256').update(`${seed}:${index}`).digest();
  return Buffer.from(Array.from({ length }, (_, i) => digest[i % digest.length]!));
}

/**
 * Writes the long journal for `specs.length` backups into `work/journal-<p>` and cuts the backups
 * out of it (segment names only; the files stay there). Checkpoint k is a positioned entry in the
 * middle of segment 2 + 3k.
 */
export async function cutChainBackups(work: string, partitionId: number, specs: ChainBackupSpec[], seed = partitionId): Promise<ChainFixture> {
  const directory = join(work, `journal-${partitionId}`);
  await mkdir(directory, { recursive: true });
  const lastSegment = 2n + spacing * BigInt(specs.length);
  const writer = await JournalWriter.create(directory, partitionId, segmentSize);
  const entries: JournalEntryRecord[] = [];
  // The first positioned entry is at position 1, as in a broker's log.
  let asqn = -1n;
  for (let index = 1n; ; index++) {
    const positioned = index % 7n !== 0n;
    if (positioned) asqn += 1n + (index % 3n);
    const data = entryData(seed, index);
    await writer.append({ asqn: positioned ? asqn : -1n, data });
    if (writer.activeSegmentId > lastSegment) break;
    entries.push({ index, asqn: positioned ? asqn : -1n, data, segmentId: writer.activeSegmentId });
  }
  const { files } = await writer.close();
  const fileOf = (segmentId: bigint) => files[Number(segmentId) - 1]!;
  const inSegment = (segmentId: bigint) => entries.filter((entry) => entry.segmentId === segmentId && entry.asqn >= 0n);

  const checkpoints = specs.map((_, k) => {
    const candidates = inSegment(2n + spacing * BigInt(k));
    return candidates[Math.floor(candidates.length / 2)]!;
  });
  const snapshotsDirectory = join(work, `snapshots-${partitionId}`);
  const backups = specs.map((spec, k): ChainBackup => {
    const checkpoint = checkpoints[k]!;
    const previous = k > 0 ? checkpoints[k - 1]! : undefined;
    const firstSegment = !previous ? 1n : spec.gapBefore ? previous.segmentId + 1n : previous.segmentId;
    const lastSegmentOfBackup = checkpoint.segmentId + 1n;
    const segmentFiles: string[] = [];
    for (let id = firstSegment; id <= lastSegmentOfBackup; id++) segmentFiles.push(fileOf(id));
    const first = entries.find((entry) => entry.segmentId === firstSegment)!;
    const firstPositioned = inSegment(firstSegment)[0]!;
    const snapshotEntry = inSegment(firstSegment).at(-1)!;
    return {
      snapshotId: `${snapshotEntry.index}-1-${snapshotEntry.asqn}-${snapshotEntry.asqn}-0`,
      checkpointId: spec.checkpointId,
      checkpointPosition: checkpoint.asqn,
      checkpointIndex: checkpoint.index,
      firstLogPosition: firstPositioned.asqn,
      firstIndex: first.index,
      timestamp: spec.timestamp,
      type: spec.type ?? 'SCHEDULED_BACKUP',
      segmentFiles: segmentFiles.map((name) => join(directory, name)),
    };
  });
  // A small snapshot per backup, as a broker takes one with every backup.
  for (const { snapshotId } of backups) {
    const [, , position] = snapshotId.split('-');
    const snapshotDirectory = join(snapshotsDirectory, snapshotId);
    await mkdir(snapshotDirectory, { recursive: true });
    await writeFile(join(snapshotDirectory, 'CURRENT'), 'MANIFEST-000009\n');
    await writeFile(join(snapshotDirectory, '000012.sst'), entryData(seed + 1000, 1n));
    await writeFile(join(snapshotDirectory, 'zeebe.metadata'), JSON.stringify({ version: 1, processedPosition: Number(position), exportedPosition: Number(position), lastFollowupEventPosition: Number(position) }));
    await writeSnapshotChecksumFile(snapshotDirectory, join(snapshotsDirectory, `${snapshotId}.checksum`));
  }
  return { partitionId, entries, backups, snapshotId: backups[0]!.snapshotId };
}

export interface StoreChainOptions {
  basePath: string;
  /** Stores each object here instead of below `basePath` in a filesystem store (an S3 bucket's upload). */
  upload?: (key: string, body: Buffer) => Promise<void>;
  nodeId?: number;
  numberOfPartitions: number;
  brokerVersion: string;
  /** Write 8.9's per-partition metadata file (`metadata/<p>/metadata.json`) as well. */
  metadata?: boolean;
  /** Leave out the 8.9 descriptor fields (firstLogPosition, checkpointTimestamp, checkpointType), as 8.8 does. */
  legacyDescriptor?: boolean;
}

/**
 * Puts the fixture's backups into a filesystem store in the v2 layout with common-dialect manifests,
 * each with a snapshot (as a broker takes one with every backup), skipping `missing` ones.
 */
export async function storeChainBackups(work: string, fixture: ChainFixture, specs: ChainBackupSpec[], options: StoreChainOptions): Promise<void> {
  const { partitionId } = fixture;
  const node = String(options.nodeId ?? 0);
  const snapshotsDirectory = join(work, `snapshots-${partitionId}`);
  const snapshotFilesOf = (snapshotId: string) => [
    ...['CURRENT', '000012.sst', 'zeebe.metadata'].map((name) => ({ name, source: join(snapshotsDirectory, snapshotId, name) })),
    { name: `${snapshotId}.checksum`, source: join(snapshotsDirectory, `${snapshotId}.checksum`) },
  ];
  const put = async (key: string, source: string | { text: string }) => {
    if (options.upload) return options.upload(key, typeof source === 'string' ? await readFile(source) : Buffer.from(source.text));
    const target = join(options.basePath, key);
    await mkdir(dirname(target), { recursive: true });
    await (typeof source === 'string' ? copyFile(source, target) : writeFile(target, source.text));
  };
  for (const [k, backup] of fixture.backups.entries()) {
    if (specs[k]!.missing) continue;
    const { checkpointId, snapshotId } = backup;
    const snapshotFiles = snapshotFilesOf(snapshotId);
    const segmentNames = backup.segmentFiles.map((path) => path.split('/').pop()!);
    for (const file of snapshotFiles) await put(contentKey(partitionId, checkpointId, node, 'snapshot', file.name), file.source);
    for (const [i, path] of backup.segmentFiles.entries()) await put(contentKey(partitionId, checkpointId, node, 'segments', segmentNames[i]!), path);
    const descriptor = {
      snapshotId,
      checkpointPosition: JSON.rawJSON(backup.checkpointPosition.toString()),
      numberOfPartitions: options.numberOfPartitions,
      brokerVersion: options.brokerVersion,
      ...(options.legacyDescriptor
        ? {}
        : {
            firstLogPosition: JSON.rawJSON(backup.firstLogPosition.toString()),
            checkpointTimestamp: backup.timestamp,
            checkpointType: backup.type,
          }),
    };
    const manifest = {
      id: { nodeId: Number(node), partitionId, checkpointId: JSON.rawJSON(checkpointId.toString()) },
      descriptor,
      statusCode: 'COMPLETED',
      snapshot: { files: snapshotFiles.map(({ name }) => ({ name })) },
      segments: { files: segmentNames.map((name) => ({ name })) },
      createdAt: backup.timestamp,
      modifiedAt: backup.timestamp,
    };
    await put(manifestKey(partitionId, checkpointId, node), { text: JSON.stringify(manifest) });
  }
  if (options.metadata) {
    const present = fixture.backups.filter((_, k) => !specs[k]!.missing);
    const ranges: { start: unknown; end: unknown }[] = [];
    let previous: ChainBackup | undefined;
    for (const backup of present) {
      const contiguous = previous && backup.firstLogPosition <= previous.checkpointPosition + 1n;
      if (contiguous) ranges[ranges.length - 1]!.end = JSON.rawJSON(backup.checkpointId.toString());
      else ranges.push({ start: JSON.rawJSON(backup.checkpointId.toString()), end: JSON.rawJSON(backup.checkpointId.toString()) });
      previous = backup;
    }
    const metadata = {
      version: 1,
      partitionId,
      lastUpdated: present.at(-1)?.timestamp ?? '2026-01-01T00:00:00Z',
      checkpoints: present.map((backup) => ({
        checkpointId: JSON.rawJSON(backup.checkpointId.toString()),
        checkpointPosition: JSON.rawJSON(backup.checkpointPosition.toString()),
        checkpointTimestamp: backup.timestamp,
        checkpointType: backup.type,
        firstLogPosition: JSON.rawJSON(backup.firstLogPosition.toString()),
      })),
      ranges,
    };
    await put(`${partitionMetadataPrefix(partitionId)}metadata.json`, { text: JSON.stringify(metadata) });
  }
}

/** Every entry of the journal in `directory` as (index, asqn, data). */
export async function readJournalEntries(directory: string, partitionId: number): Promise<{ index: bigint; asqn: bigint; data: Buffer }[]> {
  const entries: { index: bigint; asqn: bigint; data: Buffer }[] = [];
  for await (const frame of readJournalFrames(await listJournalSegments(directory, partitionId))) {
    entries.push({ index: frame.index, asqn: frame.asqn, data: Buffer.from(frame.data) });
  }
  return entries;
}

/** The long journal's entries from `firstIndex` up to and including `lastIndex`. */
export function expectedEntries(fixture: ChainFixture, firstIndex: bigint, lastIndex: bigint): { index: bigint; asqn: bigint; data: Buffer }[] {
  return fixture.entries
    .filter((entry) => entry.index >= firstIndex && entry.index <= lastIndex)
    .map(({ index, asqn, data }) => ({ index, asqn, data }));
}

/** Cuts a partition's backups out of a fresh journal and stores them: what every chain test does first. */
export async function cutAndStoreChainBackups(work: string, partitionId: number, specs: ChainBackupSpec[], options: StoreChainOptions): Promise<ChainFixture> {
  const fixture = await cutChainBackups(work, partitionId, specs);
  await storeChainBackups(work, fixture, specs, options);
  return fixture;
}
