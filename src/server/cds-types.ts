/**
 * CDS Hooks 2.0 objects, typed from the specification with its field names. Only the fields this
 * service reads or sends are typed; FHIR resources inside prefetch stay `unknown` until validated.
 *
 * @see https://cds-hooks.hl7.org/2.0/
 */

/** A FHIR Coding, as used by `source.topic`. @see https://hl7.org/fhir/R4/datatypes.html#Coding */
export interface Coding {
  readonly system?: string;
  readonly code?: string;
  readonly display?: string;
}

/**
 * An override reason offered on a card. CDS Hooks 2.0 requires `system` and `code` on every Coding
 * and `display` on the override reasons a service sends, because the EHR shows that text as is.
 * @see https://cds-hooks.hl7.org/2.0/#coding
 */
export interface OverrideReasonCoding extends Coding {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

/**
 * One entry of the discovery response.
 * @see https://cds-hooks.hl7.org/2.0/#response
 */
export interface CdsServiceDefinition {
  readonly hook: string;
  readonly title?: string;
  readonly description: string;
  readonly id: string;
  /** Prefetch templates keyed by name; `{{context.patientId}}` is filled in by the client. */
  readonly prefetch?: Readonly<Record<string, string>>;
  readonly usageRequirements?: string;
}

/** @see https://cds-hooks.hl7.org/2.0/#discovery */
export interface CdsDiscoveryResponse {
  readonly services: readonly CdsServiceDefinition[];
}

/** @see https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service */
export interface FhirAuthorization {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly subject: string;
  readonly patient?: string;
}

/**
 * The body of a call to a CDS service.
 * @see https://cds-hooks.hl7.org/2.0/#http-request-1
 */
export interface CdsRequest<Context = Readonly<Record<string, unknown>>> {
  readonly hook: string;
  readonly hookInstance: string;
  readonly fhirServer?: string;
  readonly fhirAuthorization?: FhirAuthorization;
  readonly context: Context;
  /** Prefetched FHIR data keyed by the definition's prefetch names; a value may be null. */
  readonly prefetch?: Readonly<Record<string, unknown>>;
}

/** Context of the `patient-view` hook. @see https://cds-hooks.org/hooks/patient-view/ */
export interface PatientViewContext {
  readonly userId: string;
  readonly patientId: string;
  readonly encounterId?: string;
}

/** @see https://cds-hooks.hl7.org/2.0/#source */
export interface CdsSource {
  readonly label: string;
  readonly url?: string;
  readonly icon?: string;
  readonly topic?: Coding;
}

/** @see https://cds-hooks.hl7.org/2.0/#link */
export interface CdsLink {
  readonly label: string;
  readonly url: string;
  readonly type: 'absolute' | 'smart';
  /** Opaque to the client; passed to a SMART app at launch. */
  readonly appContext?: string;
}

/**
 * One card. Suggestions and selection behaviour are not used by this service.
 * @see https://cds-hooks.hl7.org/2.0/#card-attributes
 */
export interface CdsCard {
  readonly uuid?: string;
  /** Plain text shorter than 140 characters. */
  readonly summary: string;
  /** GitHub-flavoured Markdown. */
  readonly detail?: string;
  readonly indicator: 'info' | 'warning' | 'critical';
  readonly source: CdsSource;
  readonly links?: readonly CdsLink[];
  /**
   * Reasons the clinician may pick when dismissing the card; the EHR returns the chosen one to the
   * feedback endpoint with outcome `overridden`. A card with them needs a `uuid`, because feedback
   * names the card by it.
   */
  readonly overrideReasons?: readonly OverrideReasonCoding[];
}

/** @see https://cds-hooks.hl7.org/2.0/#http-response */
export interface CdsResponse {
  readonly cards: readonly CdsCard[];
}
