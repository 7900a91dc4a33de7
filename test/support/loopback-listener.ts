/**
 * A loopback HTTP listener for tests that counts the connections and requests it receives. A handler
 * of the test's choice responds to each request; without one, requests time out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface LoopbackListener {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Number of TCP connections accepted so far. */
  connectionCount(): number;
  /** Number of HTTP requests received so far. */
  requestCount(): number;
  close(): Promise<void>;
}

/** Starts a listener on a free loopback port; without `handler`, requests get no response. */
export async function startLoopbackListener(
  handler?: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LoopbackListener> {
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests++;
    handler?.(request, response);
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the listener has no TCP address');

  return {
    origin: `http://127.0.0.1:${address.port}`,
    connectionCount: () => connections,
    requestCount: () => requests,
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
