/**
 * What a CDS service module provides to the app, and what the app gives it.
 */

import type { RequestHandler } from 'express';

import type { AnalysisQueue } from '../src/jobs/queue.js';
import type { ResultStore } from '../src/jobs/store.js';
import type { ModelCard } from '../src/model/card.js';
import type { CdsServiceDefinition } from '../src/server/cds-types.js';
import type { AppConfig } from '../src/server/config.js';

/** Dependencies of a service handler. Narrow views, so tests can pass small fakes. */
export interface ServiceDeps {
  readonly config: AppConfig;
  readonly store: Pick<
    ResultStore,
    'getResult' | 'bindFhirIds' | 'keysAfter' | 'feedback' | 'chartRecords' | 'getById'
  >;
  readonly queue: Pick<AnalysisQueue, 'enqueue'>;
  readonly modelCard: ModelCard;
}

/** One CDS service: its discovery entry and the factories of its hook and feedback handlers. */
export interface CdsServiceModule {
  readonly definition: CdsServiceDefinition;
  readonly createHandler: (deps: ServiceDeps) => RequestHandler;
  /** Handler of `POST /cds-services/<id>/feedback`. */
  readonly createFeedbackHandler: (deps: ServiceDeps) => RequestHandler;
}
