/**
 * The Express application: discovery, one hook and one feedback route per CDS service, a health
 * check with analysis and feedback counts, the readiness check and the metrics
 * (`operations-routes.ts`), the PACS notification route, the SMART app's analysis and
 * model card routes, the SMART app's files, and the error middleware. Routes are thin: each
 * service's handlers do the work, and every error goes through the one OperationOutcome mapping.
 *
 * @see https://cds-hooks.hl7.org/2.0/#discovery
 * @see https://cds-hooks.hl7.org/2.0/#feedback
 */

import express from 'express';

import { CDS_SERVICES, type ServiceDeps } from '../../cds-services/index.js';
import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ResultStore } from '../jobs/store.js';
import { CdsJwtVerifier, requireCdsJwt } from './auth.js';
import type { CdsDiscoveryResponse } from './cds-types.js';
import { corsForOrigins } from './cors.js';
import { type Logger, requestLogging } from './logger.js';
import { errorHandler } from './outcome.js';
import { analysisRequestRouter } from './analysis-requests.js';
import { MODEL_CARD_PATH, modelCardHandler } from './model-card-view.js';
import { pacsNotificationRouter } from './pacs-notifications.js';
import { smartAppRouter } from './smart-app.js';
import { hookTiming } from './metrics/hook-timing.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { operationsRouter } from './operations-routes.js';
import type { ReadinessCheck } from './readiness.js';

/** Largest accepted hook body; prefetch Bundles of imaging studies can be large. */
const MAX_BODY_BYTES = '5mb';

/**
 * Largest accepted feedback body: 100 entries (the most one call may carry), each with a
 * 1000-character Chinese comment (3 bytes per character in UTF-8), take about 350 kB.
 */
const MAX_FEEDBACK_BODY_BYTES = '512kb';

/** Media types of a hook body; the CDS Hooks specification sends application/json. */
const JSON_MEDIA_TYPES = ['application/json', 'application/fhir+json'] as const;

/** Rejects a hook call whose body is not JSON, naming the Content-Type it sent. */
const requireJsonContentType: express.RequestHandler = (req, _res, next) => {
  // `req.is` returns the matched type, false for another type, and null for a request without body.
  if (typeof req.is([...JSON_MEDIA_TYPES]) === 'string') {
    next();
    return;
  }

  const contentType = req.get('content-type')?.slice(0, 100) ?? 'missing';
  next(
    new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `The Content-Type is ${contentType}, but the Content-Type must be application/json; ` +
        'send the CDS Hooks request as a JSON body.',
    ),
  );
};

export interface AppDeps extends ServiceDeps {
  readonly store: ServiceDeps['store'] &
    Pick<
      ResultStore,
      | 'countByStatus'
      | 'countOwedWriteBacks'
      | 'countStoppedWriteBacks'
      | 'getById'
      | 'overlays'
      | 'chartRecords'
      | 'recordObservation'
      | 'listByStudy'
      | 'audit'
    >;
  readonly logger: Logger;
  /** JWT verifier; defaults to one built from `config.auth`. Tests inject one with a frozen clock. */
  readonly verifier?: CdsJwtVerifier;
  /** Metrics of `GET /metrics`; defaults to a new set that counts the store's analyses. */
  readonly metrics?: ServiceMetrics;
  /** Checks of `GET /readyz`. Without them, `/readyz` responds with 503. */
  readonly readiness?: ReadinessCheck;
  /**
   * Routes to serve: `worker` serves only `/healthz`, `/readyz` and `/metrics`, for the probes of a
   * worker process (`serve --role worker`); the default serves every route.
   */
  readonly routes?: 'all' | 'operations';
}

/** Creates the metrics of an application built without them, counting the analyses of `store`. */
function defaultMetrics(store: Pick<ResultStore, 'countByStatus'>): ServiceMetrics {
  const metrics = new ServiceMetrics();
  metrics.countAnalysesWith(() => store.countByStatus());
  return metrics;
}

