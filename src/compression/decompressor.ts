import type { Transform } from 'node:stream';

/**
 * One compression algorithm as the broker names it in the manifest (Apache commons-compress
 * names). Adding an algorithm means adding one file that exports a Decompressor and listing it
 * in `registry.ts`.
 */
export interface Decompressor {
  readonly algorithm: string;
  /**
   * The pipeline stages that turn the stored bytes into the file's bytes, in order: the decoder,
   * and any checks around it that the decoder does not make itself. Each call makes new ones.
   */
  createStages(): Transform[];
}
