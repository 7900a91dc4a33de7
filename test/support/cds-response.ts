/**
 * A checker of the CDS Hooks 2.0 response rules this service must follow, run on every response in
 * the tests: a `cards` array; per card a summary under 140 characters, an indicator from the value
 * set, a source with a label, links of type `absolute` or `smart` with absolute URLs; and nowhere a
 * null, an empty string, an empty array or an empty object (the top-level `cards: []` excepted).
 *
 * @see https://cds-hooks.hl7.org/2.0/#card-attributes
 */

const INDICATORS = new Set(['info', 'warning', 'critical']);
const LINK_TYPES = new Set(['absolute', 'smart']);

/** Returns one line per broken rule; an empty list means the response is valid. */
export function validateCdsResponse(body: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(body) || !Array.isArray(body.cards))
    return ['response: expected an object with a cards array'];

  for (const [key, value] of Object.entries(body)) {
    if (key !== 'cards') findEmptyValues(value, key, problems);
  }
  body.cards.forEach((card: unknown, index) => {
    checkCard(card, `cards[${index}]`, problems);
    findEmptyValues(card, `cards[${index}]`, problems);
  });
  return problems;
}

function checkCard(card: unknown, at: string, problems: string[]): void {
  if (!isObject(card)) {
    problems.push(`${at}: expected an object`);
    return;
  }

  if (typeof card.summary !== 'string' || card.summary.length === 0) problems.push(`${at}.summary: missing`);
  else if (card.summary.length >= 140)
    problems.push(`${at}.summary: ${card.summary.length} characters, must be < 140`);

  if (typeof card.indicator !== 'string' || !INDICATORS.has(card.indicator)) {
    problems.push(`${at}.indicator: ${JSON.stringify(card.indicator)} is not info, warning or critical`);
  }
  if (card.detail !== undefined && typeof card.detail !== 'string')
    problems.push(`${at}.detail: expected a string`);
  if (card.uuid !== undefined && typeof card.uuid !== 'string')
    problems.push(`${at}.uuid: expected a string`);

  const source = card.source;
  if (!isObject(source) || typeof source.label !== 'string' || source.label === '') {
    problems.push(`${at}.source.label: missing`);
  } else if (source.url !== undefined && !isAbsoluteUrl(source.url)) {
    problems.push(`${at}.source.url: not an absolute URL`);
  }

  if (card.links === undefined) return;
  if (!Array.isArray(card.links)) {
    problems.push(`${at}.links: expected an array`);
    return;
  }
  card.links.forEach((link: unknown, index) => {
    const linkAt = `${at}.links[${index}]`;
    if (!isObject(link)) {
      problems.push(`${linkAt}: expected an object`);
      return;
    }
    if (typeof link.label !== 'string' || link.label === '') problems.push(`${linkAt}.label: missing`);
    if (!isAbsoluteUrl(link.url)) problems.push(`${linkAt}.url: not an absolute URL`);
    if (typeof link.type !== 'string' || !LINK_TYPES.has(link.type)) {
      problems.push(`${linkAt}.type: ${JSON.stringify(link.type)} is not absolute or smart`);
    }
    if (link.appContext !== undefined && typeof link.appContext !== 'string') {
      problems.push(`${linkAt}.appContext: expected a string`);
    }
  });
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
