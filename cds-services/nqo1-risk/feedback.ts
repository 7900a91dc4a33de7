/**
 * Handler of `POST /cds-services/<id>/feedback` of both NQO1 risk services: stores each accepted or
 * overridden outcome once, with the service id and the model version of the card it concerns, and
 * responds 200 with an empty body. The
 * JWT (whose `aud` is this feedback URL) is verified by middleware before this runs.
 *
 * @see https://cds-hooks.hl7.org/2.0/#feedback
 */

import type { RequestHandler } from 'express';

import type { FeedbackRecord } from '../../src/jobs/feedback-store.js';
import { parseFeedbackRequest } from '../../src/server/cds-feedback.js';
import { requestContext } from '../../src/server/logger.js';
import type { ServiceDeps } from '../types.js';
import { CardOriginIndex } from './card-origins.js';
import type { Nqo1RiskDefinition } from './definition.js';

/** Creates the feedback handler of `definition`'s service, which stores its service id with each entry. */
export function createNqo1RiskFeedbackHandler(
  deps: ServiceDeps,
  definition: Nqo1RiskDefinition,
): RequestHandler {
  const origins = new CardOriginIndex(deps.store);

  return async (req, res) => {
    const entries = parseFeedbackRequest(req.body);

    // A uuid that matches no stored analysis (e.g. a card from another installation) is still
    // recorded, with the model this service uses now. That is exact unless the model card changed
    // since the card was shown, so `card_status` stays NULL to mark the guess.
    const currentModel = { modelId: deps.modelCard.id, modelVersion: deps.modelCard.version };
    const records: FeedbackRecord[] = [];
    for (const { card, ...entry } of entries) {
      records.push({
        ...entry,
        cardUuid: card,
        serviceId: definition.id,
        origin: (await origins.find(card)) ?? currentModel,
      });
    }
    const stored = await deps.store.feedback.insert(records);

    // Counts only: the entries may carry a clinician's free-text comment.
    const unlinked = records.filter((record) => record.origin.cardStatus === undefined).length;
    requestContext(res).log.info({ received: records.length, stored, unlinked }, 'card feedback stored');
    res.status(200).end();
  };
}
