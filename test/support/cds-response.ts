/**
 * Checkers of the CDS Hooks 2.0 rules for the hook response and the discovery response, run on every
 * response in the tests. Each returns one line per broken rule, naming the JSON path, so an empty
 * list means the response is valid.
 *
 * Hook response rules:
 * - a `cards` array, and optionally a `systemActions` array; no other top-level field;
 * - per card: a `uuid` in the 8-4-4-4-12 hex form with an RFC 9562 version and variant, a `summary`
 *   of fewer than 140 characters, an `indicator` of `info`, `warning` or `critical`, and a string
 *   `detail` when present. No field outside the spec's card attributes.
 * - per source: a `label`, an absolute `url` and `icon` when present, and a `topic` Coding with
 *   `system` and `code` when present;
 * - `selectionBehavior` (`at-most-one` or `any`) exactly when there are `suggestions`;
 * - per link: a `label`, an absolute http(s) `url`, a `type` of `absolute` or `smart`, and an
 *   `appContext` string only on a `smart` link;
 * - per override reason: a Coding with `system`, `code` and `display`;
 * - nowhere a null, an empty string, an empty array or an empty object (`cards: []` excepted).
 *
 * The spec makes `uuid` optional. This checker requires it, because every card of this service can
 * receive feedback, and feedback names the card by its uuid.
 *
 * Discovery rules: a `services` array; per service a `hook`, a `description` and an `id` usable
 * as a URL path segment, unique across services; an optional `title` and `usageRequirements`;
 * `prefetch` templates that are relative FHIR queries whose `{{…}}` tokens are `context.<name>`
 * or one of the user tokens; no null or empty value.
 *
 * @see https://cds-hooks.hl7.org/2.0/#card-attributes
 * @see https://cds-hooks.hl7.org/2.0/#discovery
 */

const INDICATORS = new Set(['info', 'warning', 'critical']);
const LINK_TYPES = new Set(['absolute', 'smart']);
const SELECTION_BEHAVIORS = new Set(['at-most-one', 'any']);

const RESPONSE_FIELDS = new Set(['cards', 'systemActions']);
const CARD_FIELDS = new Set([
  'uuid',
  'summary',
  'detail',
  'indicator',
  'source',
  'suggestions',
  'selectionBehavior',
  'overrideReasons',
  'links',
]);
const SOURCE_FIELDS = new Set(['label', 'url', 'icon', 'topic']);
const LINK_FIELDS = new Set(['label', 'url', 'type', 'appContext']);
const CODING_FIELDS = new Set(['system', 'code', 'display']);
const SERVICE_FIELDS = new Set(['hook', 'title', 'description', 'id', 'prefetch', 'usageRequirements']);

/** A summary must be shorter than this many characters (Unicode code points). */
const SUMMARY_LIMIT = 140;

/** 8-4-4-4-12 hex digits, version 1–8 and variant `10xx` (RFC 9562 section 4). */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A service id becomes `{baseUrl}/cds-services/{id}`, so it is limited to unreserved URL characters. */
const SERVICE_ID_PATTERN = /^[A-Za-z0-9._~-]+$/;

/** Prefetch tokens of CDS Hooks 2.0 besides `context.<name>`. */
const USER_TOKENS = new Set([
  'userPractitionerId',
  'userPractitionerRoleId',
  'userPatientId',
  'userRelatedPersonId',
]);

/** Checks a hook response body. */
export function validateCdsResponse(body: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(body) || !Array.isArray(body.cards))
    return ['response: expected an object with a cards array'];

  checkKnownFields(body, RESPONSE_FIELDS, 'response', problems);
  if (body.systemActions !== undefined && !Array.isArray(body.systemActions))
    problems.push('response.systemActions: expected an array');
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'cards') findEmptyValues(value, key, problems);
  }
  body.cards.forEach((card: unknown, index) => {
    checkCard(card, `cards[${index}]`, problems);
    findEmptyValues(card, `cards[${index}]`, problems);
  });
  return problems;
}

