/**
 * Security headers of every response under `/smart-app`: a Content-Security-Policy that allows
 * only what the app needs, `X-Content-Type-Options: nosniff`, and `Referrer-Policy: no-referrer`,
 * which keeps the authorization code and `state` in the address of `index.html` out of the
 * `Referer` of the viewer and citation links.
 *
 * What the policy allows, and why:
 * - scripts and styles from the service only: the app's modules and the fhirclient build in
 *   `vendor/`, with no inline script, no inline style and no `eval`;
 * - images from the service, plus `blob:` for the region pictures, which the app fetches with the
 *   bearer token and shows through object URLs, and `data:` for small inline pictures;
 * - `fetch` to the service itself, to the origins of `fhir.allowedBaseUrls` (fhirclient reads
 *   `.well-known/smart-configuration` below the launch's `iss`), and to
 *   `smartApp.authorizationServerOrigins` (the token endpoint). The `iss` of a launch is chosen
 *   by the EHR at run time, but the service answers the app only for an `iss` on
 *   `fhir.allowedBaseUrls`, so listing those origins costs no working launch. The token
 *   endpoint's origin comes from the FHIR server's discovery document, which the service does not
 *   read, so a site lists it when it differs from the FHIR origin;
 * - framing only by the origins of `smartApp.frameAncestors`; with none, no site may frame the app
 *   (and `X-Frame-Options: DENY` says the same to browsers without CSP level 2).
 *
 * @see https://www.w3.org/TR/CSP3/#directive-frame-ancestors
 * @see https://www.w3.org/TR/referrer-policy/#referrer-policy-no-referrer
 */

import type express from 'express';

import type { AppConfig } from './config.js';

/** Builds the `Content-Security-Policy` value of the app's responses from the configuration. */
export function smartAppContentSecurityPolicy(config: Pick<AppConfig, 'smartApp' | 'fhir'>): string {
  const connectOrigins = new Set<string>();
  for (const base of config.fhir.allowedBaseUrls) connectOrigins.add(new URL(base).origin);
  for (const origin of config.smartApp.authorizationServerOrigins) connectOrigins.add(origin);

  const frameAncestors = config.smartApp.frameAncestors;
  const directives = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    ["connect-src 'self'", ...connectOrigins].join(' '),
    "base-uri 'none'",
    "form-action 'none'",
    frameAncestors.length === 0 ? "frame-ancestors 'none'" : `frame-ancestors ${frameAncestors.join(' ')}`,
  ];
  return directives.join('; ');
}

/** Returns middleware that sets the security headers of the app on every response. */
export function smartAppHeaders(config: Pick<AppConfig, 'smartApp' | 'fhir'>): express.RequestHandler {
  const policy = smartAppContentSecurityPolicy(config);
  const denyEveryFrame = config.smartApp.frameAncestors.length === 0;
  return (_req, res, next) => {
    res.set('Content-Security-Policy', policy);
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    if (denyEveryFrame) res.set('X-Frame-Options', 'DENY');
    next();
  };
}
