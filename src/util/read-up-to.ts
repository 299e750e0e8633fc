import type { Readable } from 'node:stream';

/**
 * The first `length` bytes of a stream (all of it if shorter), then the stream is destroyed. For
 * ranged reads: a server that ignores the range and sends the whole object costs no more memory.
 * With `untilError`, a stream that fails yields what it delivered before, instead of the error.
 */
export async function readUpTo(stream: Readable, length: number, { untilError = false } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    // Leaving the loop early destroys the stream.
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      received += (chunk as Buffer).length;
      if (received >= length) break;
    }
  } catch (error) {
    if (!untilError) throw error;
  }
  return Buffer.concat(chunks, received).subarray(0, length);
}
