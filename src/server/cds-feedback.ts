/**
 * The body of a CDS Hooks 2.0 feedback call, `POST {baseUrl}/cds-services/{id}/feedback`: an object
 * whose `feedback` array reports, per card, whether the user accepted or overrode it.
 *
 * Beyond the specification's required fields, the parser enforces that `acceptedSuggestions` comes
 * only with `accepted` and `overrideReason` only with `overridden`, and bounds every string so one
 * call cannot fill the database.
 *
 * @see https://cds-hooks.hl7.org/2.0/#feedback
 */

import * as z from 'zod';

import { parseJsonBody } from './json-body.js';

/** Maximum number of feedback entries in one call. */
export const MAX_FEEDBACK_ENTRIES = 100;

/**
 * Longest `overrideReason.userComment` stored, in characters. A longer comment is cut to this length
 * rather than rejected, so the outcome itself is still recorded.
 */
export const MAX_USER_COMMENT_CHARS = 1000;

/** Longest `id` of an accepted suggestion and longest `code` or `display` of a reason. */
const MAX_CODE_CHARS = 256;

/** Longest `system` URI of a reason coding. */
const MAX_SYSTEM_CHARS = 1024;

const codingSchema = z.looseObject({
  system: z.string().min(1).max(MAX_SYSTEM_CHARS).optional(),
  code: z.string().min(1).max(MAX_CODE_CHARS).optional(),
  display: z.string().max(MAX_CODE_CHARS).optional(),
});

const feedbackEntrySchema = z
  .looseObject({
    card: z.uuid({ error: 'expected the uuid of a card this service returned' }),
    outcome: z.enum(['accepted', 'overridden'], { error: 'expected "accepted" or "overridden"' }),
    acceptedSuggestions: z
      .array(z.looseObject({ id: z.string().min(1).max(MAX_CODE_CHARS) }))
      .max(MAX_FEEDBACK_ENTRIES)
      .optional(),
    overrideReason: z
      .looseObject({
        reason: codingSchema.optional(),
        // Not validated beyond its type: a longer comment is cut, and no message may quote it.
        userComment: z.string({ error: 'expected a string' }).optional(),
      })
      .optional(),
    outcomeTimestamp: z.iso.datetime({
      offset: true,
      error: 'expected an ISO 8601 date-time with a time zone, e.g. 2026-12-05T08:30:00Z',
    }),
  })
  .check((context) => {
    const entry = context.value;
    if (entry.acceptedSuggestions !== undefined && entry.outcome !== 'accepted') {
      context.issues.push({
        code: 'custom',
        input: entry.outcome,
        path: ['acceptedSuggestions'],
        message: 'acceptedSuggestions is allowed only with outcome "accepted"',
      });
    }
    if (entry.overrideReason !== undefined && entry.outcome !== 'overridden') {
      context.issues.push({
        code: 'custom',
        input: entry.outcome,
        path: ['overrideReason'],
        message: 'overrideReason is allowed only with outcome "overridden"',
      });
    }
  });

const feedbackRequestSchema = z.looseObject({
  feedback: z
    .array(feedbackEntrySchema)
    .min(1, { error: 'expected at least one feedback entry' })
    .max(MAX_FEEDBACK_ENTRIES, { error: `expected at most ${MAX_FEEDBACK_ENTRIES} feedback entries` }),
});

/** One validated feedback entry, with the card uuid in lower case and the timestamp in UTC. */
export interface CdsFeedbackEntry {
  readonly card: string;
  readonly outcome: 'accepted' | 'overridden';
  readonly acceptedSuggestionIds?: readonly string[];
  readonly overrideReason?: { readonly system?: string; readonly code?: string; readonly display?: string };
  /** The comment cut to {@link MAX_USER_COMMENT_CHARS} characters. */
  readonly userComment?: string;
  /** The client's `outcomeTimestamp` as `Date.prototype.toISOString()` returns it. */
  readonly outcomeTimestamp: string;
}

/**
 * Validates a feedback request body.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming each invalid field by its path, e.g.
 *   `feedback.0.outcome`. The message never quotes a value from the body.
 */
export function parseFeedbackRequest(body: unknown): CdsFeedbackEntry[] {
  const parsed = parseJsonBody(feedbackRequestSchema, body, 'CDS Hooks feedback');

  return parsed.feedback.map((entry) => {
    const reason = entry.overrideReason?.reason;
    const comment = entry.overrideReason?.userComment;
    return {
      card: entry.card.toLowerCase(),
      outcome: entry.outcome,
      outcomeTimestamp: new Date(entry.outcomeTimestamp).toISOString(),
      ...(entry.acceptedSuggestions === undefined
        ? {}
        : { acceptedSuggestionIds: entry.acceptedSuggestions.map((suggestion) => suggestion.id) }),
      ...(reason === undefined ? {} : { overrideReason: definedFields(reason) }),
      ...(comment === undefined ? {} : { userComment: cutToLength(comment, MAX_USER_COMMENT_CHARS) }),
    };
  });
}

/** Copies the `system`, `code` and `display` of a coding, leaving out absent ones. */
function definedFields(coding: z.infer<typeof codingSchema>): CdsFeedbackEntry['overrideReason'] & object {
  return {
    ...(coding.system === undefined ? {} : { system: coding.system }),
    ...(coding.code === undefined ? {} : { code: coding.code }),
    ...(coding.display === undefined ? {} : { display: coding.display }),
  };
}

/** Cuts `text` to `maxChars` Unicode code points, so a surrogate pair is never split. */
function cutToLength(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : Array.from(text).slice(0, maxChars).join('');
}
