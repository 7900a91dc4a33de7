/**
 * Links a card uuid from CDS Hooks feedback back to the stored analysis it was built from. A card
 * uuid is a SHA-1 of (Study Instance UID, model id, model version, card status), see `cardUuid`, so
 * it cannot be decoded. Instead the index computes the uuid of every card status for every stored
 * analysis, stores them in the `card_uuids` table, and looks the feedback's uuid up there.
 *
 * Every card the hook returns comes from a stored analysis (a study is stored before its first card),
 * and analyses are never deleted, so indexing the analyses added since the last lookup keeps the
 * table complete. The table records the status list it was built with; when a release changes
 * {@link CARD_STATUSES}, the next lookup empties it and indexes every analysis again.
 */

import type { CardOrigin, IndexedCardUuid } from '../../src/jobs/feedback-store.js';
import type { ResultStore } from '../../src/jobs/store.js';
import { cardUuid } from './cards.js';
import { CARD_MESSAGES, type FailureKind } from './messages.js';

/** Status parts of the result cards' uuids (see `resultCardStatus`). */
const RESULT_STATUSES = ['done-features', 'done-high', 'done-low'] as const;

/**
 * Every status part of a card uuid that `cards.ts` builds: in progress, the three result cards, the
 * same three shown for an older study, the patient-record conflict, and one per failure kind.
 */
export const CARD_STATUSES: readonly string[] = [
  'in-progress',
  ...RESULT_STATUSES,
  ...RESULT_STATUSES.map((status) => `older-${status}`),
  'patient-conflict',
  ...(Object.keys(CARD_MESSAGES.en.failureSummary) as FailureKind[]).map((kind) => `failed-${kind}`),
];

/** Card uuid lookup over the result store, which contains the index. */
export class CardOriginIndex {
  readonly #store: Pick<ResultStore, 'keysAfter' | 'feedback'>;

  constructor(store: Pick<ResultStore, 'keysAfter' | 'feedback'>) {
    this.#store = store;
  }

  /**
   * Returns the origin of the card with uuid `uuid` (lower case), or undefined when no stored
   * analysis has a card with that uuid. Indexes the analyses stored since the previous call first.
   * A VACUUM that renumbered rowids could make it skip analyses, whose feedback would then be
   * counted as unlinked, but never under another analysis.
   *
   * NOTE: the first call after an upgrade indexes every existing analysis at once, on the event
   * loop. 20 000 analyses (220 000 uuids) took 1.1 to 1.7 s in two runs, with an in-memory
   * database on a 2-core machine under Node 20. Later calls index only the analyses added since.
   */
  async find(uuid: string): Promise<CardOrigin | undefined> {
    const { feedback } = this.#store;
    // A release that builds other card statuses indexes every analysis again.
    await feedback.resetCardUuidsUnlessIndexed(CARD_STATUSES);
    const newKeys = await this.#store.keysAfter(await feedback.lastIndexedAnalysisRowid());
    if (newKeys.length > 0) {
      const cards = newKeys.flatMap((key): IndexedCardUuid[] => {
        const context = {
          studyInstanceUid: key.studyInstanceUid,
          modelCard: { id: key.modelId, version: key.modelVersion },
        };
        return CARD_STATUSES.map((cardStatus) => ({
          cardUuid: cardUuid(context, cardStatus),
          analysisRowid: key.rowid,
          origin: {
            modelId: key.modelId,
            modelVersion: key.modelVersion,
            cardStatus,
            studyInstanceUid: key.studyInstanceUid,
          },
        }));
      });
      await feedback.indexCardUuids(cards);
    }
    return await feedback.findCardOrigin(uuid);
  }
}
