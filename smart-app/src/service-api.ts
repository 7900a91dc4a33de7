/**
 * Client of the service routes the app reads and of the analysis request, with the parts of their
 * JSON bodies it uses.
 * The types mirror `ScoreResult` (src/model/result.ts) and the model card schema
 * (src/model/card-schema.ts) of the service, which this browser build cannot import.
 */

export type AnalysisStatus = 'pending' | 'running' | 'done' | 'failed';

export interface SeriesSelectionView {
  readonly reason: string;
  readonly seriesDescription: string;
  readonly seriesNumber: number | null;
  /** Every CT series considered; absent in results stored before the service recorded them. */
  readonly candidates?: readonly SeriesCandidateView[];
}

/** One CT series of the study and what the selection rules made of it (`SeriesCandidate`). */
export interface SeriesCandidateView {
  readonly seriesInstanceUid: string;
  readonly seriesNumber: number | null;
  readonly seriesDescription: string;
  readonly instanceCount: number | null;
  readonly sliceThicknessMm: number | null;
  readonly convolutionKernel: string | null;
  readonly outcome: 'chosen' | 'ranked' | 'excluded';
  readonly rule: string;
  readonly pattern?: string;
}

export interface ScoreResultView {
  readonly model: { readonly id: string; readonly version: string };
  readonly features: Readonly<Record<string, number>>;
  readonly calibrated: boolean;
  readonly probability: number | null;
  readonly probabilityUnavailableReason: 'uncalibrated' | 'coefficients-missing' | null;
  readonly threshold: number;
  readonly class: 'high' | 'low' | null;
  /**
   * Each feature scaled by the card, z = (x − μ) / σ; null without a scaling, absent in results stored
   * before the service recorded it.
   */
  readonly scaledFeatures?: Readonly<Record<string, number>> | null;
  /** Each feature's term coefficient × scaled value in the linear predictor; null without calibration. */
  readonly contributions: Readonly<Record<string, number>> | null;
  readonly provenance: {
    readonly dilationMm: number;
    readonly seriesSelection?: SeriesSelectionView;
  };
}

/** A clinician's record of a study's result in the chart (`ChartRecordSummary` of the service). */
export interface ChartRecordView {
  /** The analysis whose result was recorded; another analysis of the same study is possible. */
  readonly analysisId: string;
  readonly observationId: string;
  readonly status: 'final' | 'amended';
  readonly clinician: { readonly reference: string; readonly display?: string };
  readonly recordedAt: string;
}

/** Body of `GET /api/analyses/{id}`. */
export interface AnalysisView {
  readonly id: string;
  readonly status: AnalysisStatus;
  readonly studyInstanceUid: string;
  /** Logical id of the row's FHIR ImagingStudy, which `POST /api/analyses` needs. */
  readonly imagingStudyId?: string;
  /** The CT series a user requested; absent for the service's automatic choice. */
  readonly seriesInstanceUid?: string;
  readonly result?: ScoreResultView;
  readonly failure?: { readonly code: string; readonly message: string };
  /** The latest record of the study's result in the chart; absent before any. */
  readonly chartRecord?: ChartRecordView;
}

export interface LocalizedText {
  readonly en: string;
  readonly 'zh-CN': string;
}

export interface Estimate {
  readonly value: number;
  readonly ci?: { readonly lower: number; readonly upper: number; readonly level: number };
  readonly cohort?: string;
}

/** Body of `GET /api/model-card`: the card's public fields that the app shows. */
export interface ModelCardView {
  readonly title: LocalizedText;
  readonly version: string;
  readonly threshold: number;
  readonly citation: { readonly text: string; readonly url?: string };
  readonly intendedUse: LocalizedText;
  readonly limitations: readonly LocalizedText[];
  readonly features: readonly { readonly name: string; readonly region: 'tumour' | 'peri' }[];
  readonly performance?: { readonly auc?: Estimate; readonly externalAuc?: Estimate };
  readonly evidence?: readonly {
    readonly kind: string;
    readonly description: LocalizedText;
    readonly estimate?: Estimate;
  }[];
  /** The site scaling of the loaded card and the cohort it was computed on; null scaling until calibrated. */
  readonly calibration?: {
    readonly scaling: {
      readonly cohort: {
        readonly description: string;
        readonly caseCount: number;
        /** ISO 8601 time of the calibration. */
        readonly createdAt: string;
        /** True for a generated demo cohort: such a card is never for clinical use. */
        readonly synthetic: boolean;
      };
    } | null;
  };
}

/**
 * Reason a request gave no usable body beyond its HTTP status. `unreachable`: no response came,
 * because the service is down or the network or a policy blocked the request. `malformed`: a 2xx
 * body is not the JSON the app expects.
 */
