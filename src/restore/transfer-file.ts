import { open, rm, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressionFor } from '../compression/registry.js';
import { asLocalStorageError, BackupInvalidError, RestoreError, StoreUnavailableError } from '../errors.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore, ByteRange } from '../store/backup-store.js';
import { abortReason, createLimiter, type Limit, runAll } from '../util/concurrency.js';
import { Coalescer } from '../util/coalesce.js';
import { crc32cOfFile, READ_CHUNK_SIZE } from '../snapshot/verify-snapshot.js';
import { FileSink } from '../util/file-sink.js';
import { nativeZstd } from '../compression/native-zstd.js';
import { MultiFrameStreamError } from '../compression/zstd-frames.js';
import type { FailureStage } from './decode-protocol.js';
import type { Logger } from '../log/logger.js';
import { WORKER_COUNT, WorkerDecodingSink, WorkerFailure } from './decode-workers.js';

/** See Coalescer: most of the gain of larger pieces for a quarter of the memory of 1 MiB ones. */
const DECOMPRESSOR_INPUT_SIZE = 256 * 1024;

/**
 * Compressed files transfer a bounded number at a time, whatever the store's concurrency: each
 * holds a zstd context (about 2.3 MiB, measured) and its pieces in flight. Two per decode worker
 * keep every worker busy while the other file's next piece arrives; with Node's decoder (on libuv's
 * thread pool) more streams than CPUs only added memory: measured on 2 CPUs
 * (bench/restore-bench.ts, zstd section, 2 GiB), 16 at once peaked at about 300 MiB RSS and was no
 * faster than 4. A waiting transfer has not opened its download yet, so no connection idles.
 */
const decompressionSlots = createLimiter(
  'binding' in nativeZstd() ? 2 * WORKER_COUNT : Math.max(2, availableParallelism()),
  new AbortController().signal,
);

/**
 * How a file's stored bytes become its content: as they are, through decompression stages on
 * this thread (Node's zlib, working on libuv's thread pool), or by a decode worker, which also
 * writes the file (zstd with zstd-napi; see decode-workers.ts).
 */
type Decoding = { kind: 'raw' } | { kind: 'stages'; stages: Transform[] } | { kind: 'worker' };

function decodingFor(algorithm: string | undefined, label: string): Decoding {
  if (algorithm === 'zstd' && 'binding' in nativeZstd()) return { kind: 'worker' };
  const stages = decompressionFor(algorithm, label);
  return stages ? { kind: 'stages', stages } : { kind: 'raw' };
}

/**
 * Says once, when zstd files are about to be restored, that they decode on Node's built-in decoder
 * because zstd-napi cannot be loaded here (an install without its build, say).
 */
export function warnIfZstdDecodesSlowly(algorithms: Iterable<string | undefined>, log: Logger): void {
  const loaded = nativeZstd();
  if (!('unavailable' in loaded) || ![...algorithms].includes('zstd')) return;
  log.warn(
    `zstd-napi cannot be loaded (${loaded.unavailable}); zstd files decompress with Node's built-in decoder instead, ` +
      'about a third slower. Reinstall with build tools (python3, make, a C++ compiler) to use it.',
  );
}

export interface FileTransfer {
  copy: BackupCopy;
  kind: BackupFileKind;
  file: BackupFile;
  destination: string;
  /** Also take the CRC32C of the restored content (snapshot files, to verify them without a re-read). */
  checksum?: boolean;
  /** The stored file's size, where the plan learnt it: a large raw file then downloads in parts. */
  storedSize?: number;
}

export interface TransferredFile {
  bytes: number;
  /** With `checksum`: the CRC32C of the restored (decompressed) content. */
  crc32c?: number;
}

type Stage = 'read' | FailureStage;

/**
 * Puts one file from the store at its place in the staging area, durable (fdatasync) before this
 * returns, so a later rename cannot expose a file with holes. Every byte is written once, and
 * memory stays at a few buffers whatever the file size.
 *
 * Files stored raw in a store that can copy in the kernel are copied that way (see
 * `copyInKernel`); everything else streams from the store through the decompressor, if the
 * manifest names one, into a FileSink.
 */
