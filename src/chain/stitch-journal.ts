import { BackupInvalidError } from '../errors.js';
import { listJournalSegments, readJournalFrameBatches } from '../journal/journal-reader.js';
import { JournalWriter } from '../journal/journal-writer.js';
import { LogSummaryBuilder, type LogSummary } from '../journal/log-summary.js';
import { journalNameOfPartition } from '../journal/segment-format.js';

/**
 * Zeebe's restore writes the new journal through a `SegmentedJournal` built with the builder's
 * default segment size (`SegmentedJournalBuilder.DEFAULT_MAX_SEGMENT_SIZE`, 32 MiB), not the
 * broker's `logSegmentSize`: a broker reads segments of any size, each descriptor says its own.
 */
export const restoredJournalSegmentSize = 32 * 1024 * 1024;

/** One backup of the chain, downloaded. */
export interface ChainSource {
  backupId: bigint;
  nodeId: number;
  /** The directory holding this backup's segment files (and nothing else of the journal). */
  directory: string;
  checkpointPosition: bigint;
}

export interface StitchedJournal {
  firstIndex: bigint;
  /** Index of the last checkpoint's record, the journal's last entry. */
  lastIndex: bigint;
  entries: bigint;
  segmentFiles: string[];
  log: LogSummary;
}

interface CopiedEntry {
  index: bigint;
  asqn: bigint;
  data: Buffer;
}

/**
 * Builds one partition's journal from a chain of backups, oldest first, as Zeebe's
 * `PartitionRestoreService` does: every entry of the first backup's log up to and including its
 * checkpoint record (from the first entry it holds, not from the snapshot), then from each later
 * backup the entries after the previous backup's checkpoint record up to and including its own.
 * Entries are written afresh (segment descriptor, frames, CRC32C, 32 MiB segments) by the
 * byte-exact JournalWriter, with the indexes they have in the backups.
 *
 * Contiguity is proved, not assumed: each later backup must hold the previous checkpoint record,
 * at the same index and with the same bytes (Zeebe checks the position only); otherwise the chain
 * has a gap or mixes two logs, and the restore stops naming partition, backups and positions.
 */
