/**
 * A process that owns an analysis queue, for restart tests. It opens the SQLite store given as the
 * first argument, starts a queue whose analysis never finishes, enqueues the studies given as the
 * other arguments, and sends the parent `{ analysing: <Study Instance UID> }` when a job starts and
 * every study is stored.
 * The parent then kills it, so the store is left as a crash leaves it.
 */
import { SqliteResultStore } from '../../../src/jobs/result-store.js';
import { AnalysisQueue } from '../../../src/jobs/queue.js';
import { createLogger } from '../../../src/server/logger.js';

const [sqlitePath, ...studies] = process.argv.slice(2);
if (sqlitePath === undefined) throw new TypeError('Expected the SQLite path as the first argument');

// The worker takes the first job while later ones are still being enqueued. The message waits until
// every study is stored, because a kill before that would leave some studies never enqueued.
let markAllEnqueued = (): void => undefined;
const allEnqueued = new Promise<void>((resolve) => {
  markAllEnqueued = resolve;
});

const store = new SqliteResultStore(sqlitePath);
const queue = new AnalysisQueue({
  store,
  logger: createLogger({ level: 'silent' }),
  analyse: async (job) => {
    await allEnqueued;
    process.send?.({ analysing: job.studyInstanceUid });
    return await new Promise(() => undefined);
  },
});
await queue.start();
for (const studyInstanceUid of studies) {
  await queue.enqueue({ studyInstanceUid, modelId: 'br-ro', modelVersion: '1.0.0' });
}
markAllEnqueued();