export async function transferFile(store: BackupStore, transfer: FileTransfer, signal: AbortSignal, limit?: Limit): Promise<TransferredFile> {
  const { copy, kind, file } = transfer;
  const label = `${kind === 'snapshot' ? 'Snapshot' : 'Segment'} file ${file.name} of partition ${copy.ref.partitionId} (node ${copy.ref.nodeId}'s copy)`;
  const decoding = decodingFor(file.compression, label);
  // Largest first: the restore ends when its last file does, and a large file started last
  // would leave the other connections idle at the end (longest-processing-time-first order).
  const priority = transfer.storedSize ?? 0;
  const inTransferSlot = <T>(task: () => Promise<T>) => (limit ? limit(task, priority) : task());
  if (decoding.kind !== 'raw') {
    // The decode slot first: a file waiting for one holds no transfer slot that a raw file could use.
    return decompressionSlots(
      () =>
        inTransferSlot(() => {
          signal.throwIfAborted();
          return streamFile(store, transfer, label, decoding, signal);
        }),
      priority,
    );
  }
  return inTransferSlot(() => transferRawFile(store, transfer, label, decoding, signal));
}

async function transferRawFile(store: BackupStore, transfer: FileTransfer, label: string, decoding: Decoding, signal: AbortSignal): Promise<TransferredFile> {
  if (store.copyToLocalFile) {
    const copied = await copyInKernel(store.copyToLocalFile.bind(store), transfer, signal);
    if (copied !== undefined) return copied;
  }
  const parts = store.readsWholeFiles ? [] : partsOf(transfer.storedSize);
  if (parts.length > 1) return transferInParts(store, transfer, label, parts, signal);
  return streamFile(store, transfer, label, decoding, signal);
}

/**
 * A raw file at least this large downloads in parts, each over its own connection: a remote
 * store caps each connection's throughput (tens of MiB/s), so one large object over one
 * connection decides a restore's time (bench/restore-bench.ts, large-file section). Parts of at
 * least PART_SIZE, at most MAX_PARTS (rclone's multi-thread streams: 4 above 256 MiB).
 */
const PARTS_THRESHOLD = 128 * 1024 * 1024;
const PART_SIZE = 64 * 1024 * 1024;
const MAX_PARTS = 4;

/** The byte ranges a file of `size` bytes downloads in: one, or several equal ones. */
export function partsOf(size: number | undefined): ByteRange[] {
  if (size === undefined || size < PARTS_THRESHOLD) return [{ start: 0, end: size ?? 0 }];
  const count = Math.min(MAX_PARTS, Math.floor(size / PART_SIZE));
  const length = Math.ceil(size / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * length, end: Math.min(size, (i + 1) * length) }));
}

/**
 * Downloads a raw file's parts side by side into one file, each written at its offset. The
 * checksum, if asked for, is taken by reading the file back while it is in the page cache, as
 * after a kernel copy: the parts arrive out of order.
 */
