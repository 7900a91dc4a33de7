/**
 * Readiness of the service for `GET /readyz`: the result store runs a query, the analysis queue
 * runs, and the allowlisted servers it depends on (the DICOMweb base and the FHIR base) respond within
 * a short timeout. `/healthz` stays the liveness check, which never contacts another server.
 *
 * The upstream probes are cached for `cacheMs`, and concurrent readiness requests share one round of
 * probes, so frequent probes from an orchestrator do not load the PACS or the FHIR server.
 *
 * Probes: DICOMweb `GET {base}/studies?limit=1` (QIDO-RS, PS3.18 §10.6) and FHIR
 * `GET {base}/metadata` (the CapabilityStatement, which the FHIR RESTful API defines for every
 * server). A server is ready when it responds with a 2xx status in time.
 */

import { assertUrlAllowed } from '../net/url-allowlist.js';

/** A dependency that is checked: `store`, `queue`, `dicomweb` or `fhir`. */
export type ReadinessComponent = 'store' | 'queue' | 'dicomweb' | 'fhir';

/**
 * Result of one component's check. `reason` names the probe path relative to the configured base
 * URL, never the host, because `/readyz` is public.
 */
export interface ComponentReadiness {
  readonly ready: boolean;
  readonly reason?: string;
  /** Response time of an upstream probe, in milliseconds. */
  readonly durationMs?: number;
}

/** Body of the `/readyz` response. */
export interface ReadinessReport {
  readonly status: 'ready' | 'not-ready';
  /** Components that are not ready, in check order. */
  readonly notReady: readonly ReadinessComponent[];
  readonly components: Readonly<Record<ReadinessComponent, ComponentReadiness>>;
}

/** An allowlisted server to probe. */
export interface UpstreamProbe {
  readonly component: 'dicomweb' | 'fhir';
  readonly baseUrl: string;
  readonly allowlist: readonly string[];
}

export interface ReadinessOptions {
  /** Runs a trivial query on the store; throws when it cannot. */
  readonly pingStore: () => Promise<void>;
  /** Whether the queue's worker loop accepts and runs jobs. */
  readonly queueRunning: () => boolean;
  readonly upstreams: readonly UpstreamProbe[];
  /** Deadline of one upstream probe, in milliseconds. */
  readonly timeoutMs: number;
  /** How long an upstream probe result is reused, in milliseconds. */
  readonly cacheMs: number;
  /** Fetch implementation; tests inject one. */
  readonly fetch?: typeof fetch;
  /** Monotonic clock in milliseconds; tests control it. */
  readonly nowMs?: () => number;
}

/** Path that each upstream component is probed at, relative to its base URL. */
const PROBE_PATHS: Readonly<Record<UpstreamProbe['component'], string>> = {
  dicomweb: 'studies?limit=1',
  fhir: 'metadata',
};

/** Accept header of each probe, as the server expects for the path. */
const PROBE_ACCEPT: Readonly<Record<UpstreamProbe['component'], string>> = {
  dicomweb: 'application/dicom+json',
  fhir: 'application/fhir+json',
};

/** Checks the store, the queue and the upstream servers, caching the upstream results. */
export class ReadinessCheck {
  readonly #options: ReadinessOptions;
  readonly #fetch: typeof fetch;
  readonly #nowMs: () => number;
  #cached: { readonly atMs: number; readonly results: Promise<ComponentReadiness[]> } | undefined;

  constructor(options: ReadinessOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    for (const upstream of options.upstreams) {
      assertUrlAllowed(
        upstream.baseUrl,
        upstream.allowlist,
        upstream.component === 'fhir' ? 'FHIR' : 'DICOMweb',
      );
    }
  }

  /** Runs the checks; the store and the queue are checked on each call, the upstreams at most once per `cacheMs`. */
  async check(): Promise<ReadinessReport> {
    const store = await checkStore(this.#options.pingStore, this.#options.timeoutMs);
    const queue: ComponentReadiness = this.#options.queueRunning()
      ? { ready: true }
      : { ready: false, reason: 'the analysis queue is not running' };
    const upstreamResults = await this.#upstreamResults();

    const components: Record<ReadinessComponent, ComponentReadiness> = {
      store,
      queue,
      dicomweb: { ready: true, reason: 'not configured' },
      fhir: { ready: true, reason: 'not configured' },
    };
    this.#options.upstreams.forEach((upstream, index) => {
      components[upstream.component] = upstreamResults[index] ?? { ready: false, reason: 'not probed' };
    });

    const order: readonly ReadinessComponent[] = ['store', 'queue', 'dicomweb', 'fhir'];
    const notReady = order.filter((component) => !components[component].ready);
    return { status: notReady.length === 0 ? 'ready' : 'not-ready', notReady, components };
  }

  async #upstreamResults(): Promise<ComponentReadiness[]> {
    const now = this.#nowMs();
    if (this.#cached !== undefined && now - this.#cached.atMs < this.#options.cacheMs)
      return this.#cached.results;

    const results = Promise.all(this.#options.upstreams.map((upstream) => this.#probe(upstream)));
    this.#cached = { atMs: now, results };
    return results;
  }

  /** Probes one server; never throws. */
  async #probe(upstream: UpstreamProbe): Promise<ComponentReadiness> {
    const probePath = PROBE_PATHS[upstream.component];
    const url = `${upstream.baseUrl.replace(/\/+$/, '')}/${probePath}`;
    const startedAt = this.#nowMs();
    try {
      const response = await this.#fetch(url, {
        headers: { accept: PROBE_ACCEPT[upstream.component] },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        redirect: 'manual',
      });
      // The body is not needed; cancelling it releases the connection.
      await response.body?.cancel();
      const durationMs = Math.round(this.#nowMs() - startedAt);
      if (response.status >= 200 && response.status < 300) return { ready: true, durationMs };
      return {
        ready: false,
        durationMs,
        reason: `GET {base}/${probePath} returned HTTP ${response.status}; expected 2xx`,
      };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      return {
        ready: false,
        reason: timedOut
          ? `GET {base}/${probePath} did not respond within ${this.#options.timeoutMs} ms`
          : `GET {base}/${probePath} failed without an HTTP response (connection refused, reset or DNS failure)`,
      };
    }
  }
}

/** Runs the store's query; a store that does not reply within `timeoutMs` is not ready. */
async function checkStore(pingStore: () => Promise<void>, timeoutMs: number): Promise<ComponentReadiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([pingStore().then(() => 'answered' as const), timeout]);
    if (outcome === 'timeout')
      return { ready: false, reason: `the result store did not complete a query within ${timeoutMs} ms` };
    return { ready: true };
  } catch (error) {
    return {
      ready: false,
      reason: `the result store failed to run a query (${error instanceof Error ? error.name : typeof error})`,
    };
  } finally {
    clearTimeout(timer);
  }
}
