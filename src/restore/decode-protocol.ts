/**
 * Messages between the main thread and a decode worker (decode-worker.ts), one file (`id`) at a
 * time per conversation. Compressed pieces travel as transferred ArrayBuffers and come back with
 * their `ack`, so a file's pieces are a fixed set of buffers going round: the main thread sends
 * only while it holds a free one, which is the backpressure that pauses the network reader when
 * the workers fall behind.
 */
export type WorkerRequest =
  | { type: 'open'; id: number; path: string; checksum: boolean; writeBehind: boolean }
  | { type: 'data'; id: number; buffer: ArrayBuffer; length: number }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number };

export type WorkerReply =
  | { type: 'ack'; id: number; buffer: ArrayBuffer }
  | { type: 'done'; id: number; bytes: number; crc32c?: number }
  | { type: 'error'; id: number; stage: FailureStage; message: string; code?: string }
  | { type: 'closed'; id: number };

/** What failed: the stream's content, the file system (`code` is its errno code), or the worker itself. */
export type FailureStage = 'decompress' | 'write' | 'worker';
