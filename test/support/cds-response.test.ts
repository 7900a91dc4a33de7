/**
 * The response checkers must reject what the spec forbids, so each rule is fed a response broken in
 * exactly that way and must name the broken path. The unbroken starting points are real output of
 * this service: a result card with every optional field it sends, and the discovery response.
 */
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { buildInProgressCard, buildResultCard } from '../../cds-services/nqo1-risk/cards.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../../src/model/card.js';
import type { ScoreResult } from '../../src/model/result.js';
import { createHarness, type Harness } from './cds-fixtures.js';
import { validateCdsResponse, validateDiscoveryResponse } from './cds-response.js';
import { calibratedResult } from './score-result.js';

type Json = Record<string, unknown>;

const SCORE: ScoreResult = calibratedResult({ probability: 0.7 });

/** Builds a response with one result card carrying a smart link, a viewer link and override reasons. */
async function validResponse(): Promise<Json> {
  const modelCard = await loadModelCard(BR_RO_CARD_PATH);
  const card = buildResultCard(
    {
      studyInstanceUid: '1.2.3',
      modelCard,
      locale: 'en',
      smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
      viewerUrlTemplate: 'http://127.0.0.1:3000/viewer?StudyInstanceUIDs={{studyInstanceUid}}',
    },
    SCORE,
    'analysis-1',
  );
  return JSON.parse(JSON.stringify({ cards: [card] })) as Json;
}

/** Returns the first card of a response built by {@link validResponse}. */
function card(response: Json): Json {
  return (response.cards as Json[])[0]!;
}

function link(response: Json, index: number): Json {
  return (card(response).links as Json[])[index]!;
}

