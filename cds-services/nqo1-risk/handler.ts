/**
 * Handler of `POST /cds-services/nqo1-risk` (hook `patient-view`) and
 * `POST /cds-services/nqo1-risk-encounter` (hook `encounter-start`). It never computes features. It
 * reads the result store and responds with one card, enqueueing the study when it is not stored.
 * The studies come from the `studies` prefetch or, when that is unusable, from a search of
 * `fhirServer` with the request's `fhirAuthorization` token (`fhir-studies.ts`).
 * The JWT is verified by middleware before this runs.
 *
 * @see https://cds-hooks.hl7.org/2.0/#calling-a-cds-service
 */

import type { RequestHandler, Response } from 'express';
import * as z from 'zod';

import { Nqo1Error } from '../../src/errors.js';
import { analysisFhirBase, fhirBaseKey, sameFhirBase } from '../../src/fhir/fhir-base.js';
import type { AnalysisJob, StoredAnalysis } from '../../src/jobs/types.js';
import type { CdsCard, CdsResponse } from '../../src/server/cds-types.js';
import { requestContext } from '../../src/server/logger.js';
import type { ServiceDeps } from '../types.js';
import { assertUrlAllowed } from '../../src/net/url-allowlist.js';
import {
  buildCard,
  buildInProgressCard,
  buildOlderStudyResultCard,
  buildPatientConflictCard,
  type CardContext,
} from './cards.js';
import type { Nqo1RiskDefinition } from './definition.js';
import { negotiateLocale } from './messages.js';
import {
  classifyStudiesPrefetch,
  scanCtStudies,
  UNEXPECTED_SKIP_REASONS,
  type CandidateStudy,
  type StudiesPrefetchState,
} from './prefetch.js';
import { readStudiesFromFhir } from './fhir-studies.js';

/** A FHIR logical id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Older studies looked up for a finished result while the newest one is analysed, newest first.
 * Bounds the store reads of one hook call for a patient with many CT studies.
 */
const MAX_OLDER_STUDIES_CHECKED = 10;

/**
 * `fhirAuthorization` of a CDS Hooks request: an OAuth 2.0 bearer token for `fhirServer`. Only
 * `access_token` and `token_type` are read; validation messages never echo the values.
 *
 * @see https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service
 */
const fhirAuthorizationSchema = z.looseObject({
  // RFC 6750 §2.1: a bearer token is visible ASCII. A space or control character could not be sent
  // in an Authorization header, so it is refused here rather than failing at the FHIR request.
  access_token: z
    .string()
    .min(1, { error: 'expected a non-empty access_token' })
    .regex(/^[\x21-\x7E]+$/, {
      error:
        'expected access_token of visible ASCII characters only (RFC 6750), without spaces or line breaks',
    }),
  token_type: z.string().regex(/^bearer$/i, { error: 'expected token_type "Bearer"' }),
});

/** The request body the handler reads. `encounter-start` also requires `context.encounterId`. */
function requestSchemaFor(definition: Nqo1RiskDefinition) {
  const fhirId = (name: string) =>
    z.string().regex(FHIR_ID, { error: `expected context.${name} to be a FHIR resource id` });
  const patientContext = z.looseObject({ patientId: fhirId('patientId') });
  return z.looseObject({
    hook: z.literal(definition.hook, {
      error: (issue) => `expected hook "${definition.hook}", got ${JSON.stringify(issue.input)}`,
    }),
    hookInstance: z.string().min(1).max(128),
    fhirServer: z.string().optional(),
    fhirAuthorization: fhirAuthorizationSchema.optional(),
    context:
      definition.hook === 'encounter-start'
        ? patientContext.extend({ encounterId: fhirId('encounterId') })
        : patientContext,
    prefetch: z.record(z.string(), z.unknown()).nullable().optional(),
  });
}

type HookRequest = z.infer<ReturnType<typeof requestSchemaFor>>;

