/**
 * A strict parser for the XML subset the chart SVGs use: elements, attributes, text, comments,
 * an XML declaration and the predefined and numeric character references. It throws on anything
 * not well-formed (unbalanced or mismatched tags, unquoted or repeated attributes, a raw `<` or a
 * stray `&`), so a successful parse is the well-formedness check of the chart tests.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}

export type XmlNode = XmlElement | string;

const NAME = /[A-Za-z_:][\w:.-]*/y;
const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** Parses a document with one root element. */
export function parseXml(text: string): XmlElement {
  let position = 0;

  const fail = (problem: string): never => {
    throw new Error(
      `not well-formed XML at offset ${position}: ${problem} near ${JSON.stringify(text.slice(position, position + 40))}`,
    );
  };
  const skipMisc = (): void => {
    for (;;) {
      while (/\s/.test(text[position] ?? '')) position++;
      if (text.startsWith('<?xml', position)) {
        const end = text.indexOf('?>', position);
        if (end < 0) fail('unterminated XML declaration');
        position = end + 2;
      } else if (text.startsWith('<!--', position)) {
        const end = text.indexOf('-->', position);
        if (end < 0) fail('unterminated comment');
        position = end + 3;
      } else return;
    }
  };
  const readName = (): string => {
    NAME.lastIndex = position;
    const match = NAME.exec(text);
    if (match === null) return fail('expected a name');
    position += match[0].length;
    return match[0];
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;&<\s]*);?/g, (reference, body: string) => {
      if (!reference.endsWith(';')) return fail(`stray & in ${JSON.stringify(raw)}`);
      if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
      if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
      const value = PREDEFINED_ENTITIES[body];
      return value ?? fail(`unknown entity &${body};`);
    });

  const readElement = (): XmlElement => {
    if (text[position] !== '<') fail('expected <');
    position++;
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      const hadSpace = /\s/.test(text[position] ?? '');
      while (/\s/.test(text[position] ?? '')) position++;
      if (text.startsWith('/>', position)) {
        position += 2;
        return { name, attributes, children: [] };
      }
      if (text[position] === '>') {
        position++;
        break;
      }
      if (!hadSpace) fail('expected white space before an attribute');
      const attribute = readName();
      while (/\s/.test(text[position] ?? '')) position++;
      if (text[position] !== '=') fail(`attribute ${attribute} has no =`);
      position++;
      while (/\s/.test(text[position] ?? '')) position++;
      const quote = text[position];
      if (quote !== '"' && quote !== "'") return fail(`attribute ${attribute} is not quoted`);
      const end = text.indexOf(quote, position + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = text.slice(position + 1, end);
      if (raw.includes('<')) fail(`raw < in attribute ${attribute}`);
      if (attribute in attributes) fail(`repeated attribute ${attribute}`);
      attributes[attribute] = decode(raw);
      position = end + 1;
    }

    const children: XmlNode[] = [];
    for (;;) {
      if (position >= text.length) fail(`unclosed element <${name}>`);
      if (text.startsWith('</', position)) {
        position += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        while (/\s/.test(text[position] ?? '')) position++;
        if (text[position] !== '>') fail('expected > after the end tag name');
        position++;
        return { name, attributes, children };
      }
      if (text.startsWith('<!--', position)) {
        const end = text.indexOf('-->', position);
        if (end < 0) fail('unterminated comment');
        position = end + 3;
      } else if (text[position] === '<') {
        children.push(readElement());
      } else {
        const end = text.indexOf('<', position);
        const raw = text.slice(position, end < 0 ? text.length : end);
        if (raw.includes('>') && raw.includes(']]>')) fail(']]> in text');
        children.push(decode(raw));
        position += raw.length;
      }
    }
  };

  skipMisc();
  const root = readElement();
  skipMisc();
  if (position !== text.length) fail('content after the root element');
  return root;
}

/** Finds every element below (and including) `root`, depth first, that satisfies the predicate. */
export function findElements(root: XmlElement, predicate: (element: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  const visit = (element: XmlElement): void => {
    if (predicate(element)) found.push(element);
    for (const child of element.children) if (typeof child !== 'string') visit(child);
  };
  visit(root);
  return found;
}

/** Finds the elements with the given `class` attribute. */
export function byClass(root: XmlElement, className: string): XmlElement[] {
  return findElements(root, (element) => element.attributes.class === className);
}

/** Joins the text of an element and its descendants. */
export function textContent(element: XmlElement): string {
  return element.children.map((child) => (typeof child === 'string' ? child : textContent(child))).join('');
}

/** Reads the vertices of the `points` attribute of a polyline or polygon. */
export function pointsOf(element: XmlElement): { x: number; y: number }[] {
  const list = element.attributes.points ?? '';
  return list
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const [x, y] = pair.split(',').map(Number);
      return { x: x!, y: y! };
    });
}
