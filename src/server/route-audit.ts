/**
 * Audit events of the SMART app's routes: reads of a result, searches, overlay lists and chart
 * records (`src/jobs/audit-trail.ts`). Only requests that proved access to the analysis are
 * recorded; rejected requests appear in the request log with their status.
 */

import type { ErrorCode } from '../errors.js';
import type { AuditAction, AuditActor } from '../jobs/audit-trail.js';
import type { AuditTrail } from '../jobs/store.js';
import type { StoredAnalysis } from '../jobs/types.js';
import type { AppConfig } from './config.js';

/**
 * Returns the actor of a SMART app request: the app's OAuth client id. A chart record names the
 * clinician instead ({@link fhirUserActor}).
 *
 * LIMITATION: reads are not recorded under their user. The service passes the app's access token
 * to the FHIR server without reading it, so it does not learn who the user is. Token
 * introspection (RFC 7662) at the EHR's authorization server would name the user.
 */
export function smartAppActor(config: Pick<AppConfig, 'smartApp'>): AuditActor {
  return { kind: 'smart-app', id: config.smartApp.clientId };
}

/** A clinician reference that may be stored: `Practitioner/<id>` or `PractitionerRole/<id>`. */
const CLINICIAN_REFERENCE = /^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * Returns the actor of a chart record: the `fhirUser` reference that the app sent, e.g.
 * `Practitioner/123`. Any other text, which the record rejects, becomes `invalid`: the body is not
 * validated yet when a failure is recorded, and it may contain a patient's id or name.
 */
export function fhirUserActor(reference: string): AuditActor {
  return { kind: 'fhir-user', id: CLINICIAN_REFERENCE.test(reference) ? reference : 'invalid' };
}

/** Records `action` by `actor` on the stored analysis `analysis`. */
export function auditAnalysis(
  audit: Pick<AuditTrail, 'record'>,
  action: AuditAction,
  actor: AuditActor,
  analysis: Pick<StoredAnalysis, 'id' | 'job'>,
  failureCode?: ErrorCode,
): Promise<void> {
  return audit.record({
    action,
    actor,
    analysisId: analysis.id,
    studyInstanceUid: analysis.job.studyInstanceUid,
    modelId: analysis.job.modelId,
    modelVersion: analysis.job.modelVersion,
    outcome: failureCode === undefined ? 'success' : 'failure',
    ...(failureCode === undefined ? {} : { errorCode: failureCode }),
  });
}
