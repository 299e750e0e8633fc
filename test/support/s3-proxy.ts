import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The fault the script chose for this request, if any. */
  fault?: Fault;
  /**
   * Whether the fault actually happened: always for faults before the headers; for faults in the
   * body only when the body was longer than `afterBytes`.
   */
  injected?: boolean;
}

/**
 * What the proxy does to one request instead of passing it through untouched. Faults before the
 * headers are retried by the S3 client; faults in the body must be survived by the agent itself.
 */
export type Fault =
  /** The connection is reset (TCP RST) before any byte of the response. */
  | { kind: 'reset' }
  /** An S3 error answer instead of forwarding: 503 `SlowDown` (throttling), 500 `InternalError`, 503 `ServiceUnavailable`. */
  | { kind: 'error'; status: number; code: string; message?: string }
  /** The request is held this long before it is forwarded (a slow server; longer than apiCallTimeout is a stall). */
  | { kind: 'delay'; ms: number }
  /** The headers and `afterBytes` body bytes are forwarded, then the connection is reset (TCP RST). */
  | { kind: 'resetMidBody'; afterBytes: number }
  /** The headers and `afterBytes` body bytes are forwarded, then the connection is closed cleanly (FIN): a body short of its Content-Length. */
  | { kind: 'closeMidBody'; afterBytes: number }
  /** The headers and `afterBytes` body bytes are forwarded, then nothing for `ms` (or until the client gives up), then the rest. */
  | { kind: 'stallMidBody'; afterBytes: number; ms?: number }
  /** The whole body, `chunkBytes` at a time every `intervalMs`: a slow but live download. */
  | { kind: 'trickle'; chunkBytes: number; intervalMs: number };

export type FaultScript = (request: RecordedRequest, index: number) => Fault | undefined;

export interface S3Proxy {
  /** `http://127.0.0.1:<port>`: configure it as the S3 endpoint instead of the server's. */
  endpoint: string;
  requests: RecordedRequest[];
  /** Requests whose fault actually happened. */
  injected(): RecordedRequest[];
  close(): Promise<void>;
}

