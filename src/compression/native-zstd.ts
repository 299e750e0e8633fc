import { createRequire } from 'node:module';
import type { DCtx } from 'zstd-napi/binding.js';
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
      loaded = { binding: createRequire(import.meta.url)('zstd-napi/binding') as Binding };
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
 * Decodes one zstd stream fed in pieces, handing decoded bytes to `emit` as they come (valid only
 * during the call), and fails at the end when the stream was cut short or its declared sizes do
 * not add up (see ZstdFrameChecker). A context is reused across streams: libzstd's window
 * (megabytes) is freed only when the context is collected. `output` may be shared by decoders
 * that run on one thread: each call hands its output over before it returns.
 */
export class NativeZstdDecoder {
  private checker = new ZstdFrameChecker();
  private decodedBytes = 0;

  constructor(
    private readonly context: DCtx,
    private readonly output: Buffer,
  ) {}

  /** Starts a new stream. */
  reset(): void {
    this.context.reset(RESET_SESSION);
    this.checker = new ZstdFrameChecker();
    this.decodedBytes = 0;
  }

  write(input: Uint8Array, emit: (bytes: Buffer) => void): void {
    this.checker.update(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    this.drain(input, emit);
  }

  end(emit: (bytes: Buffer) => void): void {
    this.drain(NO_INPUT, emit);
    this.checker.checkComplete();
    this.checker.checkDecodedSize(this.decodedBytes);
  }

  /** Per the zstd manual: call again while input remains or the output buffer came back full. */
  private drain(input: Uint8Array, emit: (bytes: Buffer) => void): void {
    let rest = input;
    for (;;) {
      const [, produced, consumed] = this.context.decompressStream(this.output, rest);
      if (produced > 0) {
        this.decodedBytes += produced;
        emit(this.output.subarray(0, produced));
      }
      rest = rest.subarray(consumed);
      if (rest.length === 0 && produced < this.output.length) return;
    }
  }
}