/** Creates the handler of `definition`'s hook over the service's dependencies. */
export function createNqo1RiskHandler(deps: ServiceDeps, definition: Nqo1RiskDefinition): RequestHandler {
  const requestSchema = requestSchemaFor(definition);
  return async (req, res) => {
    const request = parseHookRequest(requestSchema, req.body);
    const studies = await resolveStudies(request, definition, deps, res);
    const { candidates, skipped } = scanCtStudies(studies, request.context.patientId);
    const [newest, ...older] = candidates;
    if (UNEXPECTED_SKIP_REASONS.some((reason) => skipped[reason] !== undefined)) {
      // Counts only: the skipped resources may belong to other patients.
      requestContext(res).log.warn(
        { skipped, studySelected: newest !== undefined },
        'imaging studies in the prefetch skipped',
      );
    }
    if (newest === undefined) {
      res.json({ cards: [] } satisfies CdsResponse);
      return;
    }

    const locale = negotiateLocale(
      req.get('accept-language'),
      (languages) => req.acceptsLanguages(languages),
      deps.config.locale,
    );
    const cardContext = (studyInstanceUid: string): CardContext => ({
      studyInstanceUid,
      modelCard: deps.modelCard,
      locale,
      smartAppUrl: deps.config.smartAppUrl,
      retryFailedAfterMs: deps.config.jobs.retryFailedAfterMs,
      ...(deps.config.viewerUrlTemplate === undefined
        ? {}
        : { viewerUrlTemplate: deps.config.viewerUrlTemplate }),
    });
    const context = cardContext(newest.studyInstanceUid);
    // The FHIR server the patient and study ids belong to; readStudies has checked it against the allowlist.
    const fhirBase = fhirBaseKey(request.fhirServer ?? deps.config.fhir.baseUrl);
    const job = jobFor(newest, request.context.patientId, deps, fhirBase);

    // A stored analysis is bound to the patient it was computed for. The same Study Instance UID in
    // another patient's prefetch means the PACS or EHR links one study to two records, so no result
    // is shown and nothing is enqueued until IT resolves it. The log names only the study.
    let stored = await deps.store.getResult(job);
    // A study that the PACS announced was stored without FHIR ids; the first hook for it binds them.
    if (stored !== undefined && stored.job.patientId === undefined)
      stored = await deps.store.bindFhirIds(job);
    if (stored !== undefined && !sameChartRecord(stored.job, job, deps)) {
      requestContext(res).log.warn(
        { studyInstanceUid: newest.studyInstanceUid },
        'study already analysed for another patient record; result withheld',
      );
      res.json({ cards: [buildPatientConflictCard(context)] } satisfies CdsResponse);
      return;
    }

    // A new study is enqueued; a failed one is requeued once its retry interval has passed.
    if (stored === undefined || stored.status === 'failed') {
      if ((await deps.queue.enqueue(job)) !== 'exists') stored = undefined;
    }

    // While the newest study waits or runs, a finished result of an older study is shown, marked as such.
    let card: CdsCard;
    if (stored === undefined || stored.status === 'pending' || stored.status === 'running') {
      const previous = await findOlderResult(older, job, deps);
      card =
        previous === undefined
          ? buildInProgressCard(context)
          : buildOlderStudyResultCard(
              cardContext(previous.study.studyInstanceUid),
              previous.analysis.result,
              previous.analysis.id,
              {
                ...(previous.study.started === undefined
                  ? {}
                  : { resultStudyStarted: previous.study.started }),
                ...(newest.started === undefined ? {} : { newestStudyStarted: newest.started }),
              },
            );
    } else {
      card = buildCard(context, (await recordedInChart(stored, job, deps)) ?? stored);
    }
    res.json({ cards: [card] } satisfies CdsResponse);
  };
}

function jobFor(
  study: CandidateStudy,
  patientId: string,
  deps: ServiceDeps,
  fhirServer: string,
): AnalysisJob {
  return {
    studyInstanceUid: study.studyInstanceUid,
    imagingStudyId: study.imagingStudyId,
    patientId,
    fhirServer,
    modelId: deps.modelCard.id,
    modelVersion: deps.modelCard.version,
  };
}

/**
 * Returns the analysis of the study that a clinician recorded in the chart, when it is another one
 * than `automatic` (a series the user requested in the app). The chart then has that analysis's
 * result as final, so the card shows the same result, with the series line saying it was requested,
 * and its link opens that analysis.
 */
async function recordedInChart(
  automatic: StoredAnalysis,
  job: AnalysisJob,
  deps: ServiceDeps,
): Promise<StoredAnalysis | undefined> {
  const record = await deps.store.chartRecords.latestForStudy(job);
  if (record === undefined || record.analysisId === automatic.id) return undefined;
  const recorded = await deps.store.getById(record.analysisId);
  return recorded?.status === 'done' && sameChartRecord(recorded.job, job, deps) ? recorded : undefined;
}

/**
 * Returns true when a stored job belongs to the same patient record as `job`: the same Patient id on
 * the same FHIR server. Patient ids of two EHRs (say a test and a production one) may collide.
 */
function sameChartRecord(stored: AnalysisJob, job: AnalysisJob, deps: ServiceDeps): boolean {
  const base = deps.config.fhir.baseUrl;
  return (
    stored.patientId === job.patientId &&
    sameFhirBase(analysisFhirBase(stored, base), analysisFhirBase(job, base))
  );
}

/**
 * The newest of `older` (sorted newest first) with a finished result of the current model version for
 * this patient. A result stored for another patient record is passed over, as on the newest study.
 */
