/**
 * Writes docs/model-card.schema.json, the JSON Schema (draft 2020-12) of a model card, from the zod
 * schema in src/model/card-schema.ts, so that sites and other tools can validate a card without
 * this code.
 *
 * Run `npm run docs:schema` after changing the card schema; a test fails while the committed file
 * differs from the rendered one.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { modelCardSchema } from '../src/model/card-schema.js';

/** Path of the rendered schema. */
export const CARD_SCHEMA_PATH = fileURLToPath(new URL('../docs/model-card.schema.json', import.meta.url));

/** Returns the text of docs/model-card.schema.json. */
export function renderCardSchema(): string {
  const schema = z.toJSONSchema(modelCardSchema, { target: 'draft-2020-12', io: 'input' });
  const document = {
    $id: 'https://nqo1-cds.invalid/schemas/model-card.schema.json',
    title: 'NQO1 CDS model card',
    description:
      'A radiomics logistic model: features with their regions and extraction settings, scaling, ' +
      'coefficients, threshold, published performance and evidence, intended use and limitations.',
    ...schema,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CARD_SCHEMA_PATH, renderCardSchema());
  console.log(`Wrote ${CARD_SCHEMA_PATH}`);
}
