/**
 * Serves the SMART on FHIR app at `/smart-app`. Its HTML and CSS come from `smart-app/public`, and
 * its compiled scripts and the browser build of `fhirclient` from `dist/smart-app`, which
 * `npm run build` writes. `config.json` carries the OAuth 2.0 client id (`smartApp.clientId`), the
 * FHIR allowlist, which the app checks `iss` against before it redirects, the FHIR base of a
 * standalone launch (`smartApp.standaloneFhirBaseUrl`) and the viewer link template. Every response
 * carries the headers of `smart-app-headers.ts`.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html
 */

import express from 'express';

import { packagePath } from '../paths.js';
import type { AppConfig } from './config.js';
import { smartAppHeaders } from './smart-app-headers.js';

/** Path below which the app is served. */
export const SMART_APP_PATH = '/smart-app';

/** Body of `GET /smart-app/config.json`. */
export interface SmartAppSettings {
  readonly clientId: string;
  /** `fhir.allowedBaseUrls`: the FHIR servers the app may be launched against. */
  readonly fhirBaseUrls: readonly string[];
  /** `viewerUrlTemplate` of the configuration, for the app's "open images" link; absent when unset. */
  readonly viewerUrlTemplate?: string;
  /** `smartApp.standaloneFhirBaseUrl`, used when the app is opened without `iss`; absent when unset. */
  readonly standaloneFhirBaseUrl?: string;
}

/** Builds the router that serves the app's files and settings. */
export function smartAppRouter(
  config: Pick<AppConfig, 'smartApp' | 'viewerUrlTemplate' | 'fhir'>,
): express.Router {
  const router = express.Router();
  router.use(SMART_APP_PATH, smartAppHeaders(config));
  const settings: SmartAppSettings = {
    clientId: config.smartApp.clientId,
    fhirBaseUrls: config.fhir.allowedBaseUrls,
    ...(config.viewerUrlTemplate === undefined ? {} : { viewerUrlTemplate: config.viewerUrlTemplate }),
    ...(config.smartApp.standaloneFhirBaseUrl === undefined
      ? {}
      : { standaloneFhirBaseUrl: config.smartApp.standaloneFhirBaseUrl }),
  };

  router.get(`${SMART_APP_PATH}/config.json`, (_req, res) => {
    res.json(settings);
  });

  router.use(SMART_APP_PATH, express.static(packagePath('smart-app', 'public'), { index: ['launch.html'] }));
  router.use(SMART_APP_PATH, express.static(packagePath('dist', 'smart-app'), { index: false }));
  return router;
}