/** Checks a discovery response body (`GET {baseUrl}/cds-services`). */
export function validateDiscoveryResponse(body: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(body) || !Array.isArray(body.services))
    return ['discovery: expected an object with a services array'];

  checkKnownFields(body, new Set(['services']), 'discovery', problems);
  const seenIds = new Set<string>();
  body.services.forEach((service: unknown, index) => {
    const at = `services[${index}]`;
    checkService(service, at, problems);
    findEmptyValues(service, at, problems);
    if (isObject(service) && typeof service.id === 'string') {
      if (seenIds.has(service.id)) problems.push(`${at}.id: ${JSON.stringify(service.id)} is not unique`);
      seenIds.add(service.id);
    }
  });
  return problems;
}

function checkCard(card: unknown, at: string, problems: string[]): void {
  if (!isObject(card)) {
    problems.push(`${at}: expected an object`);
    return;
  }
  checkKnownFields(card, CARD_FIELDS, at, problems);

  if (typeof card.uuid !== 'string' || !UUID_PATTERN.test(card.uuid))
    problems.push(`${at}.uuid: ${JSON.stringify(card.uuid)} is not a UUID`);

  if (typeof card.summary !== 'string' || card.summary.length === 0) problems.push(`${at}.summary: missing`);
  else if (Array.from(card.summary).length >= SUMMARY_LIMIT)
    problems.push(`${at}.summary: ${Array.from(card.summary).length} characters, must be < ${SUMMARY_LIMIT}`);

  if (typeof card.indicator !== 'string' || !INDICATORS.has(card.indicator)) {
    problems.push(`${at}.indicator: ${JSON.stringify(card.indicator)} is not info, warning or critical`);
  }
  if (card.detail !== undefined && typeof card.detail !== 'string')
    problems.push(`${at}.detail: expected a string`);

  checkSource(card.source, `${at}.source`, problems);
  checkSuggestions(card, at, problems);
  checkArray(card.links, `${at}.links`, problems, checkLink);
  checkArray(card.overrideReasons, `${at}.overrideReasons`, problems, (reason, reasonAt) => {
    checkCoding(reason, reasonAt, problems, true);
  });
}

function checkSource(source: unknown, at: string, problems: string[]): void {
  if (!isObject(source) || typeof source.label !== 'string' || source.label === '') {
    problems.push(`${at}.label: missing`);
    return;
  }
  checkKnownFields(source, SOURCE_FIELDS, at, problems);
  if (source.url !== undefined && !isAbsoluteUrl(source.url)) problems.push(`${at}.url: not an absolute URL`);
  if (source.icon !== undefined && !isAbsoluteUrl(source.icon))
    problems.push(`${at}.icon: not an absolute URL`);
  if (source.topic !== undefined) checkCoding(source.topic, `${at}.topic`, problems, false);
}

/** Checks that `selectionBehavior` is present with suggestions and absent without them. */
function checkSuggestions(card: Record<string, unknown>, at: string, problems: string[]): void {
  if (card.suggestions === undefined) {
    if (card.selectionBehavior !== undefined)
      problems.push(`${at}.selectionBehavior: set without suggestions`);
    return;
  }
  if (!Array.isArray(card.suggestions)) problems.push(`${at}.suggestions: expected an array`);
  if (typeof card.selectionBehavior !== 'string' || !SELECTION_BEHAVIORS.has(card.selectionBehavior)) {
    problems.push(
      `${at}.selectionBehavior: ${JSON.stringify(card.selectionBehavior)} is not at-most-one or any`,
    );
  }
}

function checkLink(link: unknown, at: string, problems: string[]): void {
  if (!isObject(link)) {
    problems.push(`${at}: expected an object`);
    return;
  }
  checkKnownFields(link, LINK_FIELDS, at, problems);
  if (typeof link.label !== 'string' || link.label === '') problems.push(`${at}.label: missing`);
  if (!isAbsoluteUrl(link.url)) problems.push(`${at}.url: not an absolute URL`);
  if (typeof link.type !== 'string' || !LINK_TYPES.has(link.type)) {
    problems.push(`${at}.type: ${JSON.stringify(link.type)} is not absolute or smart`);
  }
  if (link.appContext === undefined) return;
  if (typeof link.appContext !== 'string') problems.push(`${at}.appContext: expected a string`);
  if (link.type !== 'smart') problems.push(`${at}.appContext: only allowed on a smart link`);
}

