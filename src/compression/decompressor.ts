import type { Transform } from 'node:stream';

/**
 * One compression algorithm as the broker names it in the manifest (Apache commons-compress
 * names). Adding an algorithm means adding one file that exports a Decompressor and listing it
 * in `registry.ts`.
 */
export interface Decompressor {
  readonly algorithm: string;
  createStream(): Transform;
}