/** Builds the application without listening, so tests can drive it with supertest. */
export function createApp(deps: AppDeps): express.Application {
  const { config } = deps;
  const app = express();
  const verifier = deps.verifier ?? new CdsJwtVerifier(config.auth);
  const metrics = deps.metrics ?? defaultMetrics(deps.store);
  const discovery: CdsDiscoveryResponse = { services: CDS_SERVICES.map((service) => service.definition) };

  app.disable('x-powered-by');
  // Every response is `Cache-Control: no-store`, so an ETag is never used. Express would otherwise
  // hash each response body to make one.
  app.disable('etag');
  app.use(requestLogging(deps.logger));
  app.use(corsForOrigins(config.server.corsOrigins));
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  // Public: the counts tell hospital IT whether analyses pile up or fail, and how often clinicians
  // accept or override the cards of each model version. They carry no patient data and no comment.
  // A full replay cache rejects every hook call, so the check then responds 503 `degraded`.
  // Liveness: a store that cannot be read (PostgreSQL down) leaves the counts out but keeps the 200,
  // so an orchestrator does not restart every process during a database outage. `/readyz` reports it.
  app.get('/healthz', async (_req, res) => {
    const replayCache = verifier.replayCacheStatus();
    const counts = await Promise.all([
      deps.store.countByStatus(),
      deps.store.countOwedWriteBacks(),
      deps.store.countStoppedWriteBacks(),
      deps.store.feedback.countByModel(),
    ]).catch((error: unknown) => {
      deps.logger.warn(
        { code: isNqo1Error(error) ? error.code : 'ERR_INTERNAL' },
        'health check cannot read the store counts',
      );
      return undefined;
    });
    res.status(replayCache.full ? 503 : 200).json({
      status: replayCache.full ? 'degraded' : 'ok',
      model: { id: deps.modelCard.id, version: deps.modelCard.version },
      ...(counts === undefined
        ? { store: 'unavailable' }
        : {
            analyses: counts[0],
            writeBacks: { owed: counts[1], stopped: counts[2] },
            feedback: counts[3],
          }),
      replayCache,
    });
  });

  app.use(
    operationsRouter({
      config,
      metrics,
      ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
    }),
  );

  if (deps.routes === 'operations') {
    app.use((req, _res, next) => {
      next(
        new Nqo1Error(
          'ERR_NOT_FOUND',
          `No route ${req.method} ${req.path}: this is a worker process, which serves /healthz, /readyz ` +
            'and /metrics only; send hooks and app requests to an API process (serve --role api or all)',
        ),
      );
    });
    app.use(errorHandler(config.locale));
    return app;
  }

  app.get('/cds-services', (_req, res) => {
    res.json(discovery);
  });

  // The JWT is verified before the body is parsed, so an unauthenticated caller costs no parsing.
  const parseJson = express.json({ limit: MAX_BODY_BYTES, type: [...JSON_MEDIA_TYPES] });
  const parseFeedbackJson = express.json({ limit: MAX_FEEDBACK_BODY_BYTES, type: [...JSON_MEDIA_TYPES] });
  for (const service of CDS_SERVICES) {
    const path = `/cds-services/${service.definition.id}`;
    app.post(
      path,
      hookTiming(metrics, service.definition.id),
      requireCdsJwt(verifier, `${config.server.publicUrl}${path}`),
      requireJsonContentType,
      parseJson,
      service.createHandler(deps),
    );

    // The `aud` of a feedback call is the feedback URL, not the service URL.
    app.post(
      `${path}/feedback`,
      requireCdsJwt(verifier, `${config.server.publicUrl}${path}/feedback`),
      requireJsonContentType,
      parseFeedbackJson,
      service.createFeedbackHandler(deps),
    );
  }

  app.use(pacsNotificationRouter(deps));
  app.use(analysisRequestRouter(deps));
  // Public: the model card contains no patient data, and the SMART app shows it as the evidence.
  app.get(MODEL_CARD_PATH, modelCardHandler(deps.modelCard));

  app.use(smartAppRouter(config));

  app.use((req, _res, next) => {
    next(
      new Nqo1Error(
        'ERR_NOT_FOUND',
        `No route ${req.method} ${req.path}; the CDS services are listed at GET /cds-services`,
      ),
    );
  });
  app.use(errorHandler(config.locale));
  return app;
}
