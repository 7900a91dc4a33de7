/**
 * Handler of `POST /cds-services/nqo1-risk` (hook `patient-view`). It never computes features. It
 * reads the result store and responds with one card, enqueueing the study when it is not stored.
 * The JWT is verified by middleware before this runs.
 *
 * @see https://cds-hooks.hl7.org/2.0/#calling-a-cds-service
 */

import type { RequestHandler } from 'express';
import * as z from 'zod';

import { Nqo1Error } from '../../src/errors.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import type { CdsResponse } from '../../src/server/cds-types.js';
import { requestContext } from '../../src/server/logger.js';
import type { ServiceDeps } from '../types.js';
import { assertUrlAllowed } from '../../src/net/url-allowlist.js';
import { buildCard, buildInProgressCard, buildPatientConflictCard, type CardContext } from './cards.js';
import { nqo1RiskDefinition } from './definition.js';
import { negotiateLocale } from './messages.js';
import { scanCtStudies, UNEXPECTED_SKIP_REASONS } from './prefetch.js';

/** A FHIR logical id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const requestSchema = z.looseObject({
  hook: z.literal(nqo1RiskDefinition.hook, {
    error: (issue) => `expected hook "${nqo1RiskDefinition.hook}", got ${JSON.stringify(issue.input)}`,
  }),
  hookInstance: z.string().min(1).max(128),
  fhirServer: z.string().optional(),
  context: z.looseObject({
    patientId: z.string().regex(FHIR_ID, { error: 'expected context.patientId to be a FHIR resource id' }),
  }),
  prefetch: z.record(z.string(), z.unknown()).nullable().optional(),
});

type HookRequest = z.infer<typeof requestSchema>;

/** Creates the hook handler over the service's dependencies. */
export function createNqo1RiskHandler(deps: ServiceDeps): RequestHandler {
  return (req, res) => {
    const request = parseHookRequest(req.body);
    const studies = requireStudiesPrefetch(request, deps.config.fhir.allowedBaseUrls);
    const { study, skipped } = scanCtStudies(studies, request.context.patientId);
    if (UNEXPECTED_SKIP_REASONS.some((reason) => skipped[reason] !== undefined)) {
      // Counts only: the skipped resources may belong to other patients.
      requestContext(res).log.warn(
        { skipped, studySelected: study !== undefined },
        'imaging studies in the prefetch skipped',
      );
    }
    if (study === undefined) {
      res.json({ cards: [] } satisfies CdsResponse);
      return;
    }

    const context: CardContext = {
      studyInstanceUid: study.studyInstanceUid,
      modelCard: deps.modelCard,
      locale: negotiateLocale(
        req.get('accept-language'),
        (languages) => req.acceptsLanguages(languages),
        deps.config.locale,
      ),
      smartAppUrl: deps.config.smartAppUrl,
      retryFailedAfterMs: deps.config.jobs.retryFailedAfterMs,
      ...(deps.config.viewerUrlTemplate === undefined
        ? {}
        : { viewerUrlTemplate: deps.config.viewerUrlTemplate }),
    };
    const job: AnalysisJob = {
      ...study,
      patientId: request.context.patientId,
      modelId: deps.modelCard.id,
      modelVersion: deps.modelCard.version,
    };

    // A stored analysis is bound to the patient it was computed for. The same Study Instance UID in
    // another patient's prefetch means the PACS or EHR links one study to two records, so no result
    // is shown and nothing is enqueued until IT resolves it. The log names only the study.
    let stored = deps.store.getResult(job);
    if (stored !== undefined && stored.job.patientId !== job.patientId) {
      requestContext(res).log.warn(
        { studyInstanceUid: study.studyInstanceUid },
        'study already analysed for another patient record; result withheld',
      );
      res.json({ cards: [buildPatientConflictCard(context)] } satisfies CdsResponse);
      return;
    }

    // A new study is enqueued; a failed one is requeued once its retry interval has passed.
    if (stored === undefined || stored.status === 'failed') {
      if (deps.queue.enqueue(job) !== 'exists') stored = undefined;
    }
    const card = stored === undefined ? buildInProgressCard(context) : buildCard(context, stored);
    res.json({ cards: [card] } satisfies CdsResponse);
  };
}

function parseHookRequest(body: unknown): HookRequest {
  const parsed = requestSchema.safeParse(body);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
  );
  throw new Nqo1Error('ERR_REQUEST_INVALID', `Invalid CDS Hooks request: ${problems.join('; ')}`);
}

/**
 * Returns `prefetch.studies`, or rejects the call when it is absent or null (the client could not
 * prefetch). A `fhirServer` outside the allowlist is rejected with `ERR_URL_NOT_ALLOWED` first.
 *
 * LIMITATION: the service does not yet query `fhirServer` itself when prefetch is missing, because
 * the FHIR read path with the client's `fhirAuthorization` token is not built. Until then the EHR
 * must send the prefetch. Adding a FHIR search for ImagingStudy with that token here would remove
 * the 412.
 */
function requireStudiesPrefetch(request: HookRequest, allowedFhirBaseUrls: readonly string[]): unknown {
  // Checked on every call, although the service does not read from fhirServer yet, so that a
  // misconfigured EHR learns it now rather than when FHIR reads are added.
  if (request.fhirServer !== undefined) assertUrlAllowed(request.fhirServer, allowedFhirBaseUrls, 'FHIR');

  const studies = request.prefetch?.studies;
  if (studies !== undefined && studies !== null) return studies;
  throw new Nqo1Error(
    'ERR_PREFETCH_MISSING',
    `prefetch.studies is missing: configure the EHR to send the prefetch "studies" (${nqo1RiskDefinition.prefetch.studies}) ` +
      'from the discovery response. Fetching the studies from fhirServer instead is not supported in this release.',
  );
}
