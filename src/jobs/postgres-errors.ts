/**
 * Turns a failure to reach the PostgreSQL server into `ERR_STORE_UNAVAILABLE`, a missing privilege into
 * `ERR_CONFIG_INVALID`, a request value with U+0000 into `ERR_REQUEST_INVALID`, and leaves every other
 * error (a failed SQL statement, a programming mistake) as it is.
 *
 * The connection string contains the password, so no message built here quotes it. The error carries
 * no `cause`, because a `TypeError` from parsing an invalid URL keeps the whole URL in its `input`
 * property, and a logger that prints causes would print it.
 */

import { Nqo1Error } from '../errors.js';

/** Node.js system error codes of a connection that could not be opened or was lost. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  // A TLS file named by the URL (`sslrootcert`, `sslcert`, `sslkey`) that cannot be read.
  'ENOENT',
  'EACCES',
]);

/** Node.js TLS error codes of a server certificate that the client does not accept. */
const TLS_ERROR_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** SQLSTATE 42501, insufficient_privilege: the role may connect but not create or use the tables. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * SQLSTATEs of a text or jsonb value with U+0000, which PostgreSQL cannot store (SQLite can): 22021
 * (character_not_in_repertoire) and 22P05 (untranslatable_character). The value came from a request.
 */
const NUL_CHARACTER_STATES: ReadonlySet<string> = new Set(['22021', '22P05']);

/**
 * Checks whether a SQLSTATE means that the server cannot serve this client. These are class 08
 * (connection exception), class 28 (invalid authorization), 3D000 (the database does not exist), 53300
 * (too many connections) and 57P01 to 57P03 (the server is shutting down or starting). The codes are
 * listed in appendix A, "PostgreSQL Error Codes", of the PostgreSQL 15 manual.
 */
function isUnavailableSqlState(sqlState: string): boolean {
  return (
    sqlState.startsWith('08') ||
    sqlState.startsWith('28') ||
    ['3D000', '53300', '57P01', '57P02', '57P03'].includes(sqlState)
  );
}

/** Messages of node-postgres 8 (`pg`, `pg-pool`) for a connection that timed out, ended or broke. */
const CONNECTION_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|SASL: )/;

/**
 * Returns the `ERR_STORE_UNAVAILABLE` error for `error` when it means the server could not be reached
 * or refused this client, or undefined for any other error.
 *
 * @param action what the store was doing, e.g. `opening the store`.
 * @param urlEnvName name of the environment variable that contains the URL, when the caller knows it.
 * @param secrets strings that must not appear in the message (the connection string and password).
 */
export function storeUnavailableError(
  error: unknown,
  action: string,
  urlEnvName: string | undefined,
  secrets: readonly string[],
): Nqo1Error | undefined {
  if (NUL_CHARACTER_STATES.has(errorCode(error) ?? '')) {
    return new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `A value of the request contains the character U+0000, which the PostgreSQL store cannot keep, so ${action} ` +
        'failed. Send the text without it.',
      { details: { action, code: errorCode(error) ?? '' } },
    );
  }
  if (errorCode(error) === INSUFFICIENT_PRIVILEGE) {
    // PostgreSQL 15 gives only the database owner CREATE on schema public.
    return new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `The PostgreSQL role lacks a privilege that the result store needs: ${action} failed with SQLSTATE ` +
        `${INSUFFICIENT_PRIVILEGE} (${redact((error as Error).message, secrets)}). Make the role the owner of ` +
        'the database, or grant it CONNECT and CREATE on the database and CREATE and USAGE on schema public.',
      { details: { action, code: INSUFFICIENT_PRIVILEGE } },
    );
  }
  const reason = unavailableReason(error);
  if (reason === undefined) return undefined;

  const where =
    urlEnvName === undefined
      ? 'in the environment variable that store.postgresUrlEnv names'
      : `in environment variable ${urlEnvName} (or the file that ${urlEnvName}_FILE names)`;
  const message =
    `The PostgreSQL result store is unavailable: ${action} failed with ${redact(reason, secrets)}. ` +
    `Check the PostgreSQL URL ${where}, and that the server runs and accepts connections from this host.`;
  const code = errorCode(error);
  return new Nqo1Error('ERR_STORE_UNAVAILABLE', message, {
    details: code === undefined ? { action } : { action, code },
  });
}

/** Describes a connection failure in a few words, or returns undefined when `error` is not one. */
function unavailableReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = errorCode(error);

  if (error instanceof TypeError && code === 'ERR_INVALID_URL') return 'an invalid URL';
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return `${code} (${error.message})`;
  if (code !== undefined && TLS_ERROR_CODES.has(code)) return `the TLS error ${code} (${error.message})`;
  if (/\bSSL\b/.test(error.message)) return `a TLS failure (${error.message})`;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)) {
    return `SQLSTATE ${code} (${error.message})`;
  }
  if (error instanceof AggregateError) {
    // Node.js tries every address of a host name and reports each failure in `errors`.
    const first = error.errors.find((inner): inner is Error => inner instanceof Error);
    return first === undefined ? undefined : unavailableReason(first);
  }
  if (CONNECTION_MESSAGE.test(error.message)) return error.message;
  return undefined;
}

/**
 * Checks whether `error` means that the PostgreSQL server could not be reached or refused this
 * client, as {@link storeUnavailableError} decides.
 */
export function isConnectionFailure(error: unknown): boolean {
  return unavailableReason(error) !== undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Replaces each secret of at least 4 characters in `text`; shorter ones would mangle ordinary words. */
function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret.length >= 4) redacted = redacted.split(secret).join('[redacted]');
  }
  return redacted;
}
