import { createHash } from 'node:crypto';
import { cp, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatePartitionData, type PartitionData } from '../../src/demo/synthetic-partition.js';
import { listJournalSegments, readJournalFrames } from '../../src/journal/journal-reader.js';
import { decodeRaftEntry } from '../../src/journal/raft-entry.js';
import { truncateJournalAtCheckpoint } from '../../src/journal/truncate.js';
import { verifySnapshot } from '../../src/snapshot/verify-snapshot.js';
import { tempDir as temporaryDirectory } from '../support/fixtures.js';

const MiB = 1024 * 1024;
const partitionId = 3;
const segmentName = (id: number) => `raft-partition-partition-3-${id}.log`;


async function generate(seed: number): Promise<{ directory: string; data: PartitionData }> {
  const directory = join(await temporaryDirectory(), 'partition');
  const data = await generatePartitionData({
    directory,
    partitionId,
    journalBytes: 3 * MiB,
    maxSegmentSize: MiB,
    snapshotBytes: 2 * MiB,
    seed,
  });
  return { directory, data };
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('generatePartitionData', () => {
  it('generates a journal and a snapshot that a restore verifies and truncates at the checkpoint', async () => {
    const { directory, data } = await generate(1);

    const segmentNames = [1, 2, 3].map(segmentName);
    expect(data.segmentFiles).toEqual(segmentNames.map((name) => ({ name, source: join(directory, name) })));
    for (const { source } of data.segmentFiles) expect((await stat(source)).size).toBe(MiB);

    const snapshotId = data.snapshotId;
    const [snapshotIndex, term, processedPosition, exportedPosition] = snapshotId.split('-').map(BigInt);
    expect(snapshotId).toMatch(/^\d+-1-\d+-\d+$/);
    expect(term).toBe(1n);
    expect(exportedPosition).toBeLessThanOrEqual(processedPosition!);
    expect(processedPosition).toBeLessThanOrEqual(data.checkpointPosition);

    const checksumFile = data.snapshotFiles.find((file) => file.name === `${snapshotId}.checksum`)!;
    const snapshotDirectory = join(dirname(checksumFile.source), snapshotId);
    expect(data.snapshotFiles.map((file) => file.name)).toEqual([
      '000012.sst',
      'CURRENT',
      'MANIFEST-000009',
      'OPTIONS-000011',
      'zeebe.metadata',
      `${snapshotId}.checksum`,
    ]);
    const snapshotContent = data.snapshotFiles.filter((file) => file !== checksumFile);
    expect(snapshotContent.map((file) => file.source)).toEqual(
      snapshotContent.map((file) => join(snapshotDirectory, file.name)),
    );
    const sizes = await Promise.all(snapshotContent.map(async (file) => (await stat(file.source)).size));
    expect(sizes.reduce((a, b) => a + b)).toBe(2 * MiB);
    expect(JSON.parse(await readFile(join(snapshotDirectory, 'zeebe.metadata'), 'utf8'))).toMatchObject({
      processedPosition: Number(processedPosition),
      exportedPosition: Number(exportedPosition),
    });
    await verifySnapshot(snapshotDirectory, checksumFile.source, snapshotId);

    // The entries are Raft entries as a broker writes them: the partition's configuration first,
    // an initial entry every 7th, and application entries of 1 to 5 records whose positions follow
    // on from each other.
    const segments = await listJournalSegments(directory, partitionId);
    let nextPosition = 1n;
    let previousAsqn = 0n;
    let snapshotEntryAsqn: bigint | undefined;
    let checkpointSegment: string | undefined;
    for await (const frame of readJournalFrames(segments)) {
      const entry = decodeRaftEntry(frame.data);
      if (frame.index === 1n) {
        expect(entry).toMatchObject({ kind: 'configuration', members: [{ id: '0', type: 'ACTIVE' }], oldMembers: [] });
        expect(frame.asqn).toBe(-1n);
        continue;
      }
      if (frame.index % 7n === 0n) {
        expect(entry).toEqual({ kind: 'initial', term: 1n });
        expect(frame.asqn).toBe(-1n);
        continue;
      }
      expect(entry).toMatchObject({ kind: 'application', lowestPosition: frame.asqn });
      const { highestPosition } = entry as { highestPosition: bigint };
      expect(frame.asqn).toBe(nextPosition);
      expect(highestPosition - frame.asqn).toBeLessThan(5n);
      expect(frame.data.length - 45).toBeGreaterThanOrEqual(50);
      expect(frame.data.length - 45).toBeLessThanOrEqual(4000);
      nextPosition = highestPosition + 1n;
      previousAsqn = frame.asqn;
      if (frame.index === snapshotIndex) snapshotEntryAsqn = frame.asqn;
      if (frame.asqn === data.checkpointPosition) checkpointSegment = frame.segment.fileName;
    }
    expect(snapshotEntryAsqn).toBe(processedPosition);
    expect(checkpointSegment).toBe(segmentName(2));
    expect(previousAsqn).toBeGreaterThan(data.checkpointPosition);

    const copy = await temporaryDirectory();
    await cp(directory, copy, { recursive: true });
    const truncation = await truncateJournalAtCheckpoint(copy, partitionId, data.checkpointPosition);
    expect(truncation).toMatchObject({
      keptSegments: [segmentName(1), segmentName(2)],
      deletedSegments: [segmentName(3)],
      modifiedSegment: segmentName(2),
    });
    expect(truncation.checkpointIndex).toBeGreaterThanOrEqual(snapshotIndex!);
  });

  it('generates the same bytes from the same seed', async () => {
    const [first, second] = await Promise.all([generate(42), generate(42)]);
    expect(second.data.snapshotId).toBe(first.data.snapshotId);
    expect(second.data.checkpointPosition).toBe(first.data.checkpointPosition);
    const files = (data: PartitionData) => [...data.segmentFiles, ...data.snapshotFiles];
    expect(await Promise.all(files(second.data).map((file) => sha256(file.source)))).toEqual(
      await Promise.all(files(first.data).map((file) => sha256(file.source))),
    );
    const other = await generate(43);
    expect(await sha256(other.data.segmentFiles[0]!.source)).not.toBe(await sha256(first.data.segmentFiles[0]!.source));
  });
});
