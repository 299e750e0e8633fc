import type { Transform } from 'node:stream';
import { BackupInvalidError } from '../errors.js';
import type { Decompressor } from './decompressor.js';
import { deflate, gzip, zstd } from './zlib-decompressors.js';

const decompressors = new Map<string, Decompressor>(
  [zstd, gzip, deflate].map((decompressor) => [decompressor.algorithm, decompressor]),
);

export const supportedAlgorithms = [...decompressors.keys()];

/**
 * The pipeline stages that restore a file's original bytes (see Decompressor), or undefined for a
 * file stored raw. The manifest's per-file algorithm is the only truth: never guess from names or
 * configuration.
 */
export function decompressionFor(algorithm: string | undefined, fileLabel: string): Transform[] | undefined {
  if (algorithm === undefined || algorithm === '') return undefined;
  const decompressor = decompressors.get(algorithm);
  if (!decompressor) {
    throw new BackupInvalidError(
      `${fileLabel} is compressed with '${algorithm}', which this agent cannot decompress ` +
        `(supported: ${supportedAlgorithms.join(', ')}).`,
    );
  }
  return decompressor.createStages();
}