export type FetchProblem = 'unreachable' | 'malformed';

/** Outcome of one request: the body on 200, else the HTTP status (0 without a response). */
export type Fetched<T> =
  | { readonly ok: true; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly problem?: FetchProblem };

/**
 * Reads one stored analysis with the launch's access token, which the service uses to read the
 * ImagingStudy from `fhirServer` and so check the user's access. With the launch's `patient`, the
 * service returns 409 when the analysis belongs to another patient.
 */
export async function fetchAnalysis(
  analysisId: string,
  fhirServer: string,
  accessToken: string,
  patientId: string,
): Promise<Fetched<AnalysisView>> {
  const query = new URLSearchParams({ fhirServer, patient: patientId }).toString();
  const url = `/api/analyses/${encodeURIComponent(analysisId)}?${query}`;
  const fetched = await fetchJson<unknown>(url, { Authorization: `Bearer ${accessToken}` });
  if (fetched.ok && !isAnalysisView(fetched.body)) {
    return { ok: false, status: 200, problem: 'malformed' };
  }
  return fetched as Fetched<AnalysisView>;
}

const ANALYSIS_STATUSES: ReadonlySet<unknown> = new Set<AnalysisStatus>([
  'pending',
  'running',
  'done',
  'failed',
]);

/**
 * Checks the fields that decide which screen the app shows: an object with a known `status` and a
 * string `studyInstanceUid`, and for `done` a `result` with a `features` object.
 */
function isAnalysisView(body: unknown): body is AnalysisView {
  if (typeof body !== 'object' || body === null) return false;
  const view = body as Partial<Record<keyof AnalysisView, unknown>>;
  if (!ANALYSIS_STATUSES.has(view.status) || typeof view.studyInstanceUid !== 'string') return false;
  if (view.status !== 'done') return true;
  const result = view.result;
  if (typeof result !== 'object' || result === null || !('features' in result)) return false;
  return typeof result.features === 'object' && result.features !== null;
}

/** Body of `GET /api/analyses`: the patient's studies and their stored analyses, most recent first. */
export interface AnalysisSearchView {
  readonly studies: readonly {
    readonly imagingStudyId: string;
    readonly studyInstanceUid: string;
    readonly started?: string;
  }[];
  readonly analyses: readonly AnalysisView[];
}

/**
 * Finds the stored analyses of the launch patient, of one study when the launch named one, with the
 * launch's access token, which the service uses to search or read the patient's ImagingStudy
 * resources on `fhirServer`.
 */
export async function searchAnalyses(
  fhirServer: string,
  accessToken: string,
  patientId: string,
  study: { readonly imagingStudy: string } | { readonly studyInstanceUid: string } | undefined,
): Promise<Fetched<AnalysisSearchView>> {
  const query = new URLSearchParams({ fhirServer, patient: patientId, ...study }).toString();
  return await fetchJson<AnalysisSearchView>(`/api/analyses?${query}`, {
    Authorization: `Bearer ${accessToken}`,
  });
}

/** One stored region picture: an axial slice with the tumour outline and the peritumoral ring. */
export interface OverlaySliceInfo {
  readonly sliceIndex: number;
  readonly tumourVoxelCount: number;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly window: { readonly levelHu: number; readonly widthHu: number };
}

/** Lists the region pictures of an analysis, with the same proof of access as the analysis read. */
export async function fetchOverlayList(
  analysisId: string,
  fhirServer: string,
  accessToken: string,
): Promise<Fetched<{ readonly slices: readonly OverlaySliceInfo[] }>> {
  const url =
    `/api/analyses/${encodeURIComponent(analysisId)}/overlay` +
    `?fhirServer=${encodeURIComponent(fhirServer)}`;
  return await fetchJson(url, { Authorization: `Bearer ${accessToken}` });
}

/**
 * Reads one region picture as a PNG blob. An `<img src>` cannot send the bearer token, so the app
 * fetches the picture and shows it through an object URL.
 */
export async function fetchOverlaySlice(
  analysisId: string,
  sliceIndex: number,
  fhirServer: string,
  accessToken: string,
): Promise<Fetched<Blob>> {
  const url =
    `/api/analyses/${encodeURIComponent(analysisId)}/overlay/${sliceIndex}` +
    `?fhirServer=${encodeURIComponent(fhirServer)}`;
  const response = await fetch(url, {
    headers: { Accept: 'image/png', Authorization: `Bearer ${accessToken}` },
  });
  if (!response.ok) return { ok: false, status: response.status };
  return { ok: true, body: await response.blob() };
}

