/** `nqo1-cds serve`: the CDS Hooks service with the study analyser, until SIGINT or SIGTERM. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { createStudyAnalyserFromConfig } from '../../jobs/analyse-study.js';
import { isNqo1Error, Nqo1Error } from '../../errors.js';
import { loadModelCard } from '../../model/card.js';
import { packagePath } from '../../paths.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { ServiceMetrics } from '../../server/metrics/service-metrics.js';
import { startServer } from '../../server/start.js';
import { isConnectionFailure } from '../../jobs/postgres-errors.js';
import type { QueueRole } from '../../jobs/queue-role.js';

export interface ServeOptions {
  readonly config?: string;
  /** Role of this process; defaults to `server.role` (`src/server/start.ts`). */
  readonly role?: QueueRole;
}

/**
 * Resolves the model card path. An absolute path is used as given. A relative path is taken from
 * the working folder when the file exists there, else from the installed product, so the default
 * works from any folder.
 */
function resolveCardPath(path: string): string {
  if (isAbsolute(path)) return path;
  const fromWorkingFolder = resolve(process.cwd(), path);
  return existsSync(fromWorkingFolder) ? fromWorkingFolder : packagePath(path);
}

/** Starts the service and resolves once it has stopped after a signal. */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const config = loadConfig(options.config === undefined ? {} : { configPath: options.config });
  const logger = createLogger();

  const modelCard = await loadModelCard(resolveCardPath(config.model.cardPath)).catch((error: unknown) => {
    // The card's message names the file, and the key shows IT where that path was configured.
    if (!isNqo1Error(error)) throw error;
    throw new Nqo1Error(
      error.code,
      `${error.message} It is set by model.cardPath (or NQO1_MODEL_CARD) in the site configuration.`,
      { cause: error, details: error.details },
    );
  });
  if (modelCard.scaling?.cohort.synthetic === true) {
    throw new Nqo1Error(
      'ERR_MODEL_CARD_INVALID',
      `Model card ${config.model.cardPath} was calibrated on a synthetic cohort (version ${modelCard.version}) and must not ` +
        'answer clinical hooks. Point model.cardPath at the published card or a card calibrated on real site cases.',
    );
  }

  if (config.auth.issuers.length === 0) {
    logger.warn(
      { key: 'auth.issuers' },
      'no EHR issuer is configured, so every hook call is rejected with 401; add the EHR issuer and its JWKS to the site configuration',
    );
  }

  const role = options.role ?? config.server.role;
  const metrics = new ServiceMetrics();
  // An API process only enqueues, so it opens no DICOMweb client and no worker threads.
  const analyse =
    role === 'api'
      ? undefined
      : createStudyAnalyserFromConfig(config, {
          modelCard,
          logger,
          onStageTimed: (stage, durationMs) => {
            metrics.observeStage(stage, durationMs);
          },
          onResponseBytes: (bytes) => {
            metrics.addDicomwebBytes(bytes);
          },
        });
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer(config, {
      role,
      logger,
      modelCard,
      metrics,
      ...(analyse === undefined ? {} : { analyse }),
      ...(analyse?.writer === undefined ? {} : { writer: analyse.writer }),
    });
  } catch (error) {
    // The analyser's worker threads would keep the process alive after a failed start.
    await analyse?.close();
    throw error;
  }

  if (config.store.engine === 'postgres') {
    // pg-boss settles a finished job without awaiting it; when the database is down at that moment,
    // the rejection reaches no handler. The job stays active, expires and runs again, so the process
    // goes on. Any other unhandled rejection still ends the process, as Node.js does by default.
    process.on('unhandledRejection', (reason) => {
      if (!isConnectionFailure(reason)) throw reason;
      logger.error(
        { code: 'ERR_STORE_UNAVAILABLE', errorName: reason instanceof Error ? reason.name : typeof reason },
        'job queue lost its database connection while settling a job; the job runs again once it expires',
      );
    });
  }

  await new Promise<void>((resolveStop) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping');
      void running
        .close()
        .then(() => analyse?.close())
        .then(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
