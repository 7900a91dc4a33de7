/**
 * Discovery entries of the NQO1 risk service. They drive the discovery response, the routes and the
 * prefetch keys the handler reads.
 *
 * The same analysis serves two hooks: `patient-view` (the chart opens) and `encounter-start` (an
 * encounter begins, e.g. the pre-operative visit). A CDS Hooks service has exactly one hook, so each
 * hook is a service of its own id, with its own route `POST /cds-services/<id>` and JWT audience
 * `${publicUrl}/cds-services/<id>`. Both use the same prefetch, so the EHR sends the same studies.
 *
 * @see https://cds-hooks.hl7.org/2.0/#response
 * @see https://cds-hooks.org/hooks/encounter-start/
 */

import type { CdsServiceDefinition } from '../../src/server/cds-types.js';

const DESCRIPTION =
  'Estimates whether a hepatocellular carcinoma probably has high NQO1 expression, a risk factor for worse ' +
  'overall survival, from radiomic features of the arterial-phase CT (BR-RO model, He et al., PLoS ONE 2023).';

const PREFETCH = {
  patient: 'Patient/{{context.patientId}}',
  studies: 'ImagingStudy?patient={{context.patientId}}&modality=CT&_sort=-started',
} as const;

export const nqo1RiskDefinition = {
  id: 'nqo1-risk',
  hook: 'patient-view',
  title: 'NQO1 expression risk from liver CT',
  description: DESCRIPTION,
  prefetch: PREFETCH,
} as const satisfies CdsServiceDefinition;

export const nqo1RiskEncounterDefinition = {
  id: 'nqo1-risk-encounter',
  hook: 'encounter-start',
  title: 'NQO1 expression risk from liver CT at encounter start',
  description: DESCRIPTION,
  prefetch: PREFETCH,
} as const satisfies CdsServiceDefinition;

/** A discovery entry the NQO1 risk handler serves. */
export type Nqo1RiskDefinition = typeof nqo1RiskDefinition | typeof nqo1RiskEncounterDefinition;