/** Outcome of the record: the record on 200, else the HTTP status (0 without a response) and error code. */
export type RecordOutcome =
  | { readonly ok: true; readonly body: ChartRecordView }
  | { readonly ok: false; readonly status: number; readonly code?: string };

/**
 * Asks the service to record the analysis's result in the chart as final, confirmed by `clinician`
 * (the launch's `fhirUser`). The service writes with the launch's access token.
 */
export async function postChartRecord(
  analysisId: string,
  fhirServer: string,
  accessToken: string,
  patientId: string,
  clinician: string,
): Promise<RecordOutcome> {
  const query = new URLSearchParams({ fhirServer, patient: patientId }).toString();
  let response: Response;
  try {
    response = await fetch(`/api/analyses/${encodeURIComponent(analysisId)}/record?${query}`, {
      method: 'POST',
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        Authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({ clinician }),
    });
  } catch {
    return { ok: false, status: 0 };
  }
  if (response.ok) return { ok: true, body: (await response.json()) as ChartRecordView };
  const code = await errorCodeOf(response);
  return code === undefined
    ? { ok: false, status: response.status }
    : { ok: false, status: response.status, code };
}

/** Reads the public fields of the model card; the route needs no token. */
export async function fetchModelCard(): Promise<Fetched<ModelCardView>> {
  return await fetchJson<ModelCardView>('/api/model-card', {});
}

/** Body of `GET /smart-app/config.json`. */
export interface AppSettings {
  readonly clientId: string;
  /** The service's `fhir.allowedBaseUrls`; a launch with another `iss` is not started. */
  readonly fhirBaseUrls: readonly string[];
  /** Viewer URL containing `{{studyInstanceUid}}`; absent when the site configured no viewer. */
  readonly viewerUrlTemplate?: string;
  /** FHIR base of a launch without `iss` (`smartApp.standaloneFhirBaseUrl`); absent when unset. */
  readonly standaloneFhirBaseUrl?: string;
}

/** Reads the settings the service serves for the app. */
export async function fetchAppSettings(): Promise<Fetched<AppSettings>> {
  return await fetchJson<AppSettings>('config.json', {});
}

/** Outcome of `POST /api/analyses`: the new or existing row, or the HTTP status with the error code. */
export type AnalysisRequestOutcome =
  | { readonly ok: true; readonly analysisId: string }
  | { readonly ok: false; readonly status: number; readonly code: string | undefined };

/**
 * Requests the analysis of another CT series of the study with the launch's access token, which the
 * service uses to read the ImagingStudy from `fhirServer`. The service responds with 202 and the new
 * row's id, or 200 with the row when the same series was requested before. Status 0 means that the
 * service could not be reached.
 */
export async function requestAnalysis(
  fhirServer: string,
  imagingStudyId: string,
  seriesInstanceUid: string,
  accessToken: string,
): Promise<AnalysisRequestOutcome> {
  let response: Response;
  try {
    response = await fetch('/api/analyses', {
      method: 'POST',
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        Authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({ fhirServer, imagingStudyId, seriesInstanceUid }),
    });
  } catch (error) {
    console.warn('the analysis request did not reach the service', error);
    return { ok: false, status: 0, code: undefined };
  }

  if (response.status === 200 || response.status === 202) {
    const body = (await response.json()) as { readonly id: string };
    return { ok: true, analysisId: body.id };
  }
  return { ok: false, status: response.status, code: await errorCodeOf(response) };
}

/** Returns the error code of an OperationOutcome body, or undefined for any other body. */
async function errorCodeOf(response: Response): Promise<string | undefined> {
  try {
    const outcome = (await response.json()) as {
      readonly issue?: readonly {
        readonly details?: { readonly coding?: readonly { readonly code?: unknown }[] };
      }[];
    };
    const code = outcome.issue?.[0]?.details?.coding?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch (error) {
    // A proxy's HTML error page is not JSON; the status alone then names the failure.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Sends a GET and parses its JSON body. A request that gets no response and a 2xx body that is not
 * JSON are returned as failures, so that the caller shows a service error rather than a crash.
 */
async function fetchJson<T>(url: string, headers: Readonly<Record<string, string>>): Promise<Fetched<T>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json', ...headers } });
  } catch (error) {
    // fetch rejects with a TypeError when no response arrives; the status is then unknown.
    console.warn(`GET ${url.split('?')[0]} failed without a response`, error);
    return { ok: false, status: 0, problem: 'unreachable' };
  }
  if (!response.ok) return { ok: false, status: response.status };
  try {
    return { ok: true, body: (await response.json()) as T };
  } catch (error) {
    console.warn(`GET ${url.split('?')[0]} returned a body that is not JSON`, error);
    return { ok: false, status: response.status, problem: 'malformed' };
  }
}
