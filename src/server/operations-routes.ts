/**
 * The operations endpoints for the orchestrator and the monitoring system:
 * - `GET /readyz`: 200 `{ status: "ready", … }` when the store, the queue and the allowlisted
 *   servers answer (`readiness.ts`), else 503 with `notReady` naming what is not ready;
 * - `GET /metrics`: the Prometheus text exposition (`metrics/service-metrics.ts`), behind a bearer
 *   token when `operations.metricsTokenEnv` names one.
 *
 * `/healthz` (in `app.ts`) stays the liveness check: it never contacts another server.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

import express from 'express';

import { Nqo1Error } from '../errors.js';
import { bearerToken } from './bearer-token.js';
import type { AppConfig } from './config.js';
import { EXPOSITION_CONTENT_TYPE } from './metrics/registry.js';
import type { ServiceMetrics } from './metrics/service-metrics.js';
import type { ReadinessCheck } from './readiness.js';
import { readSecretEnv } from '../secret-env.js';

export interface OperationsDeps {
  readonly config: Pick<AppConfig, 'operations'>;
  readonly metrics: ServiceMetrics;
  /** Absent: `/readyz` responds with 503 and names every component, since nothing can be checked. */
  readonly readiness?: ReadinessCheck;
  /** Environment to read the metrics token from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds the router of `/readyz` and `/metrics`.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when `operations.metricsTokenEnv` names a variable that is unset.
 */
export function operationsRouter(deps: OperationsDeps): express.Router {
  const router = express.Router();
  const tokenEnv = deps.config.operations.metricsTokenEnv;
  const tokenDigest =
    tokenEnv === undefined
      ? undefined
      : sha256(readSecretEnv(tokenEnv, 'operations.metricsTokenEnv', deps.env));

  router.get('/readyz', async (_req, res) => {
    if (deps.readiness === undefined) {
      res
        .status(503)
        .json({ status: 'not-ready', notReady: ['store', 'queue', 'dicomweb', 'fhir'], components: {} });
      return;
    }
    const report = await deps.readiness.check();
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });

  router.get('/metrics', (req, _res, next) => {
    if (tokenDigest === undefined) {
      next();
      return;
    }
    const token = bearerToken(req.get('authorization'));
    if (token !== undefined && timingSafeEqual(sha256(token), tokenDigest)) {
      next();
      return;
    }
    const reason = token === undefined ? 'missing_bearer_token' : 'wrong_token';
    next(new Nqo1Error('ERR_UNAUTHORIZED', `Metrics request rejected: ${reason}`, { details: { reason } }));
  });
  router.get('/metrics', async (_req, res) => {
    await deps.metrics.collect();
    res.status(200).type(EXPOSITION_CONTENT_TYPE).send(deps.metrics.render());
  });
  return router;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
