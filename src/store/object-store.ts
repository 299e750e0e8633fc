import { type Readable, Transform } from 'node:stream';

/* What the HTTP object backends (GCS, Azure) share: their options and the idle watch of a response body. */

export interface ObjectStoreOptions {
  /** Objects per listing page; tests use small pages. */
  listPageSize?: number;
  /** How long a download may wait for its next byte before the connection counts as dead: 60 s by default. */
  idleTimeoutMs?: number;
}

/** How long a download may wait for its next byte before the connection counts as dead. */
export const defaultIdleTimeoutMs = 60_000;

/**
 * The bytes of an SDK's response body, failing when none arrive for `idleMs` while the consumer
 * is ready for more. Neither SDK notices every dead connection: GCS's HTTP layer (node-fetch 2)
 * never ends a body whose connection closed early, and nothing times out a connection that
 * silently stops. The failure is a plain error, so the resumable download continues from the
 * last byte. `mapError` classifies the source's own errors.
 */
export function watchedBody(source: Readable, idleMs: number, mapError: (error: Error) => Error = (error) => error): Readable {
  let lastData = Date.now();
  const body = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, done) {
      lastData = Date.now();
      done(null, chunk);
    },
  });
  const watch = setInterval(() => {
    // A full buffer means the consumer is slow, not the network.
    if (body.readableLength < body.readableHighWaterMark && Date.now() - lastData > idleMs) {
      body.destroy(new Error(`no data arrived for ${idleMs / 1000} s`));
    }
  }, Math.min(1000, idleMs / 4));
  watch.unref();
  body.once('close', () => {
    clearInterval(watch);
    source.destroy();
  });
  source.once('error', (error) => body.destroy(mapError(error)));
  return source.pipe(body);
}
