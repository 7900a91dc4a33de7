/**
 * Typed errors of NQO1 CDS.
 *
 * Every failure that a caller, a clinician or hospital IT can act on is an {@link Nqo1Error} with a
 * stable `code`. The message names the offending value and the fix. The HTTP edge maps the
 * code to a status and a FHIR OperationOutcome in one place (`src/server/outcome.ts`); the numeric
 * core only throws. `TypeError` stays reserved for programming mistakes.
 */

/** Stable error codes, grouped by the pipeline stage that raises them. */
export const ERROR_CODES = {
  // DICOM and image input
  ERR_DICOM_MALFORMED: 'The DICOM file could not be parsed.',
  ERR_DICOM_UNSUPPORTED: 'The DICOM object uses an encoding or SOP class this release does not read.',
  ERR_SERIES_EMPTY: 'No image of the requested series was found.',
  ERR_SERIES_GEOMETRY: 'The slices do not form one regular volume.',
  ERR_SERIES_MIXED: 'The files belong to more than one series, study or frame of reference.',
  ERR_REQUESTED_SERIES_INVALID: 'The requested series is not a CT series of the study.',
  ERR_NRRD_MALFORMED: 'The NRRD file could not be parsed.',
  ERR_NIFTI_MALFORMED: 'The NIfTI file could not be parsed.',
  ERR_INPUT_TOO_LARGE: 'The input exceeds a configured size limit (voxels, bytes or instances).',
  ERR_IMAGE_VALUES: 'The image contains a value the engine cannot use (NaN or infinity) inside the region.',

  // Masks and regions of interest
  ERR_MASK_EMPTY: 'The mask contains no voxel of the requested label.',
  ERR_MASK_GEOMETRY: 'The mask does not lie on the image grid.',
  ERR_SEG_MALFORMED: 'The DICOM SEG object is incomplete or inconsistent.',
  ERR_RTSTRUCT_MALFORMED: 'The RT Structure Set is incomplete or references images that are not present.',
  ERR_SEGMENTATION_MISSING: 'The study has no segmentation of the selected CT series.',
  ERR_REQUESTED_SEGMENTATION_INVALID:
    'The requested segmentation is not a SEG or RTSTRUCT instance of the study.',
  ERR_SEGMENT_SELECTION: 'No single segment of the segmentation matches the request.',
  ERR_ROI_TOO_SMALL: 'The region of interest has too few dimensions or voxels for texture features.',

  // Radiomics settings
  ERR_SETTINGS_INVALID: 'A radiomics setting is invalid.',
  ERR_TOO_MANY_GRAY_LEVELS: 'Discretisation would produce more gray levels than the engine allows.',

  // Model cards
  ERR_MODEL_CARD_INVALID: 'The model card does not match the model card schema.',
  ERR_MODEL_FEATURE_MISSING: 'A feature the model needs was not computed.',
  ERR_CALIBRATION_COHORT: 'The cohort cannot give the scaling, fit or statistic asked for.',
  ERR_MODEL_NOT_CALIBRATED: 'The model card gives no probability: it lacks a site scaling or coefficients.',

  // Configuration
  ERR_CONFIG_INVALID: 'The configuration does not match its schema.',

  // HTTP and integration edges
  ERR_REQUEST_INVALID: 'The request is invalid.',
  ERR_REQUEST_TOO_LARGE: 'The request body exceeds the size limit of this service.',
  ERR_UNAUTHORIZED: 'The request is not authorized.',
  ERR_PREFETCH_MISSING: 'The hook request lacks the prefetch this service needs.',
  ERR_URL_NOT_ALLOWED: 'The URL is not on the configured allowlist.',
  ERR_NOT_FOUND: 'The requested resource does not exist.',
  ERR_NOT_IMPLEMENTED: 'This function is not implemented in this release.',
  ERR_DICOMWEB_FAILED: 'The DICOMweb server did not return what was requested.',
  ERR_FHIR_FAILED: 'The FHIR server did not return what was requested.',
  ERR_FHIR_REJECTED: 'The FHIR server refused the write-back in a way that sending it again cannot mend.',
  ERR_FHIR_ACCESS_DENIED: 'The FHIR server denied the access token for the requested resource.',
  ERR_FHIR_TOKEN_REJECTED: 'The FHIR server rejected the access token as expired or invalid.',
  ERR_ANALYSIS_ACCESS_DENIED:
    'The ImagingStudy read with the access token is not the study or patient of the stored analysis.',
  ERR_ANALYSIS_NOT_LINKED: 'The stored analysis is not yet linked to an EHR imaging study and patient.',
  ERR_PATIENT_CONFLICT: 'The study or its stored result belongs to another patient record.',
  ERR_RESULT_NOT_RECORDABLE: 'The analysis has no probability that a clinician could record in the chart.',
  ERR_CHART_CHANGED: "The chart's Observation changed after the result was shown.",
  ERR_CHART_WRITE_REFUSED: "The FHIR server refused the clinician's write to the chart.",
  ERR_CHART_PROVENANCE_FAILED:
    'The result was recorded in the chart, but the Provenance naming the clinician could not be written.',
  ERR_STORE_UNAVAILABLE: 'The result store or job queue database is unreachable.',
  ERR_INTERNAL: 'An unexpected internal error occurred.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Structured facts about a failure, safe to log: UIDs, counts and setting names, never identifiers. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | readonly number[] | null>>;

export interface Nqo1ErrorOptions {
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
}

/** An error with a stable code, a message that names the bad value and the fix, and its cause. */
export class Nqo1Error extends Error {
  override readonly name = 'Nqo1Error';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: Nqo1ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Returns true when `error` is an {@link Nqo1Error}, optionally with the given code. */
export function isNqo1Error(error: unknown, code?: ErrorCode): error is Nqo1Error {
  return error instanceof Nqo1Error && (code === undefined || error.code === code);
}

/** Describes an unknown thrown value for a log line, without its stack or any payload. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Nqo1Error) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'ERR_INTERNAL', message: `${error.name}: ${error.message}` };
  return { code: 'ERR_INTERNAL', message: 'non-Error value thrown' };
}
