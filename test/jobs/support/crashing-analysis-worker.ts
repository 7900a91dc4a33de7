/**
 * Analysis worker module for tests: runs requests like the real worker, except for three that end
 * the thread as a crash would. A peritumoral region in ring mode and CT decoding of exactly one file
 * exit with code 3; CT decoding of exactly two files fills the V8 heap until the thread's resource limit
 * ends it.
 */
import { parentPort } from 'node:worker_threads';

import type { AnalysisRequest } from '../../../src/jobs/analysis-worker-protocol.js';
import { handleAnalysisRequest } from '../../../src/jobs/analysis-worker-tasks.js';

/** Allocates small arrays and keeps them all, so only the heap limit stops it. */
function exhaustHeap(): never {
  const retained: number[][] = [];
  for (;;) retained.push(Array.from({ length: 1024 }, (_, index) => index + retained.length));
}

const port = parentPort;
if (port !== null) {
  port.on('message', (request: AnalysisRequest) => {
    const { step, input } = request;
    if (step === 'region' && input.task.region === 'peri' && input.task.periMode === 'ring') process.exit(3);
    if (step === 'study-images' && input.ctFiles.length === 1) process.exit(3);
    if (step === 'study-images' && input.ctFiles.length === 2) exhaustHeap();
    void handleAnalysisRequest(request).then(({ response, transfer }) => {
      port.postMessage(response, transfer);
    });
  });
}
