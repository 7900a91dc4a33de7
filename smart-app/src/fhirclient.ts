/**
 * The part of the `fhirclient` 2.6 browser build (`window.FHIR`, loaded from
 * `/smart-app/vendor/fhir-client.js`) that the app uses, typed here because the package's own
 * declarations pull in Node types.
 *
 * @see https://docs.smarthealthit.org/client-js/api.html
 */

/** Token response of the SMART authorization server, with the launch context parameters. */
export interface SmartTokenResponse {
  readonly access_token?: string;
  readonly patient?: string;
  /** Opaque string from the CDS card's smart link, which this service sets to the analysis id. */
  readonly appContext?: string;
  /** BCP 47 language tag of the EHR user, e.g. `zh-CN`. */
  readonly locale?: string;
  /**
   * SMART 2.0 launch context beyond the patient: a radiology viewer puts the open study here, as
   * `{ reference: 'ImagingStudy/123' }` or as `{ type: 'ImagingStudy', identifier }`.
   */
  readonly fhirContext?: unknown;
  readonly [parameter: string]: unknown;
}

export interface SmartClient {
  /**
   * The signed-in user as `Type/id` (e.g. `Practitioner/123`), from the `fhirUser` claim of the
   * id_token; null without one. fhirclient decodes the id_token without checking its signature.
   */
  getFhirUser(): string | null | undefined;
  readonly state: {
    /** FHIR base URL of the launch (`iss`). */
    readonly serverUrl: string;
    readonly tokenResponse?: SmartTokenResponse;
  };
}

/** Parameters of `FHIR.oauth2.authorize`. */
export interface SmartAuthorizeParams {
  readonly clientId: string;
  readonly scope: string;
  readonly redirectUri: string;
  readonly pkceMode: 'required';
  /**
   * FHIR base URL of a standalone launch. fhirclient prefers an `iss` query parameter of the page;
   * without either and without `launch` it cannot start.
   */
  readonly iss?: string;
  /**
   * True to finish the launch in the window or frame that started it. In a frame, `false` would
   * hand the code to the parent page, which an EHR page does not expect.
   */
  readonly completeInTarget?: boolean;
}

export interface FhirClientGlobal {
  readonly oauth2: {
    authorize(params: SmartAuthorizeParams): Promise<unknown>;
    ready(): Promise<SmartClient>;
  };
}

declare global {
  interface Window {
    readonly FHIR?: FhirClientGlobal;
  }
}

/**
 * Returns the `fhirclient` global.
 *
 * @throws Error when the script tag of `vendor/fhir-client.js` did not load.
 */
export function fhirClient(): FhirClientGlobal {
  if (window.FHIR === undefined)
    throw new Error('window.FHIR is missing because vendor/fhir-client.js did not load; reload the page');
  return window.FHIR;
}
