/**
 * The one mapping from any thrown value to an HTTP status and a FHIR OperationOutcome, and the
 * Express error middleware that sends it.
 *
 * Client errors (4xx) carry the error's message, which names the bad value and the fix. Server and
 * dependency errors (5xx) carry only a generic text and the request id: the details go to the log,
 * never to the caller. A 401 has an empty body, so a probe learns nothing about why it failed.
 *
 * @see https://hl7.org/fhir/R4/operationoutcome.html
 */

import type { ErrorRequestHandler } from 'express';

import { ERROR_CODES, type ErrorCode, isNqo1Error } from '../errors.js';
import { requestContext, truncateForLog } from './logger.js';

/** FHIR IssueType codes used here (value set http://hl7.org/fhir/issue-type). */
export type IssueType =
  | 'invalid'
  | 'required'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'not-supported'
  | 'processing'
  | 'too-costly'
  | 'exception'
  | 'timeout'
  | 'transient';

/** The subset of the FHIR R4 OperationOutcome this service sends. */
export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue: readonly [OperationOutcomeIssue, ...OperationOutcomeIssue[]];
}

export interface OperationOutcomeIssue {
  readonly severity: 'fatal' | 'error' | 'warning' | 'information';
  readonly code: IssueType;
  readonly details: {
    readonly coding: readonly [{ readonly system: string; readonly code: string }];
    readonly text: string;
  };
  readonly diagnostics: string;
}

/** Coding system of the `details` of every issue: the stable {@link ErrorCode}. */
export const ERROR_CODE_SYSTEM = 'urn:nqo1-cds:error-code';

export interface MappedError {
  readonly status: number;
  /** Undefined for 401, which is sent with an empty body. */
  readonly outcome: OperationOutcome | undefined;
  readonly code: ErrorCode;
}

/**
 * HTTP status and issue type per error code. Imaging, mask and model errors are 422: the request was
 * well formed but the study cannot be analysed. `ERR_URL_NOT_ALLOWED` is 403 because the URL came
 * from the request and the service refuses to contact it. Keyed by string so that a code added to
 * `src/errors.ts` compiles at once; a test fails until the code has an entry here.
 */
export const STATUS_BY_CODE: Readonly<Record<string, readonly [number, IssueType]>> = {
  ERR_REQUEST_INVALID: [400, 'invalid'],
  ERR_REQUEST_TOO_LARGE: [413, 'too-costly'],
  ERR_UNAUTHORIZED: [401, 'login'],
  ERR_URL_NOT_ALLOWED: [403, 'forbidden'],
  ERR_FHIR_ACCESS_DENIED: [403, 'forbidden'],
  ERR_NOT_FOUND: [404, 'not-found'],
  ERR_PREFETCH_MISSING: [412, 'required'],
  ERR_DICOM_MALFORMED: [422, 'processing'],
  ERR_DICOM_UNSUPPORTED: [422, 'not-supported'],
  ERR_SERIES_EMPTY: [422, 'processing'],
  ERR_SERIES_GEOMETRY: [422, 'processing'],
  ERR_SERIES_MIXED: [422, 'processing'],
  ERR_REQUESTED_SERIES_INVALID: [422, 'processing'],
  ERR_REQUESTED_SEGMENTATION_INVALID: [422, 'processing'],
  ERR_IMAGE_VALUES: [422, 'processing'],
  ERR_NRRD_MALFORMED: [422, 'processing'],
  ERR_NIFTI_MALFORMED: [422, 'processing'],
  ERR_INPUT_TOO_LARGE: [413, 'too-costly'],
  ERR_MASK_EMPTY: [422, 'processing'],
  ERR_MASK_GEOMETRY: [422, 'processing'],
  ERR_SEG_MALFORMED: [422, 'processing'],
  ERR_RTSTRUCT_MALFORMED: [422, 'processing'],
  ERR_SEGMENTATION_MISSING: [422, 'processing'],
  ERR_SEGMENT_SELECTION: [422, 'processing'],
  ERR_ROI_TOO_SMALL: [422, 'processing'],
  ERR_SETTINGS_INVALID: [422, 'processing'],
  ERR_TOO_MANY_GRAY_LEVELS: [422, 'too-costly'],
  ERR_MODEL_CARD_INVALID: [422, 'processing'],
  ERR_MODEL_FEATURE_MISSING: [422, 'processing'],
  ERR_CALIBRATION_COHORT: [422, 'processing'],
  ERR_MODEL_NOT_CALIBRATED: [409, 'conflict'],
  ERR_NOT_IMPLEMENTED: [501, 'not-supported'],
  ERR_DICOMWEB_FAILED: [502, 'transient'],
  ERR_FHIR_FAILED: [502, 'transient'],
  ERR_FHIR_REJECTED: [502, 'processing'],
  ERR_PATIENT_CONFLICT: [409, 'conflict'],
  ERR_CONFIG_INVALID: [500, 'exception'],
  ERR_INTERNAL: [500, 'exception'],
};

