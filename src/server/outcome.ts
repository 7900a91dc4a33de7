/**
 * The one mapping from any thrown value to an HTTP status and a FHIR OperationOutcome, and the
 * Express error middleware that sends it.
 *
 * Client errors (4xx) carry the error's message, which names the bad value and the fix. Server and
 * dependency errors (5xx) carry only a generic text and the request id: the details go to the log,
 * never to the caller. A 401 for a missing or invalid token of this service (`ERR_UNAUTHORIZED`) has
 * an empty body, so a probe learns nothing about why it failed. A 401 for a token that the FHIR
 * server rejected (`ERR_FHIR_TOKEN_REJECTED`) carries its outcome, so the SMART app can tell an
 * expired session from a denied access.
 *
 * `details.text` is the one-line description of the error code, in English from `src/errors.ts` or
 * in Simplified Chinese from `src/error-text.ts`. `Accept-Language` selects the language, and the
 * site's `locale` is the default. The generic `diagnostics` of a 500, 502 or 504 is in the same
 * language.
 *
 * LIMITATION: the `diagnostics` of a 4xx or a 501 is the error's English message, because the
 * messages name values and fixes in English where they are thrown. A Chinese message catalogue
 * per error code, with the values as parameters, would let them follow the locale too.
 *
 * @see https://hl7.org/fhir/R4/operationoutcome.html
 */

import type { ErrorRequestHandler } from 'express';

import { negotiateLocale } from '../../cds-services/nqo1-risk/messages.js';
import { errorCodeText } from '../error-text.js';
import { type ErrorCode, isNqo1Error } from '../errors.js';
import type { Locale } from './config.js';
import { requestContext, truncateForLog } from './logger.js';

/** FHIR IssueType codes used here (value set http://hl7.org/fhir/issue-type). */
export type IssueType =
  | 'invalid'
  | 'required'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'business-rule'
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
  /** Undefined for the 401 of `ERR_UNAUTHORIZED`, which is sent with an empty body. */
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
  ERR_FHIR_TOKEN_REJECTED: [401, 'login'],
  ERR_STORE_UNAVAILABLE: [503, 'transient'],
  ERR_ANALYSIS_ACCESS_DENIED: [403, 'forbidden'],
  ERR_ANALYSIS_NOT_LINKED: [409, 'conflict'],
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
  ERR_RESULT_NOT_RECORDABLE: [409, 'business-rule'],
  ERR_CHART_CHANGED: [409, 'conflict'],
  ERR_CHART_WRITE_REFUSED: [403, 'forbidden'],
  ERR_CHART_PROVENANCE_FAILED: [502, 'transient'],
  ERR_CONFIG_INVALID: [500, 'exception'],
  ERR_INTERNAL: [500, 'exception'],
};

/** Second sentence of a 5xx `diagnostics`, after the generic description of the error code. */
const REPORT_REQUEST_ID: Readonly<Record<Locale, (requestId: string) => string>> = {
  en: (requestId) => `Quote request id ${requestId} when reporting this to hospital IT.`,
  'zh-CN': (requestId) => `向医院信息科报告此问题时，请提供请求编号 ${requestId}。`,
};

/**
 * Diagnostics of a body-parser 400, by the parser's error `type`. Every route with a JSON body
 * (hooks, feedback, PACS notifications, analysis requests) shares them, so they name no route.
 */
const BODY_PARSER_400_DIAGNOSTICS: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'The request body is not valid JSON; send a JSON body as application/json.',
  'charset.unsupported': 'The charset of the request body is not supported; send the JSON body in UTF-8.',
  // body-parser 2.4 decompresses gzip, deflate and br (and zstd where Node has it).
  'encoding.unsupported':
    'The Content-Encoding of the request body is not supported; send the body uncompressed, ' +
    'or compressed with gzip, deflate or br.',
};

/**
 * Maps any thrown value to a status and an OperationOutcome whose `details.text` is in `locale`.
 *
 * A dependency error whose `details.timedOut` is true, or whose cause is a `TimeoutError`, becomes
 * 504. Body-parser errors (invalid JSON, unsupported charset or encoding, body too large) become
 * 400 and 413. Anything else is 500.
 */
