/**
 * Links a card uuid from CDS Hooks feedback back to the stored analysis it was built from. A card
 * uuid is a SHA-1 of (Study Instance UID, model id, model version, card status), see `cardUuid`, so
 * it cannot be decoded. Instead the index computes the uuid of every card status for every stored
 * analysis and looks the feedback's uuid up.
 *
 * Every card the hook returns comes from a stored analysis (a study is stored before its first card),
 * and rows are never deleted, so reading the rows added since the last lookup keeps the index complete.
 */

import type { CardOrigin } from '../../src/jobs/feedback-store.js';
import type { IndexedResultKey, ResultStore } from '../../src/jobs/result-store.js';
import { cardUuid } from './cards.js';
import { CARD_MESSAGES, type FailureKind } from './messages.js';

/**
 * Every status part of a card uuid that `cards.ts` builds: in progress, the three result cards, the
 * patient-record conflict, and one per failure kind.
 */
export const CARD_STATUSES: readonly string[] = [
  'in-progress',
  'done-features',
  'done-high',
  'done-low',
  'patient-conflict',
  ...(Object.keys(CARD_MESSAGES.en.failureSummary) as FailureKind[]).map((kind) => `failed-${kind}`),
];

/**
 * In-memory map from card uuid to its origin, filled from the result store on each lookup.
 *
 * NOTE: the map holds one entry per card status per stored analysis, about 11 × 150 bytes, so
 * 100 000 analyses take about 165 MB (an estimate, not measured). Recording each card uuid in the
 * store when the hook returns the card would avoid the map.
 */
export class CardOriginIndex {
  readonly #store: Pick<ResultStore, 'keysAfter'>;
  readonly #origins = new Map<string, CardOrigin>();
  #lastRowid = 0;

  constructor(store: Pick<ResultStore, 'keysAfter'>) {
    this.#store = store;
  }

  /** Returns the origin of the card with uuid `uuid` (lower case), or undefined when none matches. */
  find(uuid: string): CardOrigin | undefined {
    for (const key of this.#store.keysAfter(this.#lastRowid)) this.#add(key);
    return this.#origins.get(uuid);
  }

  #add(key: IndexedResultKey): void {
    const context = {
      studyInstanceUid: key.studyInstanceUid,
      modelCard: { id: key.modelId, version: key.modelVersion },
    };
    for (const cardStatus of CARD_STATUSES) {
      this.#origins.set(cardUuid(context, cardStatus), {
        modelId: key.modelId,
        modelVersion: key.modelVersion,
        cardStatus,
        studyInstanceUid: key.studyInstanceUid,
      });
    }
    this.#lastRowid = Math.max(this.#lastRowid, key.rowid);
  }
}