async function findOlderResult(
  older: readonly CandidateStudy[],
  newestJob: AnalysisJob,
  deps: ServiceDeps,
): Promise<{ study: CandidateStudy; analysis: Extract<StoredAnalysis, { status: 'done' }> } | undefined> {
  for (const study of older.slice(0, MAX_OLDER_STUDIES_CHECKED)) {
    const job = jobFor(
      study,
      newestJob.patientId ?? '',
      deps,
      newestJob.fhirServer ?? deps.config.fhir.baseUrl,
    );
    const analysis = await deps.store.getResult(job);
    if (analysis?.status === 'done' && sameChartRecord(analysis.job, job, deps)) return { study, analysis };
  }
  return undefined;
}

function parseHookRequest(schema: ReturnType<typeof requestSchemaFor>, body: unknown): HookRequest {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
  );
  throw new Nqo1Error('ERR_REQUEST_INVALID', `Invalid CDS Hooks request: ${problems.join('; ')}`);
}

/**
 * Returns `prefetch.studies` when it holds the whole search result. A `fhirServer` outside the
 * allowlist is rejected with `ERR_URL_NOT_ALLOWED` (403) first, before anything connects to it. The
 * prefetch is unusable when it is:
 * - absent or `null`: the client did not prefetch;
 * - an OperationOutcome: the client's prefetch query failed (CDS Hooks 2.0 allows this);
 * - a searchset Bundle with a `next` link: only the first page. Picking the newest study from it
 *   could show a stale result as the current one when the FHIR server ignored `_sort=-started`.
 *
 * Then, when the request has both `fhirServer` and `fhirAuthorization`, the studies are read from
 * the FHIR server with that token ({@link readStudiesFromFhir}); a failed read is
 * `ERR_FHIR_FAILED` (502). Without either, the call is rejected with `ERR_PREFETCH_MISSING` (412).
 */
async function resolveStudies(
  request: HookRequest,
  definition: Nqo1RiskDefinition,
  deps: ServiceDeps,
  res: Response,
): Promise<unknown> {
  const fhirServer =
    request.fhirServer === undefined
      ? undefined
      : assertUrlAllowed(request.fhirServer, deps.config.fhir.allowedBaseUrls, 'FHIR');

  const studies = request.prefetch?.studies;
  const state = classifyStudiesPrefetch(studies);
  if (state.kind === 'complete') return studies;

  logUnusablePrefetch(state, res);
  if (fhirServer !== undefined && request.fhirAuthorization !== undefined) {
    const read = await readStudiesFromFhir({
      fhirServer,
      accessToken: request.fhirAuthorization.access_token,
      patientId: request.context.patientId,
      timeoutMs: deps.config.fhir.timeoutMs,
    });
    // Counts only: no URL (its query names the patient) and never the token.
    requestContext(res).log.info(
      { prefetchKey: 'studies', pages: read.pages, entries: read.bundle.entry.length },
      'studies read from fhirServer',
    );
    return read.bundle;
  }

  const fix =
    `configure the EHR to send the prefetch "studies" (${definition.prefetch.studies}) ` +
    'from the discovery response, or to send fhirServer and fhirAuthorization so that the service reads them.';
  switch (state.kind) {
    case 'absent':
      throw new Nqo1Error('ERR_PREFETCH_MISSING', `prefetch.studies is missing: ${fix}`);
    case 'failed':
      throw new Nqo1Error(
        'ERR_PREFETCH_MISSING',
        `prefetch.studies is an OperationOutcome, so the EHR could not run the prefetch query: ${fix}`,
      );
    case 'paginated':
      throw new Nqo1Error(
        'ERR_PREFETCH_MISSING',
        'prefetch.studies is one page of a paginated search (Bundle.link "next"), so newer studies may be ' +
          `on later pages: ${fix} Or return all matches in one Bundle, e.g. with a larger _count.`,
      );
  }
}

/** Logs why the prefetch is not used; its `next` link is never followed and not logged. */
function logUnusablePrefetch(
  state: Exclude<StudiesPrefetchState, { kind: 'complete' }>,
  res: Response,
): void {
  switch (state.kind) {
    case 'absent':
      return;
    case 'failed':
      // Issue codes only: the diagnostics text of the client's outcome may name the patient.
      requestContext(res).log.warn(
        { prefetchKey: 'studies', issueCodes: state.issueCodes },
        'studies prefetch is an OperationOutcome; the client could not prefetch',
      );
      return;
    case 'paginated':
      // The next link is not logged: its query names the patient.
      requestContext(res).log.warn(
        { prefetchKey: 'studies', entriesOnPage: state.entryCount },
        'studies prefetch is one page of a paginated search; treated as incomplete',
      );
      return;
  }
}
