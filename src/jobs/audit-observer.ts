/** The {@link JobObserver} that appends the queue's computations and write-backs to the audit trail. */

import type { Logger } from 'pino';

import { type AuditEvent, SERVICE_ACTOR } from './audit-trail.js';
import type { AnalysisFinished, JobObserver, WriteBackFinished } from './job-observer.js';
import type { AuditTrail } from './store.js';

/** Records `compute` and `write-back` events with the actor `service`. */
export class AuditJobObserver implements JobObserver {
  readonly #audit: Pick<AuditTrail, 'record'>;
  readonly #log: Logger;

  constructor(audit: Pick<AuditTrail, 'record'>, logger: Logger) {
    this.#audit = audit;
    this.#log = logger.child({ component: 'audit' });
  }

  analysisFinished(event: AnalysisFinished): void {
    this.#record({
      action: 'compute',
      ...this.#common(event),
      outcome: event.outcome === 'done' ? 'success' : 'failure',
      ...(event.code === undefined ? {} : { errorCode: event.code }),
    });
  }

  writeBackFinished(event: WriteBackFinished): void {
    this.#record({
      action: 'write-back',
      ...this.#common(event),
      outcome: event.outcome === 'written' ? 'success' : 'failure',
      ...(event.code === undefined ? {} : { errorCode: event.code }),
    });
  }

  #common(event: AnalysisFinished | WriteBackFinished): Omit<AuditEvent, 'action' | 'outcome'> {
    return {
      actor: SERVICE_ACTOR,
      ...(event.analysisId === undefined ? {} : { analysisId: event.analysisId }),
      studyInstanceUid: event.job.studyInstanceUid,
      modelId: event.job.modelId,
      modelVersion: event.job.modelVersion,
    };
  }

  /** Appends one event; a failed insert is logged, because the queue must go on with its work. */
  #record(event: AuditEvent): void {
    this.#audit.record(event).catch((error: unknown) => {
      this.#log.error(
        {
          action: event.action,
          analysisId: event.analysisId,
          errorName: error instanceof Error ? error.name : typeof error,
        },
        'cannot record audit event',
      );
    });
  }
}
