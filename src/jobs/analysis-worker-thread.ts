/**
 * Entry module of an analysis worker thread: runs each {@link AnalysisRequest} its pool posts and
 * posts back the reply, moving the output's buffers. The pool sends a thread its next request only
 * after the reply to the previous one, so requests never overlap.
 */
import { parentPort } from 'node:worker_threads';

import { serialiseError, type AnalysisRequest } from './analysis-worker-protocol.js';
import { handleAnalysisRequest } from './analysis-worker-tasks.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (request: AnalysisRequest) => {
    void handleAnalysisRequest(request).then(({ response, transfer }) => {
      try {
        port.postMessage(response, transfer);
      } catch (error) {
        // A reply that cannot be cloned fails its request instead of ending the thread.
        port.postMessage({ id: request.id, ok: false, error: serialiseError(error) });
      }
    });
  });
}
