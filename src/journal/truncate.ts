import { open, rm, type FileHandle } from 'node:fs/promises';
import { BackupInvalidError, asLocalStorageError } from '../errors.js';
import { LogSummaryBuilder, type LogSummary } from './log-summary.js';
import { findSegmentTail, listJournalSegments, readJournalFrameBatches, type JournalFrame, type JournalSegment } from './journal-reader.js';
import {
  DESCRIPTOR_LENGTH,
  END_OF_DATA,
  CorruptFrameError,
  corruptFrameError,
  encodeSegmentDescriptor,
  journalNameOfPartition,
} from './segment-format.js';

export interface TruncationResult {
  /** Raft index of the checkpoint entry, now the last entry of the journal. */
  checkpointIndex: bigint;
  /** File names, in segment order. */
  keptSegments: string[];
  deletedSegments: string[];
  /** The segment that holds the checkpoint entry and was cut after it. */
  modifiedSegment: string;
  /** The journal as it is now, up to the checkpoint entry. */
  log: LogSummary;
}

/**
 * Cuts a partition's restored journal right after the entry at the backup's checkpoint
 * position, byte for byte as Zeebe's own restore does (spec §1.3), so that the broker resumes
 * from the checkpoint instead of replaying records the backup does not cover.
 *
 * `positionAfterJournal`: where the backup's log continues when its later segments were left out
 * (they lie after the checkpoint), so that a checkpoint missing from the log is described as fully
 * as if they were there.
 */
export async function truncateJournalAtCheckpoint(
  partitionDirectory: string,
  partitionId: number,
  checkpointPosition: bigint,
  positionAfterJournal?: bigint,
): Promise<TruncationResult> {
  const segments = await listJournalSegments(partitionDirectory, partitionId);
  const journal = `the journal ${journalNameOfPartition(partitionId)} in ${partitionDirectory}`;
  const { checkpoint, log } = await findCheckpointFrame(segments, checkpointPosition, journal, positionAfterJournal);
  await endSegmentAfter(checkpoint);

  const later = segments.filter((segment) => segment.id > checkpoint.segment.id);
  for (const segment of later) {
    try {
      await rm(segment.path);
    } catch (error) {
      throw asLocalStorageError(error, 'delete', segment.path);
    }
  }
  await syncDirectory(partitionDirectory);

  return {
    checkpointIndex: checkpoint.index,
    keptSegments: segments.filter((segment) => segment.id <= checkpoint.segment.id).map((s) => s.fileName),
    deletedSegments: later.map((segment) => segment.fileName),
    modifiedSegment: checkpoint.segment.fileName,
    log,
  };
}

async function findCheckpointFrame(
  segments: readonly JournalSegment[],
  position: bigint,
  journal: string,
  positionAfterJournal: bigint | undefined,
): Promise<{ checkpoint: JournalFrame; log: LogSummary }> {
  const notFound = (detail: string) =>
    new BackupInvalidError(
      `Failed to restore from backup. Cannot find a record at checkpoint position ${position} in the log. ${detail}`,
    );
  let first: bigint | undefined;
  let previous: bigint | undefined;
  const log = new LogSummaryBuilder();
  // Zeebe's SegmentWriter, opening the segment the broker was writing, takes the first frame it
  // cannot read there for a partially written one and ends the log before it
  // (resetPartiallyWrittenEntry): a checkpoint beyond it is not in the log.
  const lastWritten = segments.findLast((segment) => segment.descriptor)?.path;
  let torn = '';
  try {
    // In batches: one await per buffer of frames, not per frame (see readJournalFrameBatches).
    for await (const batch of readJournalFrameBatches(segments)) {
      for (const frame of batch) {
        log.add(frame);
        // Raft-internal entries carry no Zeebe position.
        if (frame.asqn < 0n) continue;
        if (previous !== undefined && frame.asqn <= previous) {
          const at = { fileName: frame.segment.path, offset: frame.offset, expectedIndex: frame.index };
          throw corruptFrameError(at, `position ${frame.asqn} follows position ${previous}, but positions must increase`);
        }
        if (frame.asqn === position) return { checkpoint: frame, log: log.summary() };
        // Positions only increase, so nothing further on can match.
        if (frame.asqn > position) {
          throw notFound(
            previous === undefined
              ? `The first position in ${journal} is ${frame.asqn}.`
              : `Positions in ${journal} start at ${first} and go from ${previous} straight to ${frame.asqn}.`,
          );
        }
        first ??= frame.asqn;
        previous = frame.asqn;
      }
    }
  } catch (error) {
    if (!(error instanceof CorruptFrameError) || error.outOfOrder || error.at.fileName !== lastWritten) throw error;
    torn = ` The log then ends in a partially written entry at byte offset ${error.at.offset} of ${error.at.fileName}, which a broker ignores.`;
  }
  if (previous !== undefined && positionAfterJournal !== undefined && torn === '') {
    throw notFound(
      `Positions in ${journal} start at ${first} and go from ${previous} straight to ${positionAfterJournal} ` +
        `(the first position of the backup's later segments, which were not downloaded).`,
    );
  }
  throw notFound(
    (previous === undefined ? `No record in ${journal} has a position.` : `Positions in ${journal} run from ${first} to ${previous}.`) + torn,
  );
}

/**
 * Ends the segment right after the checkpoint entry, as Zeebe 8.5.4's `deleteAfter` does: the
 * descriptor's record of the last entry is cleared (`resetLastEntryInDescriptor`), and when entries
 * follow the checkpoint in this segment, both the frame after the checkpoint and the segment's
 * last entry are marked as end of data (`SegmentWriter.truncate`), so that neither a scan nor a
 * jump to the old last entry finds them. A torn frame at the end, as a copy of the segment the
 * broker was writing can hold, is marked too, as the broker does when it opens the segment.
 */
async function endSegmentAfter(checkpoint: JournalFrame): Promise<void> {
  const { path, descriptor } = checkpoint.segment;
  const tail = await findSegmentTail(checkpoint.segment, checkpoint);
  const endMarkerOffsets = new Set<number>();
  if (tail.tornFrameOffset !== undefined) endMarkerOffsets.add(tail.tornFrameOffset);
  if (tail.lastEntry.index > checkpoint.index) {
    endMarkerOffsets.add(tail.lastEntry.offset);
    endMarkerOffsets.add(checkpoint.offset + checkpoint.frameLength);
  }
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r+');
    for (const offset of endMarkerOffsets) await handle.write(Buffer.of(END_OF_DATA), 0, 1, offset);
    const descriptorBytes = encodeSegmentDescriptor({ ...descriptor, lastIndex: 0n, lastPosition: 0 });
    await handle.write(descriptorBytes, 0, DESCRIPTOR_LENGTH, 0);
    await handle.sync();
  } catch (error) {
    throw asLocalStorageError(error, 'truncate journal segment', path);
  } finally {
    await handle?.close();
  }
}

/** Makes the deletions durable, so a crash cannot bring back segments after the checkpoint. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    throw asLocalStorageError(error, 'sync directory', directory);
  } finally {
    await handle?.close();
  }
}
