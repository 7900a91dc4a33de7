/**
 * A loopback HTTP proxy for fault tests: it forwards each request to an upstream origin unless the
 * test's rule injects a fault for it. The faults are the ones a client cannot tell apart by itself:
 * an error status, no response at all, and a response withheld after the upstream applied the
 * request (the client times out although the write was committed).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * What the proxy does with one request:
 * - `forward`: sends it upstream and returns the upstream response;
 * - `status-503`: responds with 503 with an OperationOutcome and never contacts the upstream;
 * - `no-response`: keeps the request open without contacting the upstream;
 * - `forward-then-no-response`: sends it upstream, reads the whole response and keeps the request
 *   open, so the upstream applied it but the client never learns so.
 */
export type FaultAction = 'forward' | 'status-503' | 'no-response' | 'forward-then-no-response';

/** A request as the rule receives it: method and the path with query, e.g. `/fhir/R4/Observation`. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, to use in place of the upstream origin. */
  readonly origin: string;
  /** Every request received so far with the action taken, oldest first. */
  readonly log: readonly (ProxiedRequest & { readonly action: FaultAction })[];
  /** Number of requests sent upstream so far, withheld responses included. */
  forwardedCount(): number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    request.on('error', reject);
  });
}

/** Sends one request to `upstreamOrigin` and returns its status, headers and whole body. */
function sendUpstream(
  upstreamOrigin: string,
  request: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      new URL(request.url ?? '/', upstreamOrigin),
      { method: request.method, headers: { ...request.headers, host: new URL(upstreamOrigin).host } },
      (response) => {
        readBody(response).then((responseBody) => {
          resolve({ status: response.statusCode ?? 502, headers: response.headers, body: responseBody });
        }, reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

/** Starts the proxy on a free loopback port in front of `upstreamOrigin`, applying `rule` to each request. */
export async function startFaultProxy(
  upstreamOrigin: string,
  rule: (request: ProxiedRequest) => FaultAction,
): Promise<FaultProxy> {
  const log: (ProxiedRequest & { action: FaultAction })[] = [];
  let forwarded = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const proxied = { method: request.method ?? 'GET', path: request.url ?? '/' };
    const action = rule(proxied);
    log.push({ ...proxied, action });
    const body = await readBody(request);

    if (action === 'no-response') return;
    if (action === 'status-503') {
      response.writeHead(503, { 'Content-Type': 'application/fhir+json' });
      response.end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'transient', diagnostics: 'injected by the fault proxy' }],
        }),
      );
      return;
    }

    forwarded++;
    const upstream = await sendUpstream(upstreamOrigin, request, body);
    if (action === 'forward-then-no-response') return;
    response.writeHead(upstream.status, upstream.headers);
    response.end(upstream.body);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');

  return {
    origin: `http://127.0.0.1:${address.port}`,
    log,
    forwardedCount: () => forwarded,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
