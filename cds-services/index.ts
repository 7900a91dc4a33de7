/**
 * The registry of CDS services this product offers. Discovery lists them in this order and the app
 * mounts `POST /cds-services/<id>` and `POST /cds-services/<id>/feedback` per entry.
 */

import { nqo1RiskDefinition, nqo1RiskEncounterDefinition } from './nqo1-risk/definition.js';
import { createNqo1RiskFeedbackHandler } from './nqo1-risk/feedback.js';
import { createNqo1RiskHandler } from './nqo1-risk/handler.js';
import type { CdsServiceModule } from './types.js';

export type { CdsServiceModule, ServiceDeps } from './types.js';

export const CDS_SERVICES: readonly CdsServiceModule[] = [
  {
    definition: nqo1RiskDefinition,
    createHandler: (deps) => createNqo1RiskHandler(deps, nqo1RiskDefinition),
    createFeedbackHandler: (deps) => createNqo1RiskFeedbackHandler(deps, nqo1RiskDefinition),
  },
  {
    definition: nqo1RiskEncounterDefinition,
    createHandler: (deps) => createNqo1RiskHandler(deps, nqo1RiskEncounterDefinition),
    createFeedbackHandler: (deps) => createNqo1RiskFeedbackHandler(deps, nqo1RiskEncounterDefinition),
  },
];
