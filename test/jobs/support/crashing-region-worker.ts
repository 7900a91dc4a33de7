/**
 * Region worker module for tests: computes tumour regions like the real worker, and ends its
 * thread with exit code 3 when asked for a peritumoral region, as a crash would.
 */
import { parentPort } from 'node:worker_threads';

import { handleRegionRequest, type RegionRequest } from '../../../src/jobs/region-worker-protocol.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (request: RegionRequest) => {
    if (request.task.region === 'peri') process.exit(3);
    port.postMessage(handleRegionRequest(request));
  });
}
