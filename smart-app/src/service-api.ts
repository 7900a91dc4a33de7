/**
 * Client of the two service routes the app reads, with the parts of their JSON bodies it shows.
 * The types mirror `ScoreResult` (src/model/result.ts) and the model card schema
 * (src/model/card-schema.ts) of the service, which this browser build cannot import.
 */

export type AnalysisStatus = 'pending' | 'running' | 'done' | 'failed';

export interface SeriesSelectionView {
  readonly reason: string;
  readonly seriesDescription: string;
  readonly seriesNumber: number | null;
}

export interface ScoreResultView {
  readonly model: { readonly id: string; readonly version: string };
  readonly features: Readonly<Record<string, number>>;
  readonly calibrated: boolean;
  readonly probability: number | null;
  readonly probabilityUnavailableReason: 'uncalibrated' | 'coefficients-missing' | null;
  readonly threshold: number;
  readonly class: 'high' | 'low' | null;
  /** Each feature's term coefficient × scaled value in the linear predictor; null without calibration. */
  readonly contributions: Readonly<Record<string, number>> | null;
  readonly provenance: {
    readonly dilationMm: number;
    readonly seriesSelection?: SeriesSelectionView;
  };
}

/** Body of `GET /api/analyses/{id}`. */
export interface AnalysisView {
  readonly id: string;
  readonly status: AnalysisStatus;
  readonly studyInstanceUid: string;
  readonly result?: ScoreResultView;
  readonly failure?: { readonly code: string; readonly message: string };
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

/** Reads the public fields of the model card; the route needs no token. */
export async function fetchModelCard(): Promise<Fetched<ModelCardView>> {
  return await fetchJson<ModelCardView>('/api/model-card', {});
}

/** Body of `GET /smart-app/config.json`. */
export interface AppSettings {
  readonly clientId: string;
  /** Viewer URL containing `{{studyInstanceUid}}`; absent when the site configured no viewer. */
  readonly viewerUrlTemplate?: string;
}

/** Reads the settings the service serves for the app. */
export async function fetchAppSettings(): Promise<Fetched<AppSettings>> {
  return await fetchJson<AppSettings>('config.json', {});
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