export function mapError(error: unknown, requestId: string, locale: Locale = 'en'): MappedError {
  if (isNqo1Error(error)) {
    const [baseStatus, issueType] = STATUS_BY_CODE[error.code] ?? [500, 'exception'];
    const timedOut = error.details.timedOut === true || isTimeoutError(error.cause);
    const status = baseStatus === 502 && timedOut ? 504 : baseStatus;

    if (error.code === 'ERR_UNAUTHORIZED') return { status, outcome: undefined, code: error.code };
    // 501 keeps its message: it names the missing function, which is no internal detail.
    if (status >= 500 && status !== 501) {
      return serverError(status, status === 504 ? 'timeout' : issueType, error.code, requestId, locale);
    }
    return {
      status,
      outcome: buildOutcome(issueType, error.code, error.message, locale),
      code: error.code,
    };
  }

  const bodyParserType = bodyParserErrorType(error);
  if (bodyParserType === 'entity.too.large') {
    const message =
      `The request body exceeds the limit of ${formatLimit(bodyLimitBytes(error))}; ` +
      'send a smaller body: a hook call with only the resources its prefetch templates ask for, ' +
      'a feedback call with fewer entries.';
    return {
      status: 413,
      outcome: buildOutcome('too-costly', 'ERR_REQUEST_TOO_LARGE', message, locale),
      code: 'ERR_REQUEST_TOO_LARGE',
    };
  }
  const invalidBodyMessage =
    bodyParserType === undefined ? undefined : BODY_PARSER_400_DIAGNOSTICS[bodyParserType];
  if (invalidBodyMessage !== undefined) {
    return {
      status: 400,
      outcome: buildOutcome('invalid', 'ERR_REQUEST_INVALID', invalidBodyMessage, locale),
      code: 'ERR_REQUEST_INVALID',
    };
  }

  return serverError(500, 'exception', 'ERR_INTERNAL', requestId, locale);
}

/**
 * Builds a one-issue OperationOutcome with the error code as its `details` coding and the code's
 * description in `locale` as its `details.text`.
 */
export function buildOutcome(
  issueType: IssueType,
  code: ErrorCode,
  diagnostics: string,
  locale: Locale = 'en',
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issueType,
        details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: errorCodeText(code, locale) },
        diagnostics,
      },
    ],
  };
}

/**
 * Express error middleware: logs the error code and the message (for 4xx the diagnostics sent to
 * the caller) with the request id, and sends the mapped outcome as `application/fhir+json` in the
 * locale that `Accept-Language` selects, else in `defaultLocale` (the site's `locale`).
 */
export function errorHandler(defaultLocale: Locale = 'en'): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }

    const { requestId, log } = requestContext(res);
    const locale = negotiateLocale(
      req.get('accept-language'),
      (languages) => req.acceptsLanguages(languages),
      defaultLocale,
    );
    const mapped = mapError(error, requestId, locale);
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
    // RFC 6750 §3.1: a bearer token that failed where it was used is an `invalid_token`.
    if (mapped.code === 'ERR_FHIR_TOKEN_REJECTED')
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    if (mapped.outcome === undefined) {
      res.end();
      return;
    }
    res.type('application/fhir+json').send(JSON.stringify(mapped.outcome));
  };
}

function serverError(
  status: number,
  issueType: IssueType,
  code: ErrorCode,
  requestId: string,
  locale: Locale,
): MappedError {
  const diagnostics = `${errorCodeText(code, locale)} ${REPORT_REQUEST_ID[locale](requestId)}`;
  return { status, outcome: buildOutcome(issueType, code, diagnostics, locale), code };
}

function isTimeoutError(cause: unknown): boolean {
  return cause instanceof Error && cause.name === 'TimeoutError';
}

/** Returns the `type` of an error raised by Express's JSON body parser, such as `entity.parse.failed`. */
function bodyParserErrorType(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  return typeof error.type === 'string' ? error.type : undefined;
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
