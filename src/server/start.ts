/**
 * Start-up of one process with its real dependencies: the result store and queue of `store.engine`
 * (`store-engine.ts`) running the given `analyse` function, the model card from
 * `config.model.cardPath`, and the QIDO-RS poller when `notifications.pollIntervalSeconds` turns it
 * on. The role sets what the process does: `all` (the default) serves every route and analyses;
 * `api` serves every route and only enqueues; `worker` analyses and serves only the operations
 * routes, for its probes.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Application } from 'express';

import { Nqo1Error } from '../errors.js';
import type { ResultWriter } from '../jobs/analyse-study.js';
import { AuditJobObserver } from '../jobs/audit-observer.js';
import { combineObservers } from '../jobs/job-observer.js';
import type { QueueRole } from '../jobs/queue-role.js';
import type { JobQueue } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/store.js';
import { StudyPoller } from '../jobs/study-poller.js';
import type { AnalyseStudy } from '../jobs/types.js';
import { loadModelCard, type ModelCard } from '../model/card.js';
import { createApp } from './app.js';
import type { AppConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { ReadinessCheck } from './readiness.js';
import { openEngine } from './store-engine.js';

export interface StartServerOptions {
  /** The worker function the queue runs for each study; required unless `role` is `api`. */
  readonly analyse?: AnalyseStudy;
  /** Role of this process; defaults to `server.role`. Only `all` runs on the SQLite engine. */
  readonly role?: QueueRole;
  /** Environment holding the PostgreSQL URL; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The FHIR writer for results that owe a write-back; omit when write-back is not configured. */
  readonly writer?: ResultWriter;
  /** Defaults to a JSON logger on stdout. */
  readonly logger?: Logger;
  /** Defaults to the card loaded from `config.model.cardPath`. */
  readonly modelCard?: ModelCard;
  /**
   * Metrics of `GET /metrics`; pass the set that the analyser reports its stages and DICOMweb bytes
   * to. Defaults to a new set.
   */
  readonly metrics?: ServiceMetrics;
}

export interface RunningServer {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly server: Server;
  readonly queue: JobQueue;
  readonly store: ResultStore;
  /** Stops accepting connections, lets the running analysis finish, and closes the store. */
  close(): Promise<void>;
}

/** Builds the dependencies, starts the queue and listens on `config.server.host` and `port`. */
export async function startServer(config: AppConfig, options: StartServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const modelCard = options.modelCard ?? (await loadModelCard(config.model.cardPath));
  const role = options.role ?? config.server.role;
  const metrics = options.metrics ?? new ServiceMetrics();
  const engine = await openEngine(config, {
    role,
    logger,
    observerFor: (opened) => combineObservers(metrics, new AuditJobObserver(opened.audit, logger)),
    ...(options.analyse === undefined ? {} : { analyse: options.analyse }),
    ...(options.writer === undefined ? {} : { writer: options.writer }),
    ...(options.env === undefined ? {} : { env: options.env }),
    model: { id: modelCard.id, version: modelCard.version },
  });
  const { store, queue } = engine;
  metrics.countAnalysesWith(() => store.countByStatus());

  let server: Server;
  let poller: StudyPoller | undefined;
  try {
    const readiness = createReadinessCheck(config, store, queue);
    const app = createApp({
      config,
      logger,
      store,
      queue,
      modelCard,
      metrics,
      readiness,
      routes: role === 'worker' ? 'operations' : 'all',
    });
    // The poller runs beside the analyses, so API processes keep their time for hooks. Two workers
    // that both poll enqueue each study once: the store inserts one row per key.
    if (role !== 'api') poller = createPoller(config, queue, modelCard, logger);
    server = await listen(app, config.server.host, config.server.port);
  } catch (error) {
    await engine.close();
    throw error;
  }
  poller?.start();

  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host}:${port}`;
  logger.info(
    {
      url,
      publicUrl: config.server.publicUrl,
      role,
      engine: config.store.engine,
      modelId: modelCard.id,
      modelVersion: modelCard.version,
    },
    'server listening',
  );

  return {
    url,
    server,
    queue,
    store,
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
      });
      await poller?.stop();
      await engine.close();
      logger.info('server stopped');
    },
  };
}

/** Creates the `/readyz` checks of the store, the queue and the configured DICOMweb and FHIR bases. */
function createReadinessCheck(config: AppConfig, store: ResultStore, queue: JobQueue): ReadinessCheck {
  return new ReadinessCheck({
    pingStore: () => store.ping(),
    queueRunning: () => queue.isRunning(),
    upstreams: [
      { component: 'dicomweb', baseUrl: config.dicomweb.baseUrl, allowlist: config.dicomweb.allowedBaseUrls },
      { component: 'fhir', baseUrl: config.fhir.baseUrl, allowlist: config.fhir.allowedBaseUrls },
    ],
    timeoutMs: config.operations.readinessTimeoutMs,
    cacheMs: config.operations.readinessCacheMs,
  });
}

/** Creates the QIDO-RS poller when `notifications.pollIntervalSeconds` is above 0, else undefined. */
function createPoller(
  config: AppConfig,
  queue: JobQueue,
  modelCard: ModelCard,
  logger: Logger,
): StudyPoller | undefined {
  const { pollIntervalSeconds, pollLookbackDays } = config.notifications;
  if (pollIntervalSeconds === 0) return undefined;
  return new StudyPoller({
    baseUrl: config.dicomweb.baseUrl,
    allowlist: config.dicomweb.allowedBaseUrls,
    timeoutMs: config.dicomweb.timeoutMs,
    intervalMs: pollIntervalSeconds * 1000,
    lookbackDays: pollLookbackDays,
    enqueue: (studyInstanceUid) =>
      queue.enqueue({ studyInstanceUid, modelId: modelCard.id, modelVersion: modelCard.version }),
    logger,
  });
}

/** Fix named in the error when the socket cannot be bound, by Node's error code. */
const LISTEN_FIXES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process already listens there; stop it or set another server.port (or $NQO1_PORT)',
  EACCES: 'this user may not bind that port; use a port above 1023 or run with the needed permission',
  EADDRNOTAVAIL:
    'the host is not an address of this machine; set server.host (or $NQO1_HOST) to one, e.g. 127.0.0.1',
  ENOTFOUND: 'the host name does not resolve; set server.host (or $NQO1_HOST) to an address of this machine',
};

/**
 * Listens on `host`:`port` and resolves with the server once bound.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` naming server.host and server.port when the bind fails.
 */
async function listen(app: Application, host: string, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error === undefined) {
        resolve(server);
        return;
      }

      const code = (error as NodeJS.ErrnoException).code ?? error.name;
      const fix = LISTEN_FIXES[code] ?? 'check server.host and server.port';
      reject(
        new Nqo1Error(
          'ERR_CONFIG_INVALID',
          `Cannot listen on server.host ${host}, server.port ${port} (${code}): ${fix}.`,
          { cause: error, details: { host, port, errorCode: code } },
        ),
      );
    });
  });
}