describe('validateCdsResponse', () => {
  test('accepts the result card and the in-progress card of this service', async () => {
    const response = await validResponse();
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const inProgress = buildInProgressCard({
      studyInstanceUid: '1.2.3',
      modelCard,
      locale: 'zh-CN',
      smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
    });

    expect(card(response).overrideReasons).toHaveLength(4);
    expect(link(response, 1).type).toBe('absolute');
    expect(validateCdsResponse(response)).toEqual([]);
    expect(validateCdsResponse({ cards: [inProgress] })).toEqual([]);
    expect(validateCdsResponse({ cards: [] })).toEqual([]);
  });

  type Breakage = readonly [rule: string, expected: string, breakResponse: (response: Json) => unknown];
  const breakages: readonly Breakage[] = [
    ['body is not an object', 'response: expected an object with a cards array', () => ['cards']],
    ['cards is missing', 'response: expected an object with a cards array', () => ({ card: [] })],
    [
      'unknown top-level field',
      'response.extraCards: not a field of the CDS Hooks 2.0 spec',
      (r) => ({ ...r, extraCards: [1] }),
    ],
    [
      'systemActions not an array',
      'response.systemActions: expected an array',
      (r) => ({ ...r, systemActions: {} }),
    ],
    ['card not an object', 'cards[0]: expected an object', () => ({ cards: ['a card'] })],
    [
      'uuid missing',
      'cards[0].uuid: undefined is not a UUID',
      (r) => {
        delete card(r).uuid;
      },
    ],
    [
      'uuid not in 8-4-4-4-12 form',
      'cards[0].uuid: "card-1" is not a UUID',
      (r) => {
        card(r).uuid = 'card-1';
      },
    ],
    [
      'uuid with version digit 0',
      'is not a UUID',
      (r) => {
        card(r).uuid = '3f2504e0-4f89-01d3-9a0c-0305e82c3301';
      },
    ],
    [
      'uuid with variant bits 11',
      'is not a UUID',
      (r) => {
        card(r).uuid = '3f2504e0-4f89-51d3-ca0c-0305e82c3301';
      },
    ],
    [
      'summary missing',
      'cards[0].summary: missing',
      (r) => {
        delete card(r).summary;
      },
    ],
    [
      'summary of 140 characters',
      'cards[0].summary: 140 characters, must be < 140',
      (r) => {
        card(r).summary = 'x'.repeat(140);
      },
    ],
    [
      'summary of 140 Chinese characters',
      'cards[0].summary: 140 characters, must be < 140',
      (r) => {
        card(r).summary = '风'.repeat(140);
      },
    ],
    [
      'indicator outside the value set',
      'cards[0].indicator: "danger" is not info, warning or critical',
      (r) => {
        card(r).indicator = 'danger';
      },
    ],
    [
      'indicator missing',
      'cards[0].indicator: undefined',
      (r) => {
        delete card(r).indicator;
      },
    ],
    [
      'detail not a string',
      'cards[0].detail: expected a string',
      (r) => {
        card(r).detail = 42;
      },
    ],
    [
      'source missing',
      'cards[0].source.label: missing',
      (r) => {
        delete card(r).source;
      },
    ],
    [
      'source without label',
      'cards[0].source.label: missing',
      (r) => {
        delete (card(r).source as Json).label;
      },
    ],
    [
      'source.url relative',
      'cards[0].source.url: not an absolute URL',
      (r) => {
        (card(r).source as Json).url = '/doi/10.1371';
      },
    ],
    [
      'source.icon not http(s)',
      'cards[0].source.icon: not an absolute URL',
      (r) => {
        (card(r).source as Json).icon = 'ftp://127.0.0.1/icon.png';
      },
    ],
    [
      'source.topic a string',
      'cards[0].source.topic: expected a Coding object',
      (r) => {
        (card(r).source as Json).topic = 'nqo1';
      },
    ],
    [
      'source.topic without code',
      'cards[0].source.topic.code: missing',
      (r) => {
        delete ((card(r).source as Json).topic as Json).code;
      },
    ],
    [
      'source.topic without system',
      'cards[0].source.topic.system: missing',
      (r) => {
        delete ((card(r).source as Json).topic as Json).system;
      },
    ],
    [
      'source.topic with a non-Coding field',
      'cards[0].source.topic.text: not a field of the CDS Hooks 2.0 spec',
      (r) => {
        ((card(r).source as Json).topic as Json).text = 'NQO1';
      },
    ],
    [
      'suggestions without selectionBehavior',
      'cards[0].selectionBehavior: undefined is not at-most-one or any',
      (r) => {
        card(r).suggestions = [{ label: 'Order biopsy' }];
      },
    ],
    [
      'selectionBehavior without suggestions',
      'cards[0].selectionBehavior: set without suggestions',
      (r) => {
        card(r).selectionBehavior = 'any';
      },
    ],
    [
      'misspelt card field',
      'cards[0].overideReasons: not a field of the CDS Hooks 2.0 spec',
      (r) => {
        card(r).overideReasons = [{ system: 'urn:x', code: 'y', display: 'z' }];
      },
    ],
    [
      'links not an array',
      'cards[0].links: expected an array',
      (r) => {
        card(r).links = { url: 'x' };
      },
    ],
    [
      'link not an object',
      'cards[0].links[0]: expected an object',
      (r) => {
        card(r).links = ['x'];
      },
    ],
    [
      'link without label',
      'cards[0].links[0].label: missing',
      (r) => {
        delete link(r, 0).label;
      },
    ],
    [
      'link url relative',
      'cards[0].links[0].url: not an absolute URL',
      (r) => {
        link(r, 0).url = 'smart-app/launch.html';
      },
    ],
    [
      'link type outside the value set',
      'cards[0].links[1].type: "web" is not absolute or smart',
      (r) => {
        link(r, 1).type = 'web';
      },
    ],
    [
      'appContext on an absolute link',
      'cards[0].links[1].appContext: only allowed on a smart link',
      (r) => {
        link(r, 1).appContext = 'analysis-1';
      },
    ],
    [
      'appContext not a string',
      'cards[0].links[0].appContext: expected a string',
      (r) => {
        link(r, 0).appContext = { id: 'analysis-1' };
      },
    ],
    [
      'link with a non-spec field',
      'cards[0].links[0].target: not a field of the CDS Hooks 2.0 spec',
      (r) => {
        link(r, 0).target = '_blank';
      },
    ],
    [
      'overrideReasons not an array',
      'cards[0].overrideReasons: expected an array',
      (r) => {
        card(r).overrideReasons = 'already-known';
      },
    ],
    [
      'override reason a bare code',
      'cards[0].overrideReasons[0]: expected a Coding object',
      (r) => {
        card(r).overrideReasons = ['already-known'];
      },
    ],
    [
      'override reason without display',
      'cards[0].overrideReasons[2].display: missing',
      (r) => {
        delete (card(r).overrideReasons as Json[])[2]!.display;
      },
    ],
    [
      'override reason without system',
      'cards[0].overrideReasons[0].system: missing',
      (r) => {
        delete (card(r).overrideReasons as Json[])[0]!.system;
      },
    ],
    [
      'override reason without code',
      'cards[0].overrideReasons[3].code: missing',
      (r) => {
        delete (card(r).overrideReasons as Json[])[3]!.code;
      },
    ],
    [
      'null deep inside a card',
      'cards[0].source.topic.display: null',
      (r) => {
        ((card(r).source as Json).topic as Json).display = null;
      },
    ],
    [
      'empty string',
      'cards[0].detail: empty string',
      (r) => {
        card(r).detail = '';
      },
    ],
    [
      'empty array',
      'cards[0].links: empty array',
      (r) => {
        card(r).links = [];
      },
    ],
    [
      'empty object',
      'cards[0].links[0]: empty object',
      (r) => {
        card(r).links = [{}];
      },
    ],
    ['null at the top level', 'systemActions: null', (r) => ({ ...r, systemActions: null })],
  ];

  test.each(breakages)('rejects %s', async (_rule, expected, breakResponse) => {
    const response = await validResponse();
    const broken = breakResponse(response) ?? response;

    const problems = validateCdsResponse(broken);

    expect(problems).toContainEqual(expect.stringContaining(expected));
  });

  test('accepts a summary of 139 characters', async () => {
    const response = await validResponse();
    card(response).summary = '风'.repeat(139);

    expect(validateCdsResponse(response)).toEqual([]);
  });
});

