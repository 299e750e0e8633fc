import { createGunzip, createInflate, createZstdDecompress } from 'node:zlib';
import type { Decompressor } from './decompressor.js';
import { withFrameChecks } from './zstd-frames.js';

/** Large chunks keep the per-call overhead low on multi-GiB segments. */
const chunkSize = 1024 * 1024;

export const gzip: Decompressor = { algorithm: 'gz', createStages: () => [createGunzip({ chunkSize })] };

/** commons-compress `deflate` is zlib-wrapped (RFC 1950), which is what `inflate` expects. */
export const deflate: Decompressor = { algorithm: 'deflate', createStages: () => [createInflate({ chunkSize })] };

/**
 * Node ≥ 22.15 streams zstd natively; frames without a content size are fine. Its decoder ends
 * without an error on a stream cut short, so the frames are followed alongside (zstd-frames.ts).
 */
export const zstd: Decompressor = { algorithm: 'zstd', createStages: () => withFrameChecks(createZstdDecompress({ chunkSize })) };
