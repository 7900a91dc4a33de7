import { describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import {
  MAX_FEEDBACK_ENTRIES,
  MAX_USER_COMMENT_CHARS,
  parseFeedbackRequest,
} from '../../src/server/cds-feedback.js';

const CARD = '0F8FAD5B-D9CB-469F-A165-70867728950E';

function parseError(body: unknown): string {
  try {
    parseFeedbackRequest(body);
  } catch (error) {
    if (isNqo1Error(error) && error.code === 'ERR_REQUEST_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected ERR_REQUEST_INVALID');
}

describe('parseFeedbackRequest', () => {
  test('normalises the card uuid and timestamp', () => {
    const [entry] = parseFeedbackRequest({
      feedback: [
        {
          card: CARD,
          outcome: 'accepted',
          acceptedSuggestions: [{ id: 's-1' }, { id: 's-2' }],
          outcomeTimestamp: '2026-12-05T16:30:00+08:00',
          extension: { 'org.example.ward': 'HPB' },
        },
      ],
    });

    expect(entry).toEqual({
      card: CARD.toLowerCase(),
      outcome: 'accepted',
      acceptedSuggestionIds: ['s-1', 's-2'],
      outcomeTimestamp: '2026-12-05T08:30:00.000Z',
    });
  });

  test('cuts a long comment to the stored maximum', () => {
    const comment = `${'肿'.repeat(MAX_USER_COMMENT_CHARS - 1)}😀😀`;
    const [entry] = parseFeedbackRequest({
      feedback: [
        {
          card: CARD,
          outcome: 'overridden',
          overrideReason: { reason: { code: 'other', display: 'Other' }, userComment: comment },
          outcomeTimestamp: '2026-12-05T08:30:00Z',
        },
      ],
    });

    expect(Array.from(entry?.userComment ?? '')).toHaveLength(MAX_USER_COMMENT_CHARS);
    expect(entry?.userComment?.endsWith('肿😀')).toBe(true);
    expect(entry?.overrideReason).toEqual({ code: 'other', display: 'Other' });
  });

  test('rejects more entries than the maximum', () => {
    const entry = { card: CARD, outcome: 'accepted', outcomeTimestamp: '2026-12-05T08:30:00Z' };
    const feedback = Array.from({ length: MAX_FEEDBACK_ENTRIES + 1 }, () => entry);

    expect(parseError({ feedback })).toBe(
      `Invalid CDS Hooks feedback: feedback: expected at most ${MAX_FEEDBACK_ENTRIES} feedback entries`,
    );
  });

  test('names each invalid field without quoting values', () => {
    const message = parseError({
      feedback: [
        { card: CARD, outcome: 'accepted', outcomeTimestamp: 'yesterday' },
        {
          card: CARD,
          outcome: 'overridden',
          overrideReason: { userComment: 42 },
          outcomeTimestamp: '2026-12-05T08:30:00Z',
        },
      ],
    });

    expect(message).toContain('feedback.0.outcomeTimestamp: expected an ISO 8601 date-time');
    expect(message).toContain('feedback.1.overrideReason.userComment: expected a string');
    expect(message).not.toContain('yesterday');
    expect(message).not.toContain('42');
  });
});