/**
 * Maps any thrown value to a status and an OperationOutcome.
 *
 * A dependency error whose `details.timedOut` is true, or whose cause is a `TimeoutError`, becomes
 * 504. Body-parser errors (invalid JSON, body too large) become 400 and 413. Anything else is 500.
 */
export function mapError(error: unknown, requestId: string): MappedError {
  if (isNqo1Error(error)) {
    const [baseStatus, issueType] = STATUS_BY_CODE[error.code] ?? [500, 'exception'];
    const timedOut = error.details.timedOut === true || isTimeoutError(error.cause);
    const status = baseStatus === 502 && timedOut ? 504 : baseStatus;

    if (status === 401) return { status, outcome: undefined, code: error.code };
    // 501 keeps its message: it names the missing function, which is no internal detail.
    if (status >= 500 && status !== 501) {
      return serverError(status, status === 504 ? 'timeout' : issueType, error.code, requestId);
    }
    return { status, outcome: buildOutcome(issueType, error.code, error.message), code: error.code };
  }

  const bodyParserStatus = bodyParserErrorStatus(error);
  if (bodyParserStatus === 413) {
    const message =
      `The request body exceeds the limit of ${formatLimit(bodyLimitBytes(error))}; ` +
      'send a smaller body: a hook call with only the resources its prefetch templates ask for, ' +
      'a feedback call with fewer entries.';
    return {
      status: 413,
      outcome: buildOutcome('too-costly', 'ERR_REQUEST_TOO_LARGE', message),
      code: 'ERR_REQUEST_TOO_LARGE',
    };
  }
  if (bodyParserStatus === 400) {
    const message = 'The request body is not valid JSON; send a CDS Hooks request as application/json.';
    return {
      status: 400,
      outcome: buildOutcome('invalid', 'ERR_REQUEST_INVALID', message),
      code: 'ERR_REQUEST_INVALID',
    };
  }

  return serverError(500, 'exception', 'ERR_INTERNAL', requestId);
}

/** Builds a one-issue OperationOutcome with the error code as its `details` coding. */
export function buildOutcome(issueType: IssueType, code: ErrorCode, diagnostics: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issueType,
        details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: ERROR_CODES[code] },
        diagnostics,
      },
    ],
  };
}

/**
 * Express error middleware: logs the error code and the message (for 4xx the diagnostics sent to
 * the caller) with the request id, and sends the mapped outcome as `application/fhir+json`.
 */
export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }

    const { requestId, log } = requestContext(res);
    const mapped = mapError(error, requestId);
    const details = isNqo1Error(error) ? error.details : {};
    if (mapped.status >= 500) {
      log.error(
        { code: mapped.code, status: mapped.status, details, err: describeForLog(error) },
        'request failed',
      );
    } else {
      // The diagnostics of a 4xx name the rejected field or value, so IT can see why without the body.
      const reason = mapped.outcome?.issue[0].diagnostics;
      log.warn(
        {
          code: mapped.code,
          status: mapped.status,
          ...(reason === undefined ? {} : { reason: truncateForLog(reason) }),
          details,
        },
        'request rejected',
      );
    }

    res.status(mapped.status);
    if (mapped.outcome === undefined) {
      res.end();
      return;
    }
    res.type('application/fhir+json').send(JSON.stringify(mapped.outcome));
  };
}

function serverError(status: number, issueType: IssueType, code: ErrorCode, requestId: string): MappedError {
  const diagnostics = `${ERROR_CODES[code]} Quote request id ${requestId} when reporting this to hospital IT.`;
  return { status, outcome: buildOutcome(issueType, code, diagnostics), code };
}

function isTimeoutError(cause: unknown): boolean {
  return cause instanceof Error && cause.name === 'TimeoutError';
}

/** Status of an error raised by Express's JSON body parser, recognised by its `type` field. */
function bodyParserErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  if (error.type === 'entity.parse.failed' || error.type === 'encoding.unsupported') return 400;
  if (error.type === 'entity.too.large') return 413;
  return undefined;
}

/** Returns the `limit` in bytes from Express's body-parser 413 error, or undefined when absent. */
function bodyLimitBytes(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('limit' in error)) return undefined;
  return typeof error.limit === 'number' ? error.limit : undefined;
}

/** Formats a byte limit as `5 MB (5242880 bytes)`, or as `the configured size` when unknown. */
function formatLimit(limitBytes: number | undefined): string {
  if (limitBytes === undefined) return 'the configured size';
  const mebibytes = limitBytes / (1024 * 1024);
  if (mebibytes < 1) return `${limitBytes} bytes`;
  return `${Number(mebibytes.toPrecision(3))} MB (${limitBytes} bytes)`;
}

/** Name, message and stack of an error for a server-side log line; the stack helps debug 5xx. */
function describeForLog(error: unknown): Record<string, string> {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? '' };
  return { name: typeof error, message: 'non-Error value thrown' };
}
