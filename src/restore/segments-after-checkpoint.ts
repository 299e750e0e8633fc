import type { Transform } from 'node:stream';
import { decompressionFor } from '../compression/registry.js';
import { parseSegmentFileName } from '../journal/segment-format.js';
import { segmentStart } from '../journal/segment-start.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupStore } from '../store/backup-store.js';
import { readUpTo } from '../util/read-up-to.js';
import type { CopyPlan } from './validate-copy.js';

/**
 * Enough of a segment for its descriptor and first entry, one record batch, usually a few KiB; a
 * larger one does not fit, reads as unknown, and keeps its segment.
 */
const HEAD_BYTES = 64 * 1024;

/**
 * The plan without the log segments that lie wholly after the checkpoint: the truncation deletes
 * them (as Zeebe's restore does), so downloading them only costs time and disk writes. A broker
 * preallocates its next segment, so every backup ends with at least one: often a whole segment
 * (128 MiB by default) of zeros.
 *
 * From the last segment backwards, each one is looked at through the first bytes of its stored
 * file (decompressed where the backup is): it is dropped when it is empty or its first position is
 * after the checkpoint position, and the walk stops at the first one that is neither or does not
 * say. Positions increase through the log, so no dropped segment can hold the checkpoint entry, and
 * the restored partition is byte for byte what downloading everything and truncating gives. The
 * first segment is always kept, so that a checkpoint missing from the log is reported as before.
 */
export async function withoutSegmentsAfterCheckpoint(store: BackupStore, copy: BackupCopy, plan: CopyPlan, signal?: AbortSignal): Promise<CopyPlan> {
  const segments = [...plan.segmentFiles].sort(bySegmentId);
  let kept = segments.length;
  let positionAfterKept: bigint | undefined;
  while (kept > 1) {
    const file = segments[kept - 1]!;
    const head = await readHead(store, copy, file, signal);
    const start = head && segmentStart(head, file.name);
    if (start?.kind === 'position' && start.firstPosition > plan.checkpointPosition) positionAfterKept = start.firstPosition;
    else if (start?.kind !== 'empty') break;
    kept--;
  }
  if (kept === segments.length) return plan;
  return {
    ...plan,
    segmentFiles: segments.slice(0, kept),
    segmentsAfterCheckpoint: segments.slice(kept),
    ...(positionAfterKept === undefined ? {} : { positionAfterKept }),
  };
}

function bySegmentId(a: BackupFile, b: BackupFile): number {
  const [idA, idB] = [a, b].map(({ name }) => parseSegmentFileName(name)?.segmentId ?? 0n);
  return idA! < idB! ? -1 : idA! > idB! ? 1 : 0;
}

/**
 * The first bytes of a stored segment's content, decompressed where the backup is; undefined when
 * they cannot be read, which keeps the segment: its download then reports the problem properly.
 */
async function readHead(store: BackupStore, copy: BackupCopy, file: BackupFile, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    const head = await store.readFileHead(copy, 'segments', file.name, HEAD_BYTES, signal);
    const decompression = decompressionFor(file.compression, file.name);
    return decompression ? await decompressedStart(head, decompression) : head;
  } catch {
    signal?.throwIfAborted();
    return undefined;
  }
}

/**
 * What the first compressed bytes of a file decompress to, up to HEAD_BYTES: the file's first
 * bytes, perhaps fewer. (A few KiB of compressed zeros stand for many MiB.) The input stops in the
 * middle of the compressed stream; what came out before the decompressor says so is the start.
 */
function decompressedStart(compressed: Buffer, decompression: Transform): Promise<Buffer> {
  decompression.end(compressed);
  return readUpTo(decompression, HEAD_BYTES, { untilError: true });
}
