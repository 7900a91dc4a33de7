/**
 * Entry module of a region worker thread: computes each {@link RegionRequest} its pool posts and
 * posts back the {@link RegionResponse}. One request at a time; the pool never sends a second one
 * before the reply to the first.
 */
import { parentPort } from 'node:worker_threads';

import { handleRegionRequest, type RegionRequest } from './region-worker-protocol.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (request: RegionRequest) => {
    port.postMessage(handleRegionRequest(request));
  });
}
