import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { cardUuid } from '../../cds-services/nqo1-risk/cards.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { createHarness, HOOK_URL, hookRequest, PUBLIC_URL, type Harness } from '../support/cds-fixtures.js';

const FEEDBACK_PATH = '/cds-services/nqo1-risk/feedback';
const FEEDBACK_URL = `${HOOK_URL}/feedback`;
const OVERRIDE_SYSTEM = 'urn:example:override-reason';
const COMMENT = 'Tumour margin drawn on the wrong lesion, see MDT note';

/** An analysis of the shipped model's previous version, stored before the feedback arrives. */
const OLD_VERSION_JOB: AnalysisJob = {
  studyInstanceUid: '1.2.826.0.1.42',
  imagingStudyId: 'study-42',
  patientId: 'pat-1',
  modelId: 'br-ro',
  modelVersion: '0.9.0',
};

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function openHarness(): Promise<Harness> {
  harness = await createHarness();
  return harness;
}

async function feedbackToken(h: Harness, aud = FEEDBACK_URL): Promise<string> {
  return `Bearer ${await h.issuer.sign({ aud, now: new Date() })}`;
}

async function sendFeedback(h: Harness, body: unknown): Promise<request.Response> {
  return await request(h.app)
    .post(FEEDBACK_PATH)
    .set('Authorization', await feedbackToken(h))
    .send(body as object);
}

/** Calls the hook once and returns the uuid of the card it sent. */
async function hookCardUuid(h: Harness): Promise<string> {
  const response = await request(h.app)
    .post('/cds-services/nqo1-risk')
    .set('Authorization', await h.authorization())
    .send(hookRequest());
  expect(response.status).toBe(200);
  const cards = (response.body as { cards: { uuid: string }[] }).cards;
  expect(cards).toHaveLength(1);
  return cards[0]!.uuid;
}

async function healthFeedback(h: Harness): Promise<unknown> {
  const response = await request(h.app).get('/healthz');
  expect(response.status).toBe(200);
  return (response.body as { feedback: unknown }).feedback;
}

function accepted(card: string, outcomeTimestamp = '2026-12-05T08:30:00Z'): Record<string, unknown> {
  return { card, outcome: 'accepted', outcomeTimestamp };
}

function overridden(card: string, code = 'disagree-with-segmentation'): Record<string, unknown> {
  return {
    card,
    outcome: 'overridden',
    overrideReason: { reason: { system: OVERRIDE_SYSTEM, code }, userComment: COMMENT },
    outcomeTimestamp: '2026-12-05T08:31:00Z',
  };
}

