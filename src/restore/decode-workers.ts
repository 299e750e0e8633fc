import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { FailureStage, WorkerReply, WorkerRequest } from './decode-protocol.js';

/**
 * One worker per CPU, at most 4: decoding is CPU-bound, and each worker holds a V8 isolate (about
 * 14 MiB, see WORKER_LIMITS) besides the zstd contexts of the files it decodes.
 */
export const WORKER_COUNT = Math.max(1, Math.min(availableParallelism(), 4));
/** Compressed bytes go to a worker in pieces of this size (see Coalescer for why not smaller). */
const PIECE_SIZE = 256 * 1024;
/** Pieces a file may have on their way: enough to keep a worker busy while the next one fills. */
const PIECES_PER_FILE = 4;
/**
 * A worker's JavaScript allocates next to nothing (its buffers come from the main thread, its
 * output buffer once): V8's default young generation would still reserve 16 MiB or more of it.
 * Measured: a worker isolate costs about 14 MiB of RSS, each zstd context about 2.3 MiB.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };

/**
 * The worker's compiled script. Tests load this module from `src/` through Vite, where no
 * JavaScript sits next to it; `npm test` builds `dist/` first.
 */
const WORKER_SCRIPT = fileURLToPath(new URL('./decode-worker.js', import.meta.url)).replace(/\/src\/restore\/decode-worker\.js$/, '/dist/restore/decode-worker.js');

/** What went wrong in a worker, by stage (see FailureStage), for the transfer to report. */
export class WorkerFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Conversation {
  onReply(reply: WorkerReply): void;
}

/** A worker and the files it is decoding; it keeps the process alive only while it has some. */
class PooledWorker {
  private readonly conversations = new Map<number, Conversation>();

  constructor(readonly worker: Worker) {
    worker.unref();
  }

  get load(): number {
    return this.conversations.size;
  }

  start(id: number, conversation: Conversation): void {
    if (this.conversations.size === 0) this.worker.ref();
    this.conversations.set(id, conversation);
  }

  end(id: number): void {
    if (this.conversations.delete(id) && this.conversations.size === 0) this.worker.unref();
  }

  deliver(reply: WorkerReply): void {
    this.conversations.get(reply.id)?.onReply(reply);
  }

  /** Every file in progress fails: the worker is gone. */
  failAll(reason: string): void {
    for (const id of [...this.conversations.keys()]) this.deliver({ type: 'error', id, stage: 'worker', message: reason });
    this.conversations.clear();
    this.worker.unref();
  }
}

const workers: PooledWorker[] = [];
let nextId = 1;

function filesDecoding(): number {
  return workers.reduce((files, pooled) => files + pooled.load, 0);
}

/** The least busy worker, started on first use; workers that die are replaced. */
function assignWorker(): PooledWorker {
  if (workers.length < WORKER_COUNT) {
    // No inherited flags: those of the main thread (`-e`, heap sizes) are not the worker's.
    const pooled = new PooledWorker(new Worker(WORKER_SCRIPT, { resourceLimits: WORKER_LIMITS, execArgv: [] }));
    pooled.worker.on('message', (reply: WorkerReply) => pooled.deliver(reply));
    const retire = (reason: string) => {
      const index = workers.indexOf(pooled);
      if (index >= 0) workers.splice(index, 1);
      pooled.failAll(reason);
    };
    pooled.worker.on('error', (error) => retire(`the decode worker failed: ${error.message}`));
    pooled.worker.on('exit', (code) => retire(`the decode worker exited with code ${code}`));
    workers.push(pooled);
    return pooled;
  }
  return workers.reduce((least, candidate) => (candidate.load < least.load ? candidate : least));
}

/**
 * A new file written by a decode worker from the zstd stream written to this Writable: the worker
 * decodes, writes, takes the CRC32C (with `checksum`) and fdatasyncs; `finish` means the file is
 * complete and durable. The compressed bytes are gathered into PIECES_PER_FILE buffers that go to
 * the worker and come back: `_write` calls back only when a buffer is free, so a slow disk or a
 * busy worker pauses the network reader instead of growing memory.
 */
