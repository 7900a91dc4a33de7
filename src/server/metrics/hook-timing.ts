/** Middleware that records the latency of each CDS hook call in `nqo1_hook_duration_seconds`. */

import type { RequestHandler } from 'express';

import type { ServiceMetrics } from './service-metrics.js';

/**
 * Returns a middleware that times a hook call of the service `serviceId` from its arrival to the
 * end of its response, rejected calls (401, 400) included. Place it first in the route's chain.
 */
export function hookTiming(metrics: ServiceMetrics, serviceId: string): RequestHandler {
  return (_req, res, next) => {
    const startedAt = process.hrtime.bigint();
    res.on('finish', () => {
      const durationSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      metrics.observeHook(serviceId, res.statusCode, durationSeconds);
    });
    next();
  };
}
