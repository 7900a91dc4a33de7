/**
 * `POST /pacs/studies`: the PACS announces a study that has arrived, and the service enqueues its
 * analysis at once, so the result is ready before a hook requests it. Orthanc sends it from the Lua
 * script `config/orthanc/on-stable-study.lua`; any PACS that can send an HTTP request can too.
 *
 * The caller proves itself with a shared secret sent as `Authorization: Bearer <secret>`; the
 * secret is read from the environment variable that `notifications.tokenEnv` names, or from the file
 * that its `_FILE` variable names (`src/secret-env.ts`). Without that
 * setting the route is off and answers 404. A missing or wrong secret gets a bare 401, and the log
 * records only the reason.
 *
 * The job carries no FHIR ids: the first hook for the study binds them (`ResultStore.bindFhirIds`).
 * A study whose analysis failed is queued again at once, without waiting `jobs.retryFailedAfterMs`.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

import express from 'express';
import * as z from 'zod';

import { Nqo1Error } from '../errors.js';
import type { AnalysisQueue, EnqueueOutcome } from '../jobs/queue.js';
import type { ModelCard } from '../model/card.js';
import type { AppConfig } from './config.js';
import { readSecretEnv } from '../secret-env.js';
import { requestContext } from './logger.js';

/** Path of the notification route. */
export const PACS_NOTIFICATION_PATH = '/pacs/studies';

/** Body size limit. A notification is one UID, and 4 kB leaves room for fields a PACS adds and the service ignores. */
const MAX_NOTIFICATION_BODY_BYTES = '4kb';

/** A DICOM UID (PS3.5 §9.1): digits in dot-separated components, at most 64 characters. */
const dicomUid = z
  .string({ error: 'expected studyInstanceUid as a string' })
  .max(64, { error: 'expected a DICOM UID of at most 64 characters' })
  .regex(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/, {
    error: 'expected a DICOM UID such as 1.2.840.113619.2.55.3, digits and dots only',
  });

const notificationSchema = z.object({ studyInstanceUid: dicomUid });

/** Body of the 202 response. */
export interface PacsNotificationResponse {
  readonly studyInstanceUid: string;
  /**
   * `exists` when the study was already queued or analysed for the loaded model version, `requeued`
   * when its failed analysis runs again.
   */
  readonly outcome: EnqueueOutcome;
}

export interface PacsNotificationDeps {
  readonly config: Pick<AppConfig, 'notifications'>;
  readonly queue: Pick<AnalysisQueue, 'enqueue'>;
  readonly modelCard: Pick<ModelCard, 'id' | 'version'>;
  /** Environment to read the secret from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds the router of `POST /pacs/studies`.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when `notifications.tokenEnv` names an unset variable.
 */
export function pacsNotificationRouter(deps: PacsNotificationDeps): express.Router {
  const router = express.Router();
  const secretDigest = readSecretDigest(deps);

  if (secretDigest === undefined) {
    router.post(PACS_NOTIFICATION_PATH, (_req, _res, next) => {
      next(
        new Nqo1Error(
          'ERR_NOT_FOUND',
          'PACS notifications are off; set notifications.tokenEnv to the name of an environment variable ' +
            'holding a shared secret, and send that secret as a bearer token.',
        ),
      );
    });
    return router;
  }

  router.post(
    PACS_NOTIFICATION_PATH,
    (req, _res, next) => {
      next(checkBearer(req.get('authorization'), secretDigest));
    },
    express.json({ limit: MAX_NOTIFICATION_BODY_BYTES }),
    async (req, res) => {
      const parsed = notificationSchema.safeParse(req.body);
      if (!parsed.success) {
        const problem = parsed.error.issues[0]?.message ?? 'expected { "studyInstanceUid": "<UID>" }';
        throw new Nqo1Error(
          'ERR_REQUEST_INVALID',
          `The notification body is invalid: ${problem}; send { "studyInstanceUid": "<UID>" } as JSON.`,
        );
      }

      // The PACS sends a notification when it has stored new instances of the study, which may
      // include the segmentation whose absence failed the last analysis, so a failed analysis runs
      // again at once.
      const { studyInstanceUid } = parsed.data;
      const outcome = await deps.queue.enqueue(
        { studyInstanceUid, modelId: deps.modelCard.id, modelVersion: deps.modelCard.version },
        { retryFailedNow: true },
      );
      requestContext(res).log.info({ studyInstanceUid, outcome }, 'PACS notification received');
      res.status(202).json({ studyInstanceUid, outcome } satisfies PacsNotificationResponse);
    },
  );
  return router;
}

/** SHA-256 of the configured secret, or undefined when notifications are off. */
function readSecretDigest(deps: PacsNotificationDeps): Buffer | undefined {
  const tokenEnv = deps.config.notifications.tokenEnv;
  if (tokenEnv === undefined) return undefined;

  return sha256(readSecretEnv(tokenEnv, 'notifications.tokenEnv', deps.env));
}

/**
 * Compares the bearer token with the secret in constant time (both hashed, so their lengths match).
 * Returns an `ERR_UNAUTHORIZED` error naming the reason, or undefined when the token is right.
 */
function checkBearer(authorization: string | undefined, secretDigest: Buffer): Nqo1Error | undefined {
  const match = /^Bearer +(\S+)$/i.exec(authorization ?? '');
  const token = match?.[1];
  const reason =
    authorization === undefined
      ? 'missing_authorization'
      : token === undefined
        ? 'not_bearer'
        : timingSafeEqual(sha256(token), secretDigest)
          ? undefined
          : 'wrong_secret';
  if (reason === undefined) return undefined;
  return new Nqo1Error('ERR_UNAUTHORIZED', `PACS notification rejected: ${reason}`, {
    details: { reason },
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
