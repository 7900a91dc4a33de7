/**
 * Renders docs/errors.md, the table of every stable error code with its HTTP status, FHIR issue
 * type and description in English and Simplified Chinese, from the code that defines them.
 *
 * Run `npm run docs:errors` after adding or changing a code; a test fails while the committed file
 * differs from the rendered one.
 */

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { errorCodeText } from '../src/error-text.js';
import { ERROR_CODES, type ErrorCode } from '../src/errors.js';
import { ERROR_CODE_SYSTEM, STATUS_BY_CODE } from '../src/server/outcome.js';

/** Path of the rendered table. */
export const ERROR_DOCS_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

/** Returns the Markdown text of docs/errors.md. */
export function renderErrorDocs(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const mapping = STATUS_BY_CODE[code];
    if (mapping === undefined) throw new TypeError(`${code} has no entry in STATUS_BY_CODE`);
    const [status, issueType] = mapping;
    return `| \`${code}\` | ${status} | ${issueType} | ${errorCodeText(code, 'en')} | ${errorCodeText(code, 'zh-CN')} |`;
  });

  return [
    '# Error codes',
    '',
    '<!-- Rendered by `npm run docs:errors` from src/errors.ts, src/error-text.ts and',
    '     src/server/outcome.ts. Edit those files, not this table. -->',
    '',
    'Every failure a user can act on carries one of these stable codes. The command line prints it',
    'with the message (and as `code` with `--json`); the service returns it in a FHIR OperationOutcome,',
    `as the \`details.coding\` of each issue with system \`${ERROR_CODE_SYSTEM}\`. The message itself`,
    'names the value that was wrong and what to do; this table gives the kind of problem.',
    '',
    "An OperationOutcome's `details.text` is the Meaning of its code in the language that the",
    "request's `Accept-Language` selects, else in the site's `locale`. Its `diagnostics` is the",
    'message, in English for every 4xx and 501; a 500, 502 or 504 carries only the Meaning and the',
    'request id, in the same language as `details.text`.',
    '',
    '| Code | HTTP status | Issue type | Meaning | 含义 |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ERROR_DOCS_PATH, renderErrorDocs());
  console.log(`Wrote ${ERROR_DOCS_PATH}`);
}
