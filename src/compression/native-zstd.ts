import type { DCtx } from 'zstd-napi/binding.js';
import { requireCommonJs } from '../util/common-js.js';
import { ZstdFrameChecker } from './zstd-frames.js';

/*
 * libzstd through zstd-napi's Node-API binding, driven synchronously: made for worker threads,
 * where blocking is the point. Measured on a 128 MiB segment-like file (30 MiB compressed), one
 * stream: this loop decoded at 0.9-1.1 times the `zstd` tool's speed, Node's built-in zstd stream
 * at 0.6-0.8 (README, Performance). The binding is built from source when installed; where it
 * cannot load, the restore falls back to Node's decoder.
 */

type Binding = typeof import('zstd-napi/binding.js');

/** zstd-napi's binding, or the reason it cannot be used here; loaded once. */
let loaded: { binding: Binding } | { unavailable: string } | undefined;

export function nativeZstd(): { binding: Binding } | { unavailable: string } {
  if (!loaded) {
    try {
      loaded = { binding: requireCommonJs('zstd-napi/binding') as Binding };
    } catch (error) {
      loaded = { unavailable: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
    }
  }
  return loaded;
}

const NO_INPUT = new Uint8Array(0);
/** `ZSTD_reset_session_only`: ends the current frame, keeps the context's memory for the next stream. */
const RESET_SESSION = 0;

/**
 * Where a decoder's output goes: it decodes into buffers it is lent, and hands each one over with
 * the length it filled, after which it does not touch it again. Lending can wait (all buffers
 * still being written), which is what paces the decoder to the disk.
 */
export interface DecodedOutput {
  lend(): Buffer | Promise<Buffer>;
  take(buffer: Buffer, length: number): void;
}

/**
 * Decodes one zstd stream fed in pieces, and fails at the end when the stream was cut short or its
 * declared sizes do not add up (see ZstdFrameChecker). A context is reused across streams:
 * libzstd's window (megabytes) is freed only when the context is collected. No output buffer is
 * held between calls, so a stream abandoned half-way keeps none.
 */
export class NativeZstdDecoder {
  private checker = new ZstdFrameChecker();
  private decodedBytes = 0;

  constructor(private readonly context: DCtx) {}

  /** Starts a new stream. */
  reset(): void {
    this.context.reset(RESET_SESSION);
    this.checker = new ZstdFrameChecker();
    this.decodedBytes = 0;
  }

  write(input: Uint8Array, output: DecodedOutput): Promise<void> {
    this.checker.update(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    return this.drain(input, output);
  }

  async end(output: DecodedOutput): Promise<void> {
    await this.drain(NO_INPUT, output);
    this.checker.checkComplete();
    this.checker.checkDecodedSize(this.decodedBytes);
  }

  /** Per the zstd manual: call again while input remains or the output buffer came back full. */
  private async drain(input: Uint8Array, output: DecodedOutput): Promise<void> {
    let rest = input;
    let buffer: Buffer | undefined;
    let filled = 0;
    try {
      for (;;) {
        buffer ??= await output.lend();
        const [, produced, consumed] = this.context.decompressStream(buffer.subarray(filled), rest);
        filled += produced;
        this.decodedBytes += produced;
        rest = rest.subarray(consumed);
        const full = filled === buffer.length;
        if (full || rest.length === 0) {
          const done = buffer;
          buffer = undefined;
          output.take(done, filled);
          filled = 0;
          if (!full) return;
        }
      }
    } catch (error) {
      // A failing stream's last output is not written: its buffer goes back unused.
      if (buffer) output.take(buffer, 0);
      throw error;
    }
  }
}
