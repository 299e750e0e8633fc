import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { crc32c } from '@node-rs/crc32';
import { NativeZstdDecoder, nativeZstd } from '../compression/native-zstd.js';
import type { WorkerReply, WorkerRequest } from './decode-protocol.js';

/*
 * A decode worker: for each file the main thread streams to it, decodes the zstd stream, writes
 * the file, takes its CRC32C, and makes it durable, so the main thread only moves network bytes.
 * Files are interleaved message by message; writes are synchronous (this thread exists to block),
 * the final fdatasync is not, so one file waiting for the disk does not hold up the others.
 */

interface Job {
  fd: number;
  decoder: NativeZstdDecoder;
  position: number;
  crc32c: number | undefined;
}

/** A file system call that failed: told apart from a decoding failure when reported. */
class WriteFailure {
  constructor(readonly error: NodeJS.ErrnoException) {}
}

const loaded = nativeZstd();
if (!('binding' in loaded)) throw new Error(`zstd-napi cannot be loaded in a worker: ${loaded.unavailable}`);
const { DCtx } = loaded.binding;

/** Decoded bytes are written from here; one buffer serves every file, as each call completes before the next. */
const output = Buffer.allocUnsafe(1024 * 1024);
const jobs = new Map<number, Job>();
/** Decoders of finished files, kept for the next ones (see NativeZstdDecoder). */
const idleDecoders: NativeZstdDecoder[] = [];
const port = parentPort!;

const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function fail(id: number, caught: unknown): void {
  const job = jobs.get(id);
  jobs.delete(id);
  if (job) closeQuietly(job.fd);
  if (caught instanceof WriteFailure) {
    reply({ type: 'error', id, stage: 'write', message: caught.error.message, ...(caught.error.code ? { code: caught.error.code } : {}) });
  } else {
    reply({ type: 'error', id, stage: 'decompress', message: caught instanceof Error ? caught.message : String(caught) });
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing; the first error is the one reported.
  }
}

function emitter(job: Job): (bytes: Buffer) => void {
  return (bytes) => {
    try {
      for (let written = 0; written < bytes.length; ) {
        written += writeSync(job.fd, bytes, written, bytes.length - written, job.position + written);
      }
    } catch (error) {
      throw new WriteFailure(error as NodeJS.ErrnoException);
    }
    job.position += bytes.length;
    if (job.crc32c !== undefined) job.crc32c = crc32c(bytes, job.crc32c);
  };
}

port.on('message', (request: WorkerRequest) => {
  const { id } = request;
  switch (request.type) {
    case 'open': {
      let fd: number;
      try {
        // 'wx': a restore never writes over a file.
        fd = openSync(request.path, 'wx');
      } catch (error) {
        fail(id, new WriteFailure(error as NodeJS.ErrnoException));
        return;
      }
      const decoder = idleDecoders.pop() ?? new NativeZstdDecoder(new DCtx(), output);
      decoder.reset();
      jobs.set(id, { fd, decoder, position: 0, crc32c: request.checksum ? 0 : undefined });
      return;
    }
    case 'data': {
      const job = jobs.get(id);
      // A job that failed already said so; its remaining pieces are returned unread.
      if (job) {
        try {
          job.decoder.write(new Uint8Array(request.buffer, 0, request.length), emitter(job));
        } catch (error) {
          fail(id, error);
        }
      }
      reply({ type: 'ack', id, buffer: request.buffer }, [request.buffer]);
      return;
    }
    case 'end': {
      const job = jobs.get(id);
      if (!job) return;
      try {
        job.decoder.end(emitter(job));
      } catch (error) {
        fail(id, error);
        return;
      }
      idleDecoders.push(job.decoder);
      fdatasync(job.fd, (error) => {
        if (!jobs.has(id)) return;
        if (error) return fail(id, new WriteFailure(error));
        jobs.delete(id);
        try {
          closeSync(job.fd);
        } catch (closeError) {
          reply({ type: 'error', id, stage: 'write', message: (closeError as Error).message });
          return;
        }
        reply({ type: 'done', id, bytes: job.position, ...(job.crc32c === undefined ? {} : { crc32c: job.crc32c }) });
      });
      return;
    }
    case 'abort': {
      const job = jobs.get(id);
      jobs.delete(id);
      if (job) closeQuietly(job.fd);
      reply({ type: 'closed', id });
      return;
    }
  }
});
