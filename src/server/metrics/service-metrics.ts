/**
 * The metrics of the service, exposed at `GET /metrics`. Every label value comes from a closed set
 * (CDS service ids, stage names, error codes, outcomes, analysis statuses), so no series can carry
 * a patient identifier, a UID or a token, and the number of series stays bounded.
 *
 * | Metric | Type | Labels |
 * | --- | --- | --- |
 * | `nqo1_hook_duration_seconds` | histogram | `service` (CDS service id), `status` (HTTP status class) |
 * | `nqo1_job_stage_duration_seconds` | histogram | `stage`: retrieve, decode, features, write-back |
 * | `nqo1_analyses` | gauge | `status`: pending, running, done, failed |
 * | `nqo1_failures_total` | counter | `operation`: analysis, write-back; `code`: error code |
 * | `nqo1_dicomweb_received_bytes_total` | counter | none |
 * | `nqo1_fhir_write_backs_total` | counter | `outcome`: written, failed |
 */

import type { AnalysisFinished, JobObserver, JobStage, WriteBackFinished } from '../../jobs/job-observer.js';
import type { ResultStatus } from '../../jobs/types.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from './registry.js';

/**
 * Bucket bounds of the hook latency in seconds. A hook reads the result store and should respond in
 * well under a second, so the buckets are finest below one second.
 */
export const HOOK_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Bucket bounds of a job stage in seconds: a retrieval or extraction takes seconds to minutes. */
export const STAGE_DURATION_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The service's metric families, and the {@link JobObserver} that feeds the job metrics. */
export class ServiceMetrics implements JobObserver {
  readonly registry = new MetricsRegistry();

  readonly hookDuration = this.registry.register(
    new Histogram(
      'nqo1_hook_duration_seconds',
      'Time from the arrival of a CDS hook call to the end of its response, by service id and status class.',
      HOOK_DURATION_BUCKETS_SECONDS,
    ),
  );

  readonly stageDuration = this.registry.register(
    new Histogram(
      'nqo1_job_stage_duration_seconds',
      'Duration of one stage of an analysis: retrieve, decode, features or write-back.',
      STAGE_DURATION_BUCKETS_SECONDS,
    ),
  );

  readonly failures = this.registry.register(
    new Counter('nqo1_failures_total', 'Failed analyses and FHIR write-backs, by operation and error code.'),
  );

  readonly dicomwebReceivedBytes = this.registry.register(
    new Counter(
      'nqo1_dicomweb_received_bytes_total',
      'Response body bytes received from the DICOMweb server.',
    ),
  );

  readonly writeBacks = this.registry.register(
    new Counter(
      'nqo1_fhir_write_backs_total',
      'FHIR write-backs of results (Observation, Device, Provenance), by outcome.',
    ),
  );

  /** Counts the store's analyses at each scrape; set by {@link countAnalysesWith}. */
  #countByStatus: (() => Promise<Record<ResultStatus, number>>) | undefined;
  /** The counts of the latest {@link collect}, which the `nqo1_analyses` gauge renders. */
  #analysisCounts: Record<ResultStatus, number> | undefined;

  /**
   * Adds the `nqo1_analyses` gauge, whose counts {@link collect} reads from the store before each
   * scrape. Call once, when the result store is open.
   */
  countAnalysesWith(countByStatus: () => Promise<Record<ResultStatus, number>>): void {
    this.#countByStatus = countByStatus;
    this.registry.register(
      new Gauge('nqo1_analyses', 'Stored analyses by status; pending and running form the queue.', () =>
        Object.entries(this.#analysisCounts ?? {}).map(([status, value]) => ({ labels: { status }, value })),
      ),
    );
  }

  /** Reads the values that come from the store (the analysis counts), before {@link render}. */
  async collect(): Promise<void> {
    if (this.#countByStatus !== undefined) this.#analysisCounts = await this.#countByStatus();
  }

  /** Records the latency of one hook call; `status` is the HTTP status code of its response. */
  observeHook(serviceId: string, status: number, durationSeconds: number): void {
    this.hookDuration.observe(
      { service: serviceId, status: `${Math.floor(status / 100)}xx` },
      durationSeconds,
    );
  }

  /** Records the duration of one stage, in milliseconds as `performance.now()` measures it. */
  observeStage(stage: JobStage, durationMs: number): void {
    this.stageDuration.observe({ stage }, durationMs / 1000);
  }

  /** Adds the body size of one DICOMweb response. */
  addDicomwebBytes(bytes: number): void {
    this.dicomwebReceivedBytes.inc({}, bytes);
  }

  analysisFinished(event: AnalysisFinished): void {
    if (event.outcome === 'failed')
      this.failures.inc({ operation: 'analysis', code: event.code ?? 'ERR_INTERNAL' });
  }

  writeBackFinished(event: WriteBackFinished): void {
    this.writeBacks.inc({ outcome: event.outcome });
    if (event.outcome === 'failed')
      this.failures.inc({ operation: 'write-back', code: event.code ?? 'ERR_INTERNAL' });
  }

  /** Renders every metric in the Prometheus text format. */
  render(): string {
    return this.registry.render();
  }
}
