/**
 * Discovery entry of the NQO1 risk service. It drives the discovery response, the route and the
 * prefetch keys the handler reads.
 */

import type { CdsServiceDefinition } from '../../src/server/cds-types.js';

export const nqo1RiskDefinition = {
  id: 'nqo1-risk',
  hook: 'patient-view',
  title: 'NQO1 expression risk from liver CT',
  description:
    'Estimates whether a hepatocellular carcinoma probably has high NQO1 expression, a risk factor for worse ' +
    'overall survival, from radiomic features of the arterial-phase CT (BR-RO model, He et al., PLoS ONE 2023).',
  prefetch: {
    patient: 'Patient/{{context.patientId}}',
    studies: 'ImagingStudy?patient={{context.patientId}}&modality=CT&_sort=-started',
  },
} as const satisfies CdsServiceDefinition;
