/**
 * The SMART app's FHIR access token, sent to this service as `Authorization: Bearer <token>`
 * (RFC 6750 §2.1). The service only checks that a token is present: the FHIR server that issued it
 * decides what it grants. The token is never logged, stored or put in an error.
 */

import type express from 'express';

import { Nqo1Error } from '../errors.js';

/** Extracts the token of an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
}

/**
 * Rejects a request without a bearer token with `ERR_UNAUTHORIZED` (a bare 401), before its body or
 * query is read, so an unauthenticated caller costs no parsing and causes no FHIR request.
 *
 * @param route - Name of the route in the error message, e.g. `Analysis request`.
 */
export function requireBearerToken(route: string): express.RequestHandler {
  return (req, _res, next) => {
    if (bearerToken(req.get('authorization')) !== undefined) {
      next();
      return;
    }

    const reason = req.get('authorization') === undefined ? 'missing_authorization' : 'not_bearer';
    next(new Nqo1Error('ERR_UNAUTHORIZED', `${route} rejected: ${reason}`, { details: { reason } }));
  };
}
