import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressionFor } from '../compression/registry.js';
import { parseSegmentFileName } from '../journal/segment-format.js';
import { segmentStart, type SegmentStart } from '../journal/segment-start.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupStore } from '../store/backup-store.js';
import type { CopyPlan } from './validate-copy.js';

/**
 * Stored bytes read to tell where a segment starts, more each time the bytes do not say. A
 * descriptor and a first entry are usually a few KiB, but one record batch can be as large as the
 * broker's maximum message size (4 MiB by default), and the first 64 KiB of a zstd segment of
 * poorly compressible records can decode to nothing at all (less than one zstd block). A segment
 * whose start is still unknown after the last size is kept.
 */
const HEAD_SIZES = [64 * 1024, 1024 * 1024, 8 * 1024 * 1024];

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
    const start = await storedSegmentStart(store, copy, file, signal);
    if (start.kind === 'position' && start.firstPosition > plan.checkpointPosition) positionAfterKept = start.firstPosition;
    else if (start.kind !== 'empty') break;
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
 * Where a stored segment starts, read from as few of its first bytes as tell (decompressed where
 * the backup is). Unknown when they cannot be read, which keeps the segment: its download then
 * reports the problem properly.
 */
async function storedSegmentStart(store: BackupStore, copy: BackupCopy, file: BackupFile, signal?: AbortSignal): Promise<SegmentStart> {
  for (const size of HEAD_SIZES) {
    try {
      const stored = await store.readFileHead(copy, 'segments', file.name, size, signal);
      const wholeFile = stored.length < size;
      const decompression = decompressionFor(file.compression, file.name);
      const head = decompression ? await decompressedStart(stored, decompression, size) : { bytes: stored, complete: wholeFile };
      const start = segmentStart(head.bytes, file.name, wholeFile && head.complete);
      if (start.kind !== 'unknown' || wholeFile) return start;
    } catch {
      signal?.throwIfAborted();
      return { kind: 'unknown' };
    }
  }
  return { kind: 'unknown' };
}

/** Stops a decompression that has delivered as much as was asked for. */
const enough = new Error('enough bytes');

/**
 * What the first compressed bytes of a file decompress to, up to `limit` bytes: a start of the
 * file's content, perhaps shorter, perhaps empty. The input usually stops in the middle of the
 * compressed stream, so the stages' complaint about that is expected; what came out before it is
 * the start. `complete` says that the stream decoded without complaint and was not cut at `limit`.
 */
async function decompressedStart(compressed: Buffer, stages: Transform[], limit: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let received = 0;
  const collector = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      received += chunk.length;
      callback(received >= limit ? enough : null);
    },
  });
  let complete = true;
  await pipeline([Readable.from([compressed]), ...stages, collector]).catch(() => {
    complete = false;
  });
  return { bytes: Buffer.concat(chunks, received).subarray(0, limit), complete };
}