export interface S3ProxyOptions {
  /** Per request: an S3 error code to answer with instead of forwarding (`SlowDown`, `InternalError`). */
  failWith?: (request: RecordedRequest, index: number) => 'SlowDown' | 'InternalError' | undefined;
  /**
   * Per request: after how many body bytes to cut the connection, or undefined to pass it whole.
   * Simulates a load balancer or NAT dropping a long download.
   */
  cutResponseAfter?: (request: RecordedRequest, index: number) => number | undefined;
  /** Per request: the fault to inject, or undefined to pass it through. Takes precedence over the two above. */
  script?: FaultScript;
  /** Rewrites request headers before forwarding (the recorded request keeps what the agent sent). */
  rewriteHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the test S3 server that records every request the agent
 * sends (to prove which headers go over the wire), and injects faults a test scripts per request:
 * resets, S3 error answers, delays, and bodies that break off, end short or stall.
 */
export async function startS3Proxy(target: string, options: S3ProxyOptions = {}): Promise<S3Proxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, recorded: RecordedRequest, fault: Fault | undefined) => {
    const headers = options.rewriteHeaders ? options.rewriteHeaders({ ...incoming.headers }) : incoming.headers;
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: recorded.method, path: recorded.path, headers },
      (response) => {
        if (outgoing.destroyed) {
          response.destroy();
          return;
        }
        outgoing.on('close', () => response.destroy());
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        if (fault?.kind === 'trickle') {
          void trickle(response, outgoing, fault, later);
          return;
        }
        let limit = fault && 'afterBytes' in fault ? fault.afterBytes : undefined;
        let sent = 0;
        let broken = false;
        let ended = false;
        response.on('data', (chunk: Buffer) => {
          if (broken) return;
          if (limit === undefined || sent + chunk.length <= limit) {
            sent += chunk.length;
            if (!outgoing.write(chunk)) {
              response.pause();
              outgoing.once('drain', () => response.resume());
            }
            return;
          }
          broken = true;
          recorded.injected = true;
          const rest = chunk.subarray(limit - sent);
          if (fault?.kind === 'stallMidBody') {
            response.pause();
            outgoing.write(chunk.subarray(0, limit - sent));
            if (fault.ms !== undefined) {
              later(fault.ms, () => {
                if (outgoing.destroyed) return;
                outgoing.write(rest);
                limit = undefined;
                broken = false;
                if (ended) outgoing.end();
                else response.resume();
              });
            }
            return;
          }
          response.destroy();
          outgoing.write(chunk.subarray(0, limit - sent), () =>
            breakOff(outgoing.socket, fault!.kind === 'resetMidBody' ? 'reset' : 'close'),
          );
        });
        response.on('end', () => {
          ended = true;
          if (!broken) outgoing.end();
        });
        response.on('error', () => outgoing.socket?.destroy());
      },
    );
    forwarded.on('error', () => outgoing.socket?.destroy());
    outgoing.on('close', () => forwarded.destroy());
    incoming.pipe(forwarded);
  };

  const server = createServer((incoming, outgoing) => {
    const recorded: RecordedRequest = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers: incoming.headers };
    const index = requests.length;
    const legacyFailure = options.script ? undefined : options.failWith?.(recorded, index);
    const legacyCut = options.script ? undefined : options.cutResponseAfter?.(recorded, index);
    const fault: Fault | undefined =
      options.script?.(recorded, index) ??
      (legacyFailure
        ? { kind: 'error', status: legacyFailure === 'SlowDown' ? 503 : 500, code: legacyFailure }
        : legacyCut !== undefined
          ? { kind: 'closeMidBody', afterBytes: legacyCut }
          : undefined);
    if (fault) recorded.fault = fault;
    requests.push(recorded);

    switch (fault?.kind) {
      case 'reset':
        recorded.injected = true;
        incoming.resume();
        breakOff(incoming.socket, 'reset');
        return;
      case 'error':
        recorded.injected = true;
        incoming.resume();
        outgoing.writeHead(fault.status, { 'content-type': 'application/xml' });
        outgoing.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code>` +
            `<Message>${fault.message ?? 'injected by the test proxy'}</Message></Error>`,
        );
        return;
      case 'delay':
        recorded.injected = true;
        later(fault.ms, () => {
          if (!outgoing.destroyed && !incoming.socket?.destroyed) forward(incoming, outgoing, recorded, undefined);
        });
        return;
      default:
        forward(incoming, outgoing, recorded, fault);
    }
  });
  // A reset socket reports ECONNRESET on the server side too; that is the point, not a failure.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    injected: () => requests.filter((recorded) => recorded.injected),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `reset` sends a TCP RST; `close` a FIN after what was written, like a server that just stops. */
function breakOff(socket: Socket | null | undefined, how: 'reset' | 'close'): void {
  if (!socket || socket.destroyed) return;
  if (how === 'reset') {
    socket.resetAndDestroy();
  } else {
    socket.end();
    socket.once('finish', () => socket.destroy());
  }
}

async function trickle(
  response: IncomingMessage,
  outgoing: ServerResponse,
  fault: Extract<Fault, { kind: 'trickle' }>,
  later: (ms: number, action: () => void) => void,
): Promise<void> {
  for await (const chunk of response as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length; offset += fault.chunkBytes) {
      await new Promise<void>((resolve) => later(fault.intervalMs, resolve));
      if (outgoing.destroyed) return;
      outgoing.write(chunk.subarray(offset, offset + fault.chunkBytes));
    }
  }
  outgoing.end();
}

/** The object key of a request to a path-style endpoint, or undefined for a listing or a bucket-level call. */
export function objectKeyOf(recorded: Pick<RecordedRequest, 'path'>, bucket: string): string | undefined {
  const [path = ''] = recorded.path.split('?');
  const prefix = `/${bucket}/`;
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  return decodeURIComponent(path.slice(prefix.length));
}

export function isListing(recorded: Pick<RecordedRequest, 'path'>): boolean {
  return /[?&]list-type=2(&|$)/.test(recorded.path);
}
