/**
 * The service logger: pino, one JSON object per line on stdout (or on an injected stream in tests).
 *
 * What may be logged: request ids, route templates, status codes, durations, error codes, resource
 * ids, DICOM UIDs and counts. Never tokens, prefetch bodies, pixel data, patient identifiers or a
 * clinician's feedback comment. The code logs only such fields. The redaction list below is a second
 * line of defence: it censors the sensitive paths if an object that contains them is ever logged.
 */

import { randomUUID } from 'node:crypto';

import type { NextFunction, Request, Response } from 'express';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever they occur at the top level or one object below it. */
const SENSITIVE_KEYS = [
  'authorization',
  'Authorization',
  'token',
  'accessToken',
  'access_token',
  'fhirAuthorization',
  'prefetch',
  'patient',
  'name',
  'birthDate',
  'identifier',
  'userComment',
] as const;

export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`]),
];

export interface CreateLoggerOptions {
  /** Minimum level; defaults to `info`. */
  readonly level?: string;
  /** Destination of the JSON lines; defaults to stdout. Tests pass a stream that collects them. */
  readonly destination?: DestinationStream;
}

/** Creates the root logger with redaction and ISO timestamps. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    base: { service: 'nqo1-cds' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/** Longest error message copied into a log line, in characters. */
export const MAX_LOGGED_MESSAGE_CHARS = 500;

/** Shortens `message` to {@link MAX_LOGGED_MESSAGE_CHARS} characters, marking the cut with `…`. */
export function truncateForLog(message: string, maxChars = MAX_LOGGED_MESSAGE_CHARS): string {
  return message.length <= maxChars ? message : `${message.slice(0, maxChars - 1)}…`;
}

/** Accepts an incoming `X-Request-Id` only when it is a short token that cannot inject log content. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Per-request state the middlewares and handlers share through `res.locals`. */
export interface RequestLocals {
  requestId: string;
  log: Logger;
}

/** Returns the per-request logger and id set by {@link requestLogging}. */
export function requestContext(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

/**
 * Middleware that gives each request an id (echoed in `X-Request-Id`) and a child logger, and
 * writes one `request served` line when the response finishes: method, route template (never the
 * raw URL, whose query could carry identifiers), status and duration in milliseconds.
 *
 * The child logger is created on first use, because a pino child serialises its bindings through
 * the redaction paths and most hook calls log nothing but the `request served` line. When `info`
 * is disabled, that line and its child logger are skipped.
 */
export function requestLogging(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const startedAt = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    let log: Logger | undefined;
    const requestLog = (): Logger => (log ??= logger.child({ requestId }));

    res.locals.requestId = requestId;
    Object.defineProperty(res.locals, 'log', { get: requestLog, enumerable: true, configurable: true });
    res.setHeader('X-Request-Id', requestId);

    res.on('finish', () => {
      if (!logger.isLevelEnabled('info')) return;
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      requestLog().info(
        {
          method: req.method,
          route: routeTemplate(req),
          status: res.statusCode,
          durationMs: round(durationMs),
        },
        'request served',
      );
    });
    next();
  };
}

/** Returns the matched route's template (`/cds-services/nqo1-risk`), or `(unmatched)` for a 404. */
function routeTemplate(req: Request): string {
  const route: unknown = req.route;
  if (typeof route === 'object' && route !== null && 'path' in route && typeof route.path === 'string') {
    return `${req.baseUrl}${route.path}`;
  }
  return '(unmatched)';
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