export class WorkerDecodingSink extends Writable {
  /** The file's decoded size, once `finish` has been emitted. */
  bytesWritten = 0;
  /** CRC32C of the decoded content, when asked for with `checksum`, once `finish` has been emitted. */
  crc32c: number | undefined;
  private readonly id = nextId++;
  private readonly pooled = assignWorker();
  private readonly free: Buffer[] = Array.from({ length: PIECES_PER_FILE }, () => Buffer.allocUnsafeSlow(PIECE_SIZE));
  private piece: Buffer | undefined;
  private used = 0;
  /** Called when a buffer comes back, or the conversation ends. */
  private waiting: (() => void) | undefined;
  private finished: ((error?: Error) => void) | undefined;
  private onClosed: (() => void) | undefined;
  private failure: WorkerFailure | undefined;
  private ended = false;

  constructor(path: string, { checksum = false }: { checksum?: boolean } = {}) {
    super({ highWaterMark: PIECE_SIZE });
    // Written behind its decoder when, this file included, fewer files decode than there are CPUs
    // (a CPU is spare for the writes; see decode-worker.ts).
    const writeBehind = filesDecoding() + 1 < availableParallelism();
    this.pooled.start(this.id, { onReply: (reply) => this.onReply(reply) });
    this.send({ type: 'open', id: this.id, path, checksum, writeBehind });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.fill(chunk, 0, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.whenFree(() => {
      if (this.used > 0) this.sendPiece();
      this.finished = (error) => callback(error);
      this.send({ type: 'end', id: this.id });
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const release = () => {
      this.pooled.end(this.id);
      callback(error);
    };
    if (this.ended) return release();
    // The worker closes the file first, so no write of it lands after the restore cleaned up.
    this.onClosed = release;
    this.send({ type: 'abort', id: this.id });
  }

  private fill(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
    this.whenFree(() => {
      const piece = (this.piece ??= this.free.pop()!);
      const copied = chunk.copy(piece, this.used, offset);
      this.used += copied;
      if (this.used === PIECE_SIZE) this.sendPiece();
      if (offset + copied < chunk.length) this.fill(chunk, offset + copied, callback);
      else callback();
    }, callback);
  }

  /** Runs `then` once a buffer is at hand (or being filled), or fails with the worker's error. */
  private whenFree(then: () => void, callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    if (this.piece || this.free.length > 0) return then();
    this.waiting = () => this.whenFree(then, callback);
  }

  private sendPiece(): void {
    const piece = this.piece!;
    this.piece = undefined;
    const { buffer, byteOffset } = piece;
    // allocUnsafeSlow gives every piece an ArrayBuffer of its own, so it can be transferred.
    if (byteOffset !== 0) throw new Error('a decode piece must own its ArrayBuffer');
    this.send({ type: 'data', id: this.id, buffer: buffer as ArrayBuffer, length: this.used }, [buffer as ArrayBuffer]);
    this.used = 0;
  }

  private send(request: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.pooled.worker.postMessage(request, transfer);
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type === 'ack') {
      this.free.push(Buffer.from(reply.buffer));
      return this.wake();
    }
    // Any other reply ends the conversation. A destroy may be waiting for it: the worker answers
    // an abort that crossed its last reply with that reply, not with 'closed'.
    this.ended = true;
    this.pooled.end(this.id);
    const closing = this.onClosed;
    this.onClosed = undefined;
    if (reply.type === 'done') {
      this.bytesWritten = reply.bytes;
      if (reply.crc32c !== undefined) this.crc32c = reply.crc32c;
      this.finished?.();
    } else if (reply.type === 'error') {
      this.failure = new WorkerFailure(reply.stage, reply.message, reply.code);
      if (this.finished) this.finished(this.failure);
      else {
        this.wake();
        // Nothing is waiting on the worker: fail the stream now rather than at the next write.
        if (!this.destroyed) this.destroy(this.failure);
      }
    }
    closing?.();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
