import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface S3Proxy {
  /** `http://127.0.0.1:<port>`: configure it as the S3 endpoint instead of the server's. */
  endpoint: string;
  requests: RecordedRequest[];
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
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the test S3 server that records every request the agent
 * sends (to prove which headers go over the wire), and can answer with transient S3 errors or
 * break responses mid-body.
 */
export async function startS3Proxy(target: string, options: S3ProxyOptions = {}): Promise<S3Proxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    const recorded = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers: incoming.headers };
    const failure = options.failWith?.(recorded, requests.length);
    const cutAfter = options.cutResponseAfter?.(recorded, requests.length);
    requests.push(recorded);
    if (failure) {
      incoming.resume();
      outgoing.writeHead(failure === 'SlowDown' ? 503 : 500, { 'content-type': 'application/xml' });
      outgoing.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failure}</Code><Message>injected by the test proxy</Message></Error>`);
      return;
    }
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: recorded.method, path: recorded.path, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        if (cutAfter === undefined) {
          response.pipe(outgoing);
          return;
        }
        let sent = 0;
        response.on('data', (chunk: Buffer) => {
          const remaining = cutAfter - sent;
          sent += chunk.length;
          if (chunk.length < remaining) {
            outgoing.write(chunk);
            return;
          }
          response.destroy();
          // Flush what is allowed, then drop the connection without finishing the response.
          outgoing.write(chunk.subarray(0, remaining), () => outgoing.socket?.destroy());
        });
        response.on('end', () => outgoing.end());
      },
    );
    forwarded.on('error', () => outgoing.socket?.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
