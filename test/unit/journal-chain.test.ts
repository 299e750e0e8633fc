import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ChainSource, stitchJournal } from '../../src/chain/stitch-journal.js';
import { BackupInvalidError } from '../../src/errors.js';
import { listJournalSegments } from '../../src/journal/journal-reader.js';
import { type ChainBackupSpec, type ChainFixture, cutChainBackups, expectedEntries, readJournalEntries } from '../support/chain-backups.js';
import { tempDir } from '../support/fixtures.js';

const specs = (count: number, gapBefore?: number): ChainBackupSpec[] =>
  Array.from({ length: count }, (_, k) => ({
    checkpointId: BigInt(100 * (k + 1)),
    timestamp: `2026-01-10T1${k}:00:00Z`,
    ...(gapBefore === k ? { gapBefore: true } : {}),
  }));

/** Each backup's segments in a directory of their own, as the restore downloads them. */
async function downloaded(work: string, fixture: ChainFixture): Promise<ChainSource[]> {
  return Promise.all(
    fixture.backups.map(async (backup) => {
      const directory = join(work, `download-${backup.checkpointId}`);
      await mkdir(directory, { recursive: true });
      for (const path of backup.segmentFiles) await copyFile(path, join(directory, path.split('/').pop()!));
      return { backupId: backup.checkpointId, nodeId: 0, directory, checkpointPosition: backup.checkpointPosition };
    }),
  );
}

async function stitch(count: number, options: { gapBefore?: number; partitionId?: number } = {}) {
  const work = await tempDir();
  const partitionId = options.partitionId ?? 1;
  const fixture = await cutChainBackups(work, partitionId, specs(count, options.gapBefore));
  const sources = await downloaded(work, fixture);
  const target = join(work, 'restored');
  await mkdir(target);
  return { work, fixture, sources, target, run: () => stitchJournal(target, partitionId, sources, { maxSegmentSize: 64 * 1024 }) };
}

async function invalid(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BackupInvalidError);
  return (error as Error).message;
}

describe('stitching a journal from a chain of backups', () => {
  it.each([2, 3])('a chain of %i backups gives the original entries from the first backup up to the last checkpoint', async (count) => {
    const { fixture, target, run } = await stitch(count);
    const result = await run();
    const first = fixture.backups[0]!;
    const last = fixture.backups.at(-1)!;
    expect(result).toMatchObject({ firstIndex: first.firstIndex, lastIndex: last.checkpointIndex });
    const restored = await readJournalEntries(target, 1);
    expect(restored).toEqual(expectedEntries(fixture, first.firstIndex, last.checkpointIndex));
    expect(restored.at(-1)!.asqn).toBe(last.checkpointPosition);
    // Written as a broker writes it: every descriptor valid, ids consecutive, the last segment active.
    const segments = await listJournalSegments(target, 1);
    expect(segments.map((segment) => segment.id)).toEqual(segments.map((_, i) => BigInt(i + 1)));
    expect(segments.at(-1)!.descriptor).toMatchObject({ lastIndex: 0n, lastPosition: 0, maxSegmentSize: 64 * 1024 });
    expect(segments.slice(0, -1).every((segment) => segment.descriptor!.lastIndex > 0n)).toBe(true);
    expect((await readdir(target)).sort()).toEqual(result.segmentFiles.slice().sort());
  });

  it('uses 32 MiB segments, as the journal Zeebe restores into, unless told otherwise', async () => {
    const { fixture, sources, target } = await stitch(2);
    const result = await stitchJournal(target, 1, sources);
    expect(result.segmentFiles).toEqual(['raft-partition-partition-1-1.log']);
    const [segment] = await listJournalSegments(target, 1);
    expect(segment!.descriptor!.maxSegmentSize).toBe(32 * 1024 * 1024);
    expect(await readJournalEntries(target, 1)).toHaveLength(Number(fixture.backups[1]!.checkpointIndex - fixture.backups[0]!.firstIndex + 1n));
  });

  it('rejects a gap: the later backup does not hold the earlier checkpoint, named with partition, backups and positions', async () => {
    const { fixture, target, run } = await stitch(3, { gapBefore: 2, partitionId: 2 });
    const message = await invalid(run());
    const [, second, third] = fixture.backups;
    expect(message).toContain(
      `Backups 200 and 300 of partition 2 are not contiguous: backup 300's log (node 0's copy) does not contain backup 200's ` +
        `checkpoint record at position ${second!.checkpointPosition}; it starts later, at position ${third!.firstLogPosition} ` +
        `(index ${third!.firstIndex}).`,
    );
    expect(message).toMatch(/Restore from backup 200 alone, or from a chain without this gap\.$/);
    // Nothing usable is left behind as if it were complete: the caller discards the staging area.
    expect((await readdir(target)).length).toBeGreaterThan(0);
  });

  it('rejects backups that do not hold the same log at the checkpoint', async () => {
    const { sources, run } = await stitch(2);
    // Backup 200's copy of the checkpoint entry differs: another cluster's log under the same ids.
    const otherWork = await tempDir();
    const other = await cutChainBackups(otherWork, 1, specs(2), 99);
    const replaced = join(otherWork, 'replaced');
    await mkdir(replaced);
    for (const path of other.backups[1]!.segmentFiles) await copyFile(path, join(replaced, path.split('/').pop()!));
    sources[1] = { ...sources[1]!, directory: replaced, checkpointPosition: other.backups[1]!.checkpointPosition };
    sources[0] = { ...sources[0]! };
    const message = await invalid(run());
    expect(message).toMatch(/^Backups 100 and 200 of partition 1 do not hold the same log: at the checkpoint position \d+ its bytes differ/);
  });

  it("fails like Zeebe when a backup's checkpoint record is missing from its own log", async () => {
    const { sources, run } = await stitch(2);
    sources[1] = { ...sources[1]!, checkpointPosition: sources[1]!.checkpointPosition + 100_000n };
    const message = await invalid(run());
    expect(message).toMatch(
      /^Failed to restore from backup\. Cannot find a record at checkpoint position \d+ in the log\. The log of backup 200 \(node 0's copy\) of partition 1 ends at position \d+\.$/,
    );
  });

  it('refuses a chain whose checkpoints do not increase', async () => {
    const { sources, run } = await stitch(2);
    sources.reverse();
    expect(await invalid(run())).toMatch(/^Backup 100 of partition 1 has checkpoint position \d+, not after backup 200's \d+/);
  });

  it('a corrupt frame in a later backup is reported, not copied', async () => {
    const { sources, run } = await stitch(2);
    const segment = join(sources[1]!.directory, (await readdir(sources[1]!.directory)).sort()[0]!);
    const bytes = await readFile(segment);
    bytes[200] = bytes[200]! ^ 0xff;
    await writeFile(segment, bytes);
    expect(await invalid(run())).toMatch(/is corrupt at byte offset|checksum mismatch|malformed/);
  });
});
