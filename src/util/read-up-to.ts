import type { Readable } from 'node:stream';

/**
 * The first `length` bytes of a stream (all of it if shorter), then the stream is destroyed. For
 * ranged reads: a server that ignores the range and sends the whole object costs no more memory.
 */
export async function readUpTo(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  // Leaving the loop early destroys the stream.
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
    if (received >= length) break;
  }
  return Buffer.concat(chunks, received).subarray(0, length);
}