/** Checks a CDS Hooks Coding: `system` and `code` required, `display` also when `displayRequired`. */
function checkCoding(coding: unknown, at: string, problems: string[], displayRequired: boolean): void {
  if (!isObject(coding)) {
    problems.push(`${at}: expected a Coding object`);
    return;
  }
  checkKnownFields(coding, CODING_FIELDS, at, problems);
  if (typeof coding.system !== 'string' || coding.system === '') problems.push(`${at}.system: missing`);
  if (typeof coding.code !== 'string' || coding.code === '') problems.push(`${at}.code: missing`);
  if (displayRequired && (typeof coding.display !== 'string' || coding.display === ''))
    problems.push(`${at}.display: missing`);
  else if (coding.display !== undefined && typeof coding.display !== 'string')
    problems.push(`${at}.display: expected a string`);
}

function checkService(service: unknown, at: string, problems: string[]): void {
  if (!isObject(service)) {
    problems.push(`${at}: expected an object`);
    return;
  }
  checkKnownFields(service, SERVICE_FIELDS, at, problems);
  for (const field of ['hook', 'description', 'id'] as const) {
    if (typeof service[field] !== 'string' || service[field] === '') problems.push(`${at}.${field}: missing`);
  }
  if (typeof service.id === 'string' && service.id !== '' && !SERVICE_ID_PATTERN.test(service.id))
    problems.push(`${at}.id: ${JSON.stringify(service.id)} is not a URL path segment`);
  for (const field of ['title', 'usageRequirements'] as const) {
    if (service[field] !== undefined && typeof service[field] !== 'string')
      problems.push(`${at}.${field}: expected a string`);
  }

  if (service.prefetch === undefined) return;
  if (!isObject(service.prefetch)) {
    problems.push(`${at}.prefetch: expected an object of templates`);
    return;
  }
  for (const [key, template] of Object.entries(service.prefetch)) {
    checkPrefetchTemplate(template, `${at}.prefetch.${key}`, problems);
  }
}

/** Checks that a prefetch template is a relative FHIR read or search, which the client resolves. */
function checkPrefetchTemplate(template: unknown, at: string, problems: string[]): void {
  if (typeof template !== 'string') {
    problems.push(`${at}: expected a string`);
    return;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(template) || template.startsWith('/'))
    problems.push(`${at}: must be relative to the FHIR server, not ${JSON.stringify(template)}`);
  if (!/^[A-Z][A-Za-z]+([/?]|$)/.test(template)) problems.push(`${at}: must start with a FHIR resource type`);
  for (const [, token = ''] of template.matchAll(/\{\{(.*?)\}\}/g)) {
    if (!/^context\.[A-Za-z]+$/.test(token) && !USER_TOKENS.has(token))
      problems.push(`${at}: unknown prefetch token {{${token}}}`);
  }
  if (/\{\{|\}\}/.test(template.replace(/\{\{.*?\}\}/g, '')))
    problems.push(`${at}: unbalanced {{ }} in ${JSON.stringify(template)}`);
}

function checkArray(
  value: unknown,
  at: string,
  problems: string[],
  checkItem: (item: unknown, itemAt: string, problems: string[]) => void,
): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    problems.push(`${at}: expected an array`);
    return;
  }
  value.forEach((item: unknown, index) => {
    checkItem(item, `${at}[${index}]`, problems);
  });
}

function checkKnownFields(
  value: Record<string, unknown>,
  known: ReadonlySet<string>,
  at: string,
  problems: string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) problems.push(`${at}.${key}: not a field of the CDS Hooks 2.0 spec`);
  }
}

function findEmptyValues(value: unknown, at: string, problems: string[]): void {
  if (value === null) problems.push(`${at}: null`);
  else if (value === '') problems.push(`${at}: empty string`);
  else if (Array.isArray(value)) {
    if (value.length === 0) problems.push(`${at}: empty array`);
    value.forEach((item, index) => {
      findEmptyValues(item, `${at}[${index}]`, problems);
    });
  } else if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) problems.push(`${at}: empty object`);
    for (const [key, child] of entries) findEmptyValues(child, `${at}.${key}`, problems);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsoluteUrl(value: unknown): boolean {
  return typeof value === 'string' && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}
