import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { crc32c } from './crc32c.js';

/**
 * Writes are issued in pieces of this size. Network bodies arrive in 16–64 KiB chunks; one write
 * system call per chunk costs more than the copy into this buffer. 256 KiB keeps system calls
 * few (8 per MiB) while two buffers per transfer stay small next to the 16 transfers an S3
 * restore runs at once; 1 MiB buffers measured no faster and cost 24 MiB more peak RSS there.
 */
const WRITE_SIZE = 256 * 1024;
/**
 * A new file written through one file handle with positional writes, made durable before the
 * stream finishes: `finish` means every byte is on disk (fdatasync), so a later rename cannot
 * expose a file with holes. Compared with `fs.createWriteStream({ flush: true })`:
 *
 * - small chunks are gathered into two reused 256 KiB buffers (one filling while the other is
 *   written), so a network body costs a few large writes and no allocations;
 * - chunks of at least half a buffer are written as they are, without a copy;
 * - at most one write is in flight: `_write` calls back only when the next chunk has somewhere to
 *   go, which is the backpressure that bounds memory to about two buffers per file;
 * - `fdatasync` instead of `fsync`: for a file this process just created, it flushes the data and
 *   the size and block mapping needed to read it back, which is all a restore needs; timestamps
 *   are not worth a journal commit;
 * - with `checksum`, the CRC32C of the content as it passes (the CPU's CRC32C instructions, far
 *   faster than the write), so a snapshot file need not be read back to be verified.
 */
export class FileSink extends Writable {
  private handle: FileHandle | undefined;
  private buffer = Buffer.allocUnsafe(WRITE_SIZE);
  private spare = Buffer.allocUnsafe(WRITE_SIZE);
  private used = 0;
  /** File offset where the next write goes. */
  private position = 0;
  private inFlight: Promise<void> = Promise.resolve();
  /** Bytes the caller handed over; all of them are on disk once `finish` has been emitted. */
  bytesWritten = 0;
  /** CRC32C of the bytes handed over, when asked for with `checksum`. */
  crc32c: number | undefined;

  /**
   * Creates `path`, which must not exist yet; or, with `at`, writes into the existing file from
   * that offset on (one part of a file downloaded in parts).
   */
  constructor(
    readonly path: string,
    { checksum = false, at }: { checksum?: boolean; at?: number } = {},
  ) {
    super({ highWaterMark: WRITE_SIZE });
    if (checksum) this.crc32c = 0;
    this.position = at ?? 0;
    this.flags = at === undefined ? 'wx' : 'r+';
  }

  private readonly flags: 'wx' | 'r+';

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, this.flags).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      callback,
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    if (this.crc32c !== undefined) this.crc32c = crc32c(chunk, this.crc32c);
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    (async () => {
      await this.flush();
      await this.inFlight;
      await this.handle!.datasync();
    })().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A write still in flight must not land after the close; its own error is already reported.
    const closing = this.inFlight.catch(() => undefined).then(() => this.handle?.close());
    closing.then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    );
  }

  private async take(chunk: Buffer): Promise<void> {
    if (this.used === 0 && chunk.length >= WRITE_SIZE / 2) {
      // Large enough to be worth its own write: no copy. The producer hands the chunk over for
      // good (as Node's streams do), so it may be written after the callback.
      await this.inFlight;
      this.startWrite(chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const copied = chunk.copy(this.buffer, this.used, offset);
      this.used += copied;
      offset += copied;
      if (this.used === WRITE_SIZE) await this.flush();
    }
  }

  /** Starts writing the filled part of the buffer and switches to the spare one once it is free. */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.inFlight;
    const filled = this.buffer.subarray(0, this.used);
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.used = 0;
    this.startWrite(filled);
  }

  private startWrite(bytes: Buffer): void {
    this.inFlight = writeFully(this.handle!, bytes, this.position);
    this.position += bytes.length;
    // Handled when the next write, _final or _destroy awaits it.
    this.inFlight.catch(() => undefined);
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}