describe('validateDiscoveryResponse', () => {
  let harness: Harness | undefined;

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  async function discovery(): Promise<Json> {
    harness = await createHarness();
    const response = await request(harness.app).get('/cds-services');
    expect(response.status).toBe(200);
    return response.body as Json;
  }

  function service(response: Json): Json {
    return (response.services as Json[])[0]!;
  }

  test('accepts the discovery response of this service', async () => {
    const response = await discovery();

    expect(service(response).id).toBe('nqo1-risk');
    expect(validateDiscoveryResponse(response)).toEqual([]);
  });

  type Breakage = readonly [rule: string, expected: string, breakResponse: (response: Json) => unknown];
  const breakages: readonly Breakage[] = [
    ['services missing', 'discovery: expected an object with a services array', () => ({ service: [] })],
    ['unknown top-level field', 'discovery.version: not a field', (r) => ({ ...r, version: '2.0' })],
    ['service not an object', 'services[0]: expected an object', () => ({ services: ['nqo1-risk'] })],
    [
      'hook missing',
      'services[0].hook: missing',
      (r) => {
        delete service(r).hook;
      },
    ],
    [
      'description empty',
      'services[0].description: missing',
      (r) => {
        service(r).description = '';
      },
    ],
    [
      'id missing',
      'services[0].id: missing',
      (r) => {
        delete service(r).id;
      },
    ],
    [
      'id with a slash',
      'services[0].id: "nqo1/risk" is not a URL path segment',
      (r) => {
        service(r).id = 'nqo1/risk';
      },
    ],
    [
      'duplicate id',
      'services[1].id: "nqo1-risk" is not unique',
      (r) => ({ services: [service(r), { ...service(r), hook: 'encounter-start' }] }),
    ],
    [
      'title not a string',
      'services[0].title: expected a string',
      (r) => {
        service(r).title = 7;
      },
    ],
    [
      'field outside the spec',
      'services[0].url: not a field of the CDS Hooks 2.0 spec',
      (r) => {
        service(r).url = 'http://127.0.0.1:8080/cds-services/nqo1-risk';
      },
    ],
    [
      'prefetch a list',
      'services[0].prefetch: expected an object of templates',
      (r) => {
        service(r).prefetch = ['Patient/{{context.patientId}}'];
      },
    ],
    [
      'prefetch template an absolute URL',
      'services[0].prefetch.patient: must be relative to the FHIR server',
      (r) =>
        void ((service(r).prefetch as Json).patient =
          'http://127.0.0.1:8103/fhir/R4/Patient/{{context.patientId}}'),
    ],
    [
      'prefetch template not starting with a resource type',
      'services[0].prefetch.patient: must start with a FHIR resource type',
      (r) => {
        (service(r).prefetch as Json).patient = '{{context.patientId}}';
      },
    ],
    [
      'unknown prefetch token',
      'services[0].prefetch.studies: unknown prefetch token {{patient.id}}',
      (r) => {
        (service(r).prefetch as Json).studies = 'ImagingStudy?patient={{patient.id}}';
      },
    ],
    [
      'unbalanced prefetch braces',
      'services[0].prefetch.patient: unbalanced {{ }}',
      (r) => {
        (service(r).prefetch as Json).patient = 'Patient/{{context.patientId}';
      },
    ],
    [
      'prefetch template not a string',
      'services[0].prefetch.patient: expected a string',
      (r) => {
        (service(r).prefetch as Json).patient = 1;
      },
    ],
    [
      'null value',
      'services[0].usageRequirements: null',
      (r) => {
        service(r).usageRequirements = null;
      },
    ],
    [
      'empty prefetch',
      'services[0].prefetch: empty object',
      (r) => {
        service(r).prefetch = {};
      },
    ],
  ];

  test.each(breakages)('rejects %s', async (_rule, expected, breakResponse) => {
    const response = await discovery();
    const broken = breakResponse(response) ?? response;

    const problems = validateDiscoveryResponse(broken);

    expect(problems).toContainEqual(expect.stringContaining(expected));
  });
});
