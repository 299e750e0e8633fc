import { close, fdatasync, openSync, write, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { crc32c } from '../util/crc32c.js';
import { type DecodedOutput, NativeZstdDecoder, nativeZstd } from '../compression/native-zstd.js';
import type { WorkerReply, WorkerRequest } from './decode-protocol.js';

/*
 * A decode worker: for each file the main thread streams to it, decodes the zstd stream, writes
 * the file, takes its CRC32C, and makes it durable, so the main thread only moves network bytes.
 * Messages are handled one at a time, in order, files interleaved message by message. The decoder
 * waits for an output buffer when every one is still being written, which holds back the
 * acknowledgement that lets the main thread send more.
 */

/**
 * Buffers decoded bytes are written from, for every file of this worker. A file opened while a
 * CPU is spare (fewer files decoding than CPUs) is written behind its decoder: libuv's pool copies
 * one buffer into the page cache while this thread decodes into the next, as `zstd -d` does with
 * its asynchronous I/O. Otherwise each buffer is written in turn, from this thread. Measured on
 * 2 CPUs, the bench's zstd files into /dev/shm, interleaved runs: one stream decoded 12-15 %
 * faster written behind; two at once (both CPUs decoding) 3-10 % slower, with 3-6 % more CPU time
 * (the decoded bytes cross to another core, and every buffer wakes two threads).
 */
const OUTPUT_BUFFERS = 3;
const OUTPUT_SIZE = 1024 * 1024;

/** A file system call that failed: told apart from a decoding failure when reported. */
class WriteFailure {
  constructor(readonly error: NodeJS.ErrnoException) {}
}

const loaded = nativeZstd();
if (!('binding' in loaded)) throw new Error(`zstd-napi cannot be loaded in a worker: ${loaded.unavailable}`);
const { DCtx } = loaded.binding;

/** The output buffers not being decoded into or written from, and decoders waiting for one. */
const freeBuffers: Buffer[] = Array.from({ length: OUTPUT_BUFFERS }, () => Buffer.allocUnsafeSlow(OUTPUT_SIZE));
const waitingForBuffer: ((buffer: Buffer) => void)[] = [];

function lendBuffer(): Buffer | Promise<Buffer> {
  return freeBuffers.pop() ?? new Promise((resolve) => waitingForBuffer.push(resolve));
}

function returnBuffer(buffer: Buffer): void {
  const waiting = waitingForBuffer.shift();
  if (waiting) waiting(buffer);
  else freeBuffers.push(buffer);
}

/** Files by conversation id, from 'open' until their last reply. */
const jobs = new Map<number, Job>();
/** Decoders of finished files, kept for the next ones (see NativeZstdDecoder). */
const idleDecoders: NativeZstdDecoder[] = [];

/** One file being restored: its decoder, and the writes behind it. */
class Job implements DecodedOutput {
  readonly decoder = idleDecoders.pop() ?? new NativeZstdDecoder(new DCtx());
  crc32c: number | undefined;
  /** Bytes handed to the writes so far: the next write's file position, and the file's size in the end. */
  position = 0;
  failure: WriteFailure | undefined;
  /** Ended, failed or aborted: takes no more input, and its descriptor is closed once its writes are done. */
  ending = false;
  private writing = 0;
  private written: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly fd: number,
    checksum: boolean,
    private readonly writeBehind: boolean,
  ) {
    this.decoder.reset();
    this.crc32c = checksum ? 0 : undefined;
  }

  lend(): Buffer | Promise<Buffer> {
    return lendBuffer();
  }

  take(buffer: Buffer, length: number): void {
    if (length === 0 || this.failure) return returnBuffer(buffer);
    if (this.crc32c !== undefined) this.crc32c = crc32c(buffer.subarray(0, length), this.crc32c);
    const position = this.position;
    this.position += length;
    if (this.writeBehind) {
      this.writing++;
      return this.writeAt(buffer, 0, length, position);
    }
    try {
      for (let written = 0; written < length; ) written += writeSync(this.fd, buffer, written, length - written, position + written);
    } catch (error) {
      throw new WriteFailure(error as NodeJS.ErrnoException);
    } finally {
      returnBuffer(buffer);
    }
  }

  /** Runs `then` once no write of this file is in flight: before its descriptor is synced or closed. */
  afterWrites(then: () => void): void {
    if (this.writing === 0) then();
    else this.written.push(then);
  }

  private writeAt(buffer: Buffer, offset: number, length: number, position: number): void {
    write(this.fd, buffer, offset, length, position, (error, bytes) => {
      if (!error && bytes < length) return this.writeAt(buffer, offset + bytes, length - bytes, position + bytes);
      if (error) this.failure ??= new WriteFailure(error);
      returnBuffer(buffer);
      if (--this.writing === 0) for (const then of this.written.splice(0)) then();
    });
  }
}

