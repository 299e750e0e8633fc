import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import pRetry from 'p-retry';
import { RestoreError, StoreUnavailableError } from '../errors.js';

export interface ResumableDownloadOptions {
  /** The body of the first response, positioned at byte 0; opened by the caller so a missing object fails fast. */
  first: Readable;
  /** The object's size as the first response announced it: fewer bytes means the body broke off. */
  size: number;
  /**
   * Opens the same object again from `offset` to its end (a ranged GET). It must return exactly the
   * bytes from `offset` on. A RestoreError means it has given up (it answers for its own retries,
   * as the cloud SDKs do); any other error is retried with backoff.
   */
  openAt(offset: number, signal: AbortSignal): Promise<Readable>;
  /** Names the object in the error raised when the resumes are used up. */
  label: string;
  signal?: AbortSignal;
  /** How often a broken body is reopened before giving up; 5 by default. */
  maxResumes?: number;
  /** Backoff before the first resume, doubled (with jitter) for each further one; 500 ms by default. */
  firstDelayMs?: number;
}

/** What Node.js reads from a socket at once (libuv's suggested read size). */
const SOCKET_READ_SIZE = 64 * 1024;

/**
 * A stream of one stored object that survives connections breaking mid-body: the bytes it
 * delivers are exactly the object's bytes, whatever happened on the way. Cloud SDKs retry a
 * request until its headers arrive but leave the body to the caller, and a multi-GiB segment
 * often takes longer than a load balancer keeps an idle or long-lived connection. Restarting the
 * whole file would waste what already arrived, so the download continues from the first byte
 * not yet handed downstream. Store-agnostic: S3, GCS and Azure differ only in `openAt`.
 */
export function resumableDownload(options: ResumableDownloadOptions): Readable {
  return new ResumableDownload(options);
}

/**
 * Each body's chunks are pushed on as they arrive, and the body is paused while the consumer is
 * full: no stream stands between body and consumer. A PassThrough there (pipe in, pipe out) cost
 * a fifth of an S3 restore's CPU time (bench/restore-bench.ts), paid for every 64 KiB socket read.
 */
class ResumableDownload extends Readable {
  private body: Readable | undefined;
  /** Bytes handed downstream: where a resumed body must start. */
  private offset = 0;
  /** Stops reading and retrying once the consumer is gone or the caller aborts. */
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;

  constructor(private readonly options: ResumableDownloadOptions) {
    // One socket read: while the consumer is full, the rest waits in the kernel's socket buffer.
    // Chunks held here across two young-generation collections are promoted and then live until
    // a full collection: with four reads buffered (256 KiB), a raw S3 restore ran 30-80 full
    // collections and spent 40 % more user CPU time (bench/restore-bench.ts, s3 section; README).
    super({ highWaterMark: SOCKET_READ_SIZE });
    this.signal = options.signal ? AbortSignal.any([options.signal, this.stop.signal]) : this.stop.signal;
    this.copyAll();
  }

  override _read(): void {
    this.body?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stop.abort(new Error(`the consumer of ${this.options.label} closed the stream`));
    this.body?.destroy();
    callback(error);
  }

  private copyAll(): void {
    const { size, label } = this.options;
    const maxResumes = this.options.maxResumes ?? 5;
    pRetry((attempt) => this.copyBody(attempt), {
      retries: maxResumes,
      minTimeout: this.options.firstDelayMs ?? 500,
      factor: 2,
      randomize: true,
      signal: this.signal,
      shouldRetry: ({ error }) => !(error instanceof RestoreError),
    }).then(
      () => this.push(null),
      (error: unknown) => {
        if (this.signal.aborted || error instanceof RestoreError) {
          this.destroy(error as Error);
          return;
        }
        const reason = error instanceof Error ? error.message : String(error);
        this.destroy(
          new StoreUnavailableError(
            `Download of ${label} broke off ${maxResumes + 1} times (last at byte ${this.offset} of ${size}): ${reason}. ` +
              `Check the network path to the backup store.`,
            { cause: error },
          ),
        );
      },
    );
  }

  private async copyBody(attempt: number): Promise<void> {
    const body = attempt === 1 ? this.options.first : await this.options.openAt(this.offset, this.signal);
    this.body = body;
    const forward = (chunk: Buffer) => {
      this.offset += chunk.length;
      if (!this.push(chunk)) body.pause();
    };
    body.on('data', forward);
    try {
      await finished(body, { signal: this.signal });
    } catch (error) {
      body.destroy();
      throw error;
    } finally {
      body.off('data', forward);
      this.body = undefined;
    }
    if (this.offset < this.options.size) throw new Error(`the body ended after ${this.offset} of ${this.options.size} bytes`);
  }
}
