import { Transform, type TransformCallback } from 'node:stream';
import { crc32c } from './crc32c.js';

/** Passes bytes through unchanged, counting them and taking their CRC32C on the way. */
export class Crc32cMeter extends Transform {
  crc32c = 0;
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.crc32c = crc32c(chunk, this.crc32c);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** A CRC32C as the archive index writes it: eight hex digits. */
export function formatCrc32c(value: number): string {
  return value.toString(16).padStart(8, '0');
}
