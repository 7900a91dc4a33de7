/**
 * CORS for browser-based CDS clients (e.g. a CDS Hooks sandbox). Only the configured origins get
 * CORS headers; with none configured the middleware does nothing and browsers block cross-origin
 * calls.
 *
 * @see https://cds-hooks.hl7.org/2.0/#cross-origin-resource-sharing
 */

import type { RequestHandler } from 'express';

/** Allows the given origins to call GET and POST with `Authorization` and `Content-Type` headers. */
export function corsForOrigins(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));

  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin === undefined || !allowed.has(origin)) {
      next();
      return;
    }

    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }

    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept-Language');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
