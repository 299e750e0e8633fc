/**
 * A TCP proxy that makes the local S3 server answer like a remote one: every response starts
 * `latencyMs` late (first-byte latency), and each connection's responses flow at no more than
 * `bytesPerSecond` (a token bucket per TCP connection). Real S3 caps each connection, so what
 * decides a restore is how many requests are in flight and whether one object is fetched over
 * several connections; on loopback neither shows.
 *
 * It works on bytes, not on HTTP (the fault-injecting proxy in test/support parses every request
 * to fault it; shaping needs none of that): requests are piped upstream untouched, responses are
 * forwarded chunk by chunk as received (no copies) and throttled by pausing the upstream socket,
 * so TCP's own flow control holds the server back. HTTP/1.1 clients (the AWS SDK, rclone) send a
 * request only once the previous response is complete, so the first response bytes after a
 * request are the start of its response.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface Shape {
  /** Added before the first byte of every response is forwarded. */
  latencyMs: number;
  /** Each connection's response bytes per second. */
  bytesPerSecond: number;
}

export interface ShapingProxy {
  /** `http://127.0.0.1:<port>`: the S3 endpoint to configure instead of the server's. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * How much a connection may send ahead of its rate before it is paused: 20 ms worth. Real
 * connections are bursty too, and pausing every 64 KiB chunk would cost a timer each.
 */
const BURST_SECONDS = 0.02;

export async function startShapingProxy(target: string, shape: Shape): Promise<ShapingProxy> {
  const upstreamAddress = new URL(target);
  const connections = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(upstreamAddress.port), upstreamAddress.hostname);
    for (const socket of [client, upstream]) {
      connections.add(socket);
      // Either side closing or failing ends the pair, as a real connection would.
      socket.on('error', () => undefined);
      socket.on('close', () => {
        connections.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    forwardShaped(upstream, client, shape);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Forwards the server's responses to the client, each one late by the latency, at the connection's rate. */
function forwardShaped(upstream: Socket, client: Socket, shape: Shape): void {
  const bucket = tokenBucket(shape.bytesPerSecond);
  const holds = pauseWhileHeld(upstream);
  let awaitingResponse = false;
  client.on('data', () => (awaitingResponse = true));

  const send = (chunk: Buffer) => {
    if (client.destroyed) return;
    if (!client.write(chunk)) {
      holds.hold();
      client.once('drain', holds.release);
    }
    const waitMs = bucket.take(chunk.length);
    if (waitMs > 0) holds.holdFor(waitMs);
  };
  upstream.on('data', (chunk: Buffer) => {
    if (!awaitingResponse) {
      send(chunk);
      return;
    }
    awaitingResponse = false;
    holds.holdFor(shape.latencyMs, () => send(chunk));
  });
  // A paused socket emits no 'end' until resumed, so a held last chunk is still sent first.
  upstream.on('end', () => client.end());
}

/**
 * The upstream socket stays paused while anything holds it (the latency, the rate, a full client
 * socket), and resumes when the last of them lets go.
 */
function pauseWhileHeld(socket: Socket) {
  let holders = 0;
  const hold = () => {
    if (holders++ === 0) socket.pause();
  };
  const release = () => {
    if (--holders === 0) socket.resume();
  };
  const holdFor = (ms: number, then?: () => void) => {
    hold();
    setTimeout(() => {
      then?.();
      release();
    }, ms);
  };
  return { hold, release, holdFor };
}

/**
 * A token bucket as a virtual clock: each byte moves the time from which the connection may send
 * again by 1/rate, and an idle connection starts from now (a full bucket). Once it is more than
 * BURST_SECONDS ahead, `take` returns how long to pause (ms) for its rate to catch up; else 0.
 */
function tokenBucket(bytesPerSecond: number) {
  let mayResumeAt = 0;
  return {
    take(bytes: number): number {
      const now = performance.now() / 1000;
      mayResumeAt = Math.max(mayResumeAt, now) + bytes / bytesPerSecond;
      const ahead = mayResumeAt - now;
      return ahead > BURST_SECONDS ? ahead * 1000 : 0;
    },
  };
}
