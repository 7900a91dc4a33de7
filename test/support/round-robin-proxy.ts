/**
 * A loopback load balancer for scale-out tests: each request goes to the next of its upstream
 * origins in turn, as a hospital's balancer spreads hook calls over the API processes. The EHR
 * calls one service URL (`origin`), which is every API process's `server.publicUrl`.
 */
import { createServer, request as httpRequest } from 'node:http';

export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Replaces the upstream origins, e.g. once the API processes have bound their ports. */
  setUpstreams(origins: readonly string[]): void;
  /** Requests sent to each upstream origin so far. */
  forwardedCounts(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port. It responds 503 until upstreams are set. */
export async function startRoundRobinProxy(): Promise<RoundRobinProxy> {
  let upstreams: readonly string[] = [];
  let next = 0;
  const counts = new Map<string, number>();

  const server = createServer((request, response) => {
    if (upstreams.length === 0) {
      response.writeHead(503).end('no upstream');
      return;
    }
    const upstream = upstreams[next % upstreams.length]!;
    next += 1;
    counts.set(upstream, (counts.get(upstream) ?? 0) + 1);

    const target = new URL(request.url ?? '/', upstream);
    const forwarded = httpRequest(
      target,
      { method: request.method, headers: { ...request.headers, host: target.host } },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    forwarded.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end('upstream failed');
    });
    request.pipe(forwarded);
  });

  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The proxy has no TCP address');

  return {
    origin: `http://127.0.0.1:${address.port}`,
    setUpstreams(origins) {
      upstreams = [...origins];
    },
    forwardedCounts: () => new Map(counts),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
