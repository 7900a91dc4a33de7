/**
 * Entry module of a region worker thread: computes each {@link RegionRequest} its pool posts and
 * posts back the {@link RegionResponse}. The pool sends a thread its next request only after the
 * reply to the previous one, so requests never overlap.
 */
import { parentPort } from 'node:worker_threads';

import { handleRegionRequest, type RegionRequest } from './region-worker-protocol.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (request: RegionRequest) => {
    port.postMessage(handleRegionRequest(request));
  });
}