const port = parentPort!;

const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function errorReply(id: number, caught: unknown): WorkerReply {
  if (caught instanceof WriteFailure) {
    const { message, code } = caught.error;
    return { type: 'error', id, stage: 'write', message, ...(code ? { code } : {}) };
  }
  return { type: 'error', id, stage: 'decompress', message: caught instanceof Error ? caught.message : String(caught) };
}

/** Closes a file once its writes are done, then sends its last reply. */
function closeThenReply(job: Job, lastReply: (closeError: NodeJS.ErrnoException | null) => WorkerReply): void {
  job.ending = true;
  job.afterWrites(() =>
    close(job.fd, (closeError) => {
      jobs.delete(job.id);
      reply(lastReply(closeError));
    }),
  );
}

/** A file that failed: the first failure is the one reported (a write's over the decoder's that followed it). */
function fail(job: Job, caught: unknown): void {
  closeThenReply(job, () => errorReply(job.id, job.failure ?? caught));
}

/** A completely decoded file: made durable, closed, reported done. */
function complete(job: Job): void {
  job.ending = true;
  idleDecoders.push(job.decoder);
  job.afterWrites(() => {
    if (job.failure) return fail(job, job.failure);
    fdatasync(job.fd, (syncError) => {
      if (syncError) return fail(job, new WriteFailure(syncError));
      closeThenReply(job, (closeError) =>
        closeError
          ? errorReply(job.id, new WriteFailure(closeError))
          : { type: 'done', id: job.id, bytes: job.position, ...(job.crc32c === undefined ? {} : { crc32c: job.crc32c }) },
      );
    });
  });
}

async function handle(request: WorkerRequest): Promise<void> {
  const { id } = request;
  switch (request.type) {
    case 'open': {
      let fd: number;
      try {
        // 'wx': a restore never writes over a file.
        fd = openSync(request.path, 'wx');
      } catch (error) {
        reply(errorReply(id, new WriteFailure(error as NodeJS.ErrnoException)));
        return;
      }
      jobs.set(id, new Job(id, fd, request.checksum, request.writeBehind));
      return;
    }
    case 'data': {
      const job = jobs.get(id);
      // A file that failed says so; its remaining pieces are returned unread.
      if (job && !job.ending) {
        try {
          if (job.failure) throw job.failure;
          await job.decoder.write(new Uint8Array(request.buffer, 0, request.length), job);
        } catch (error) {
          fail(job, error);
        }
      }
      reply({ type: 'ack', id, buffer: request.buffer }, [request.buffer]);
      return;
    }
    case 'end': {
      const job = jobs.get(id);
      if (!job || job.ending) return;
      try {
        await job.decoder.end(job);
      } catch (error) {
        fail(job, error);
        return;
      }
      complete(job);
      return;
    }
    case 'abort': {
      const job = jobs.get(id);
      // 'closed' only once the descriptor is: no write of this file lands after the restore cleaned
      // up. A file already ending is answered by its last reply, sent once it is closed.
      if (!job) reply({ type: 'closed', id });
      else if (!job.ending) closeThenReply(job, () => ({ type: 'closed', id }));
      return;
    }
  }
}

/** Requests in order, each finished (its decoding, not its writes) before the next begins. */
let handled = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  handled = handled
    .then(() => handle(request))
    // Not meant to happen: fail the worker (the main thread then fails its files) rather than stall.
    .catch((error: unknown) =>
      process.nextTick(() => {
        throw error;
      }),
    );
});