async function transferInParts(store: BackupStore, transfer: FileTransfer, label: string, parts: ByteRange[], signal: AbortSignal): Promise<TransferredFile> {
  const { destination, checksum } = transfer;
  // Created first, so that every part writes into it ('r+') and a leftover is never mistaken.
  await open(destination, 'wx').then(
    (handle) => handle.close(),
    (error: unknown) => {
      throw asLocalStorageError(error, 'create', destination);
    },
  );
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    const written = await runAll(
      parts.map((part) => () => streamFile(store, { ...transfer, checksum: false }, label, { kind: 'raw' }, controller.signal, part)),
      controller,
    );
    const crc = checksum ? await checksumOfCopy(destination) : undefined;
    return { bytes: written.reduce((sum, { bytes }) => sum + bytes, 0), ...(crc === undefined ? {} : { crc32c: crc }) };
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

/**
 * The fastest way to restore a raw file from a mounted file system: copy_file_range, or a reflink
 * where the file system shares blocks (as `cp --reflink=auto` does), with no user-space buffers,
 * no allocations and no JavaScript per chunk. Measured with bench/restore-bench.ts: a 2 GiB
 * backup restored about 1.5 times faster than through read and write streams.
 *
 * A copy in progress is not interruptible (it is one system call loop in the thread pool), so an
 * abort takes effect when the file is done, as a stream's pending read would. Any failure other
 * than an abort removes what was copied and returns undefined: the file is then streamed, which
 * tells a store fault from a local disk fault by the stage that failed, and so reports it right.
 * A checksum is taken by reading the copy back while it is still in the page cache.
 */
async function copyInKernel(
  copyToLocalFile: NonNullable<BackupStore['copyToLocalFile']>,
  { copy, kind, file, destination, checksum }: FileTransfer,
  signal: AbortSignal,
): Promise<TransferredFile | undefined> {
  signal.throwIfAborted();
  let handle: FileHandle | undefined;
  let created = false;
  try {
    // Created here so the file gets the mode any new file gets (0666 less the umask): the kernel
    // copy would otherwise give it the backup file's mode, and a read-only one could not be
    // truncated later.
    handle = await open(destination, 'wx');
    created = true;
    const { mode } = await handle.stat();
    if (!(await copyToLocalFile(copy, kind, file.name, destination))) {
      await handle.close();
      handle = undefined;
      await rm(destination);
      return undefined;
    }
    await handle.chmod(mode);
    const crc = checksum ? await checksumOfCopy(destination) : undefined;
    await handle.datasync();
    return { bytes: (await handle.stat()).size, ...(crc === undefined ? {} : { crc32c: crc }) };
  } catch (error) {
    if (signal.aborted) throw abortReason(signal, error);
    await handle?.close().catch(() => undefined);
    handle = undefined;
    if (created) await rm(destination, { force: true }).catch(() => undefined);
    return undefined;
  } finally {
    await handle?.close();
  }
}

/**
 * Read buffers for checksumming kernel copies, reused: one per copy running at once. A fresh
 * 4 MiB buffer per file left garbage for the collector that grew peak memory with the number of
 * snapshot files (bench/restore-bench.ts, memory section: 4 GiB 37 % above 1 GiB).
 */
const checksumBuffers: Buffer[] = [];

async function checksumOfCopy(path: string): Promise<number> {
  const buffer = checksumBuffers.pop() ?? Buffer.allocUnsafe(READ_CHUNK_SIZE);
  try {
    return await crc32cOfFile(path, 0, buffer);
  } finally {
    checksumBuffers.push(buffer);
  }
}

async function streamFile(
  store: BackupStore,
  { copy, kind, file, destination, checksum }: FileTransfer,
  label: string,
  decoding: Decoding,
  signal: AbortSignal,
  part?: ByteRange,
): Promise<TransferredFile> {
  const source = await store.openFile(copy, kind, file.name, signal, part);
  const sink =
    decoding.kind === 'worker'
      ? new WorkerDecodingSink(destination, { checksum: checksum ?? false })
      : new FileSink(destination, { checksum: checksum ?? false, ...(part ? { at: part.start } : {}) });
  let failedStage: Stage | undefined;
  const blame = (stage: Stage) => () => {
    failedStage ??= stage;
  };
  source.once('error', blame('read'));
  const decompression = decoding.kind === 'stages' ? decoding.stages : [];
  for (const stage of decompression) stage.once('error', blame('decompress'));
  sink.once('error', (error) => {
    failedStage ??= error instanceof WorkerFailure ? error.stage : 'write';
  });
  // The decompressor gets its input in 256 KiB pieces rather than as the network delivers it.
  const stages: (Readable | Transform)[] = decompression.length > 0 ? [source, new Coalescer(DECOMPRESSOR_INPUT_SIZE), ...decompression] : [source];
  try {
    await pipeline([...stages, sink], { signal });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal, error);
    throw classify(error, failedStage, label, destination, file.compression);
  }
  return { bytes: sink.bytesWritten, ...(sink.crc32c === undefined ? {} : { crc32c: sink.crc32c }) };
}

function classify(error: unknown, stage: Stage | undefined, label: string, destination: string, algorithm?: string): unknown {
  if (error instanceof RestoreError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof MultiFrameStreamError) {
    // The backup is sound; this installation cannot read it.
    return new RestoreError(
      'internal',
      `${label}: ${reason}. zstd-napi, which reads every frame, cannot be loaded here: reinstall the agent with build tools ` +
        '(python3, make, a C++ compiler) or use its container image.',
      { cause: error },
    );
  }
  switch (stage) {
    case 'write':
      return asLocalStorageError(error, 'write', destination);
    case 'worker':
      return new RestoreError('internal', `${label}: ${reason}.`, { cause: error });
    case 'decompress':
      return new BackupInvalidError(`${label} is not a valid ${algorithm} stream: ${reason}. The backup is corrupt.`, {
        cause: error,
      });
    default:
      return new StoreUnavailableError(`${label}: download failed: ${reason}.`, { cause: error });
  }
}