describe('POST /cds-services/nqo1-risk/feedback', () => {
  test('stores feedback on a hook card', async () => {
    const h = await openHarness();
    const card = await hookCardUuid(h);

    const response = await sendFeedback(h, { feedback: [accepted(card)] });

    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(await healthFeedback(h)).toEqual([
      {
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        accepted: 1,
        overridden: 0,
        unlinked: 0,
        overrideReasons: [],
      },
    ]);
    expect(h.logs.withMessage('card feedback stored')[0]).toMatchObject({
      received: 1,
      stored: 1,
      unlinked: 0,
    });
  });

  test('counts a card under the model version it came from', async () => {
    const h = await openHarness();
    await h.store.insertPending(OLD_VERSION_JOB);
    const card = cardUuid(
      { studyInstanceUid: OLD_VERSION_JOB.studyInstanceUid, modelCard: { id: 'br-ro', version: '0.9.0' } },
      'done-high',
    );

    const response = await sendFeedback(h, { feedback: [overridden(card.toUpperCase())] });

    expect(response.status).toBe(200);
    expect(await healthFeedback(h)).toEqual([
      {
        modelId: 'br-ro',
        modelVersion: '0.9.0',
        accepted: 0,
        overridden: 1,
        unlinked: 0,
        overrideReasons: [{ system: OVERRIDE_SYSTEM, code: 'disagree-with-segmentation', count: 1 }],
      },
    ]);
  });

  test('stores the same entry once', async () => {
    const h = await openHarness();
    const card = await hookCardUuid(h);

    const first = await sendFeedback(h, { feedback: [accepted(card)] });
    const again = await sendFeedback(h, { feedback: [accepted(card)] });
    // The same instant written with a +08:00 offset is the same outcome timestamp.
    const sameInstant = await sendFeedback(h, { feedback: [accepted(card, '2026-12-05T16:30:00+08:00')] });

    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(sameInstant.status).toBe(200);
    expect(await healthFeedback(h)).toMatchObject([{ accepted: 1, overridden: 0 }]);
    expect(h.logs.withMessage('card feedback stored').map((entry) => entry.stored)).toEqual([1, 0, 0]);
  });

  test('counts two outcomes of one card separately', async () => {
    const h = await openHarness();
    const card = await hookCardUuid(h);

    const response = await sendFeedback(h, {
      feedback: [accepted(card), overridden(card), accepted(card, '2026-12-05T09:00:00Z')],
    });

    expect(response.status).toBe(200);
    expect(await healthFeedback(h)).toEqual([
      {
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        accepted: 2,
        overridden: 1,
        unlinked: 0,
        overrideReasons: [{ system: OVERRIDE_SYSTEM, code: 'disagree-with-segmentation', count: 1 }],
      },
    ]);
  });

  test('counts an unknown card under the current model', async () => {
    const h = await openHarness();

    const response = await sendFeedback(h, {
      feedback: [accepted('0f8fad5b-d9cb-469f-a165-70867728950e')],
    });

    expect(response.status).toBe(200);
    expect(await healthFeedback(h)).toEqual([
      {
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        accepted: 1,
        overridden: 0,
        unlinked: 1,
        overrideReasons: [],
      },
    ]);
  });

  test.each(['nqo1-risk', 'nqo1-risk-encounter'])('stores the service id %s', async (serviceId) => {
    const h = await openHarness();
    const insert = vi.spyOn(h.store.feedback, 'insert');
    const url = `${PUBLIC_URL}/cds-services/${serviceId}/feedback`;

    const response = await request(h.app)
      .post(`/cds-services/${serviceId}/feedback`)
      .set('Authorization', await feedbackToken(h, url))
      .send({ feedback: [accepted('0f8fad5b-d9cb-469f-a165-70867728950e')] });

    expect(response.status).toBe(200);
    expect(insert).toHaveBeenCalledTimes(1);
    expect(insert.mock.calls[0]?.[0].map((record) => record.serviceId)).toEqual([serviceId]);
  });

  test('never logs the user comment', async () => {
    const h = await openHarness();
    const card = await hookCardUuid(h);

    const stored = await sendFeedback(h, { feedback: [overridden(card)] });
    const rejected = await sendFeedback(h, {
      feedback: [{ ...overridden(card), outcome: 'accepted' }],
    });

    expect(stored.status).toBe(200);
    expect(rejected.status).toBe(400);
    expect(h.logs.text()).not.toContain('MDT note');
  });

  test.each([
    ['a missing feedback array', {}, 'feedback: '],
    ['an empty feedback array', { feedback: [] }, 'feedback: expected at least one feedback entry'],
    [
      'an outcome outside the value set',
      { feedback: [{ ...accepted('0f8fad5b-d9cb-469f-a165-70867728950e'), outcome: 'rejected' }] },
      'feedback.0.outcome: expected "accepted" or "overridden"',
    ],
    [
      'a card that is no uuid',
      { feedback: [accepted('card-1')] },
      'feedback.0.card: expected the uuid of a card this service returned',
    ],
    [
      'a timestamp without time zone',
      { feedback: [accepted('0f8fad5b-d9cb-469f-a165-70867728950e', '2026-12-05T08:30:00')] },
      'feedback.0.outcomeTimestamp: expected an ISO 8601 date-time with a time zone',
    ],
    [
      'an override reason on an accepted card',
      { feedback: [{ ...overridden('0f8fad5b-d9cb-469f-a165-70867728950e'), outcome: 'accepted' }] },
      'feedback.0.overrideReason: overrideReason is allowed only with outcome "overridden"',
    ],
    [
      'accepted suggestions on an overridden card',
      {
        feedback: [
          { ...overridden('0f8fad5b-d9cb-469f-a165-70867728950e'), acceptedSuggestions: [{ id: 's-1' }] },
        ],
      },
      'feedback.0.acceptedSuggestions: acceptedSuggestions is allowed only with outcome "accepted"',
    ],
  ])('rejects %s with 400', async (_case, body, diagnostics) => {
    const h = await openHarness();

    const response = await sendFeedback(h, body);

    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        {
          code: 'invalid',
          details: { coding: [{ code: 'ERR_REQUEST_INVALID' }] },
          diagnostics: expect.stringContaining(diagnostics) as unknown,
        },
      ],
    });
    expect(await healthFeedback(h)).toEqual([]);
  });

  test('rejects a call without a token with a bare 401', async () => {
    const h = await openHarness();

    const response = await request(h.app)
      .post(FEEDBACK_PATH)
      .send({ feedback: [accepted(await hookCardUuid(h))] });

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(await healthFeedback(h)).toEqual([]);
  });

  test('rejects a token for the hook URL', async () => {
    const h = await openHarness();
    const card = await hookCardUuid(h);

    const response = await request(h.app)
      .post(FEEDBACK_PATH)
      .set('Authorization', await feedbackToken(h, HOOK_URL))
      .send({ feedback: [accepted(card)] });

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(h.logs.withMessage('request rejected').at(-1)).toMatchObject({
      details: { reason: 'wrong_audience' },
    });
    expect(await healthFeedback(h)).toEqual([]);
  });

  test('responds 500 when the store is closed', async () => {
    const h = await openHarness();
    await h.store.close();

    const response = await sendFeedback(h, { feedback: [accepted('0f8fad5b-d9cb-469f-a165-70867728950e')] });
    const discovery = await request(h.app).get('/cds-services');

    expect(response.status).toBe(500);
    expect(JSON.parse(response.text)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'exception', details: { coding: [{ code: 'ERR_INTERNAL' }] } }],
    });
    expect(discovery.status).toBe(200);
  });
});
