import { requireCommonJs } from './common-js.js';

/** CRC32C (Castagnoli) of `data`, continuing from `initial`: @node-rs/crc32, hardware-accelerated. */
export const { crc32c } = requireCommonJs('@node-rs/crc32') as typeof import('@node-rs/crc32');
