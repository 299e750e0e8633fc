import { PassThrough, type Readable } from 'node:stream';
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

/**
 * A stream of one stored object that survives connections breaking mid-body: the bytes it
 * delivers are exactly the object's bytes, whatever happened on the way. Cloud SDKs retry a
 * request until its headers arrive but leave the body to the caller, and a multi-GiB segment
 * often takes longer than a load balancer keeps an idle or long-lived connection. Restarting the
 * whole file would waste what already arrived, so the download continues from the first byte
 * not yet handed downstream. Store-agnostic: S3, GCS and Azure differ only in `openAt`.
 */
export function resumableDownload(options: ResumableDownloadOptions): Readable {
  const { size, label } = options;
  // Only hands bodies on: the socket's and the consumer's buffers do the buffering. 256 KiB (four
  // socket reads) rather than 1 MiB: an S3 restore runs 16 of these at once.
  const output = new PassThrough({ highWaterMark: 256 * 1024 });
  // Stop reading and retrying once the consumer is gone or the caller aborts.
  const stop = new AbortController();
  output.once('close', () => stop.abort(new Error(`the consumer of ${label} closed the stream`)));
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;

  let offset = 0;
  const copyBody = async (attempt: number) => {
    const body = attempt === 1 ? options.first : await options.openAt(offset, signal);
    body.on('data', (chunk: Buffer) => {
      offset += chunk.length;
    });
    // pipe() gives backpressure and, unlike pipeline(), leaves `output` open when `body` fails.
    body.pipe(output, { end: false });
    try {
      await finished(body, { signal });
    } catch (error) {
      body.unpipe(output);
      body.destroy();
      throw error;
    }
    if (offset < size) throw new Error(`the body ended after ${offset} of ${size} bytes`);
  };

  const maxResumes = options.maxResumes ?? 5;
  pRetry(copyBody, {
    retries: maxResumes,
    minTimeout: options.firstDelayMs ?? 500,
    factor: 2,
    randomize: true,
    signal,
    shouldRetry: ({ error }) => !(error instanceof RestoreError),
  }).then(
    () => output.end(),
    (error: unknown) => {
      if (signal.aborted || error instanceof RestoreError) {
        output.destroy(error as Error);
        return;
      }
      const reason = error instanceof Error ? error.message : String(error);
      output.destroy(
        new StoreUnavailableError(
          `Download of ${label} broke off ${maxResumes + 1} times (last at byte ${offset} of ${size}): ${reason}. ` +
            `Check the network path to the backup store.`,
          { cause: error },
        ),
      );
    },
  );
  return output;
}