export async function stitchJournal(
  target: string,
  partitionId: number,
  sources: readonly ChainSource[],
  options: { maxSegmentSize?: number; signal?: AbortSignal } = {},
): Promise<StitchedJournal> {
  const journal = journalNameOfPartition(partitionId);
  let writer: JournalWriter | undefined;
  let firstIndex = 0n;
  let nextIndex = 0n;
  let lastCopied: CopiedEntry | undefined;
  const log = new LogSummaryBuilder();
  let summary: LogSummary | undefined;
  try {
    for (const [position, source] of sources.entries()) {
      const previous = position > 0 ? sources[position - 1] : undefined;
      const name = `backup ${source.backupId} (node ${source.nodeId}'s copy) of partition ${partitionId}`;
      if (previous && source.checkpointPosition <= previous.checkpointPosition) {
        throw new BackupInvalidError(
          `Backup ${source.backupId} of partition ${partitionId} has checkpoint position ${source.checkpointPosition}, not after ` +
            `backup ${previous.backupId}'s ${previous.checkpointPosition}: a chain must be given oldest first, and each backup must be newer.`,
        );
      }
      const segments = await listJournalSegments(source.directory, partitionId);
      const firstSegment = segments[0]?.descriptor;
      if (!firstSegment) throw new BackupInvalidError(`The log of ${name} holds no entries (no written ${journal} segment).`);
      // The first backup decides where the journal starts (Zeebe resets the target to its first index).
      writer ??= await JournalWriter.create(target, partitionId, options.maxSegmentSize ?? restoredJournalSegmentSize, {
        firstIndex: (firstIndex = nextIndex = firstSegment.index),
        fsync: true,
      });
      // Until the previous checkpoint record is found, entries are already in the journal.
      let skipping = previous !== undefined;
      let firstPositioned: { index: bigint; asqn: bigint } | undefined;
      let lastPositioned: bigint | undefined;
      let done = false;
      for await (const batch of readJournalFrameBatches(segments)) {
        options.signal?.throwIfAborted();
        for (const frame of batch) {
          if (skipping) {
            if (frame.asqn < 0n) continue;
            firstPositioned ??= { index: frame.index, asqn: frame.asqn };
            if (frame.asqn < previous!.checkpointPosition) {
              lastPositioned = frame.asqn;
              continue;
            }
            if (frame.asqn > previous!.checkpointPosition) {
              throw gap(partitionId, previous!, source, describeLog(firstPositioned, lastPositioned, frame.asqn));
            }
            proveSameEntry(partitionId, previous!, source, lastCopied!, frame);
            skipping = false;
            continue;
          }
          if (frame.index !== nextIndex) {
            throw new BackupInvalidError(
              `The log of ${name} continues with index ${frame.index} where the restored journal needs index ${nextIndex}: ` +
                `the backups do not hold one log.`,
            );
          }
          await writer.append({ asqn: frame.asqn, data: frame.data });
          log.add(frame);
          nextIndex++;
          if (frame.asqn >= 0n) lastPositioned = frame.asqn;
          if (frame.asqn === source.checkpointPosition) {
            lastCopied = { index: frame.index, asqn: frame.asqn, data: Buffer.from(frame.data) };
            if (position === sources.length - 1) summary = log.summary();
            done = true;
            break;
          }
        }
        if (done) break;
      }
      if (skipping) throw gap(partitionId, previous!, source, describeLog(firstPositioned, lastPositioned, undefined));
      if (!done) {
        throw new BackupInvalidError(
          `Failed to restore from backup. Cannot find a record at checkpoint position ${source.checkpointPosition} in the log. ` +
            `The log of ${name} ` +
            (lastPositioned === undefined ? 'has no record with a position.' : `ends at position ${lastPositioned}.`),
        );
      }
    }
    if (!writer) throw new Error('stitchJournal needs at least one backup');
    const { files } = await writer.close();
    writer = undefined;
    return { firstIndex, lastIndex: nextIndex - 1n, entries: nextIndex - firstIndex, segmentFiles: files, log: summary! };
  } catch (error) {
    await writer?.close().catch(() => {});
    throw error;
  }
}

/** What a later backup's log holds around the previous checkpoint position it lacks. */
function describeLog(first: { index: bigint; asqn: bigint } | undefined, before: bigint | undefined, after: bigint | undefined): string {
  if (!first) return 'holds no record with a position';
  if (before === undefined) return `starts later, at position ${first.asqn} (index ${first.index})`;
  if (after === undefined) return `runs from position ${first.asqn} to ${before} only`;
  return `goes from position ${before} straight to ${after}`;
}

function gap(partitionId: number, previous: ChainSource, source: ChainSource, holds: string): BackupInvalidError {
  return new BackupInvalidError(
    `Backups ${previous.backupId} and ${source.backupId} of partition ${partitionId} are not contiguous: backup ${source.backupId}'s log ` +
      `(node ${source.nodeId}'s copy) does not contain backup ${previous.backupId}'s checkpoint record at position ` +
      `${previous.checkpointPosition}; it ${holds}. Each backup of a chain must still hold the previous backup's checkpoint. ` +
      `Restore from backup ${previous.backupId} alone, or from a chain without this gap.`,
  );
}

function proveSameEntry(
  partitionId: number,
  previous: ChainSource,
  source: ChainSource,
  copied: CopiedEntry,
  frame: { index: bigint; asqn: bigint; data: Buffer },
): void {
  const differs =
    frame.index !== copied.index
      ? `it is entry ${copied.index} in backup ${previous.backupId} but entry ${frame.index} in backup ${source.backupId}`
      : !frame.data.equals(copied.data)
        ? `its bytes differ between backup ${previous.backupId} and backup ${source.backupId}`
        : undefined;
  if (differs) {
    throw new BackupInvalidError(
      `Backups ${previous.backupId} and ${source.backupId} of partition ${partitionId} do not hold the same log: at the checkpoint ` +
        `position ${previous.checkpointPosition} ${differs}. They cannot be restored as one chain.`,
    );
  }
}
