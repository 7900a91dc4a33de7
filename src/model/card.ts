/**
 * Loading and checking model cards. A card that breaks the schema is rejected with a message that
 * names each offending field, so that a site editing its card can fix them.
 */
import { readFile } from 'node:fs/promises';

import type { z } from 'zod';

import { Nqo1Error } from '../errors.js';
import { packagePath } from '../paths.js';
import { modelCardSchema, type ModelCard } from './card-schema.js';

export type { ModelCard, FeatureSpec, Scaling, LocalizedText } from './card-schema.js';

/** Path of the BR-RO card shipped with the product, as published: no scaling. */
export const BR_RO_CARD_PATH = packagePath('config', 'models', 'br-ro.json');

/** Formats zod issues as `path.to.field: problem` lines. */
export function formatSchemaIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`));
      const field = path.join('').replace(/^\./, '') || '(root)';
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Validates a parsed JSON value as a model card.
 *
 * @param value - The parsed JSON.
 * @param source - File name or description used in the error message.
 * @throws Nqo1Error ERR_MODEL_CARD_INVALID naming every field that breaks the schema.
 */
export function parseModelCard(value: unknown, source: string): ModelCard {
  const parsed = modelCardSchema.safeParse(value);
  if (!parsed.success) {
    throw new Nqo1Error(
      'ERR_MODEL_CARD_INVALID',
      `Model card ${source} is invalid: ${formatSchemaIssues(parsed.error.issues)}. Fix these fields and load it again.`,
    );
  }

  const card = parsed.data;
  const names = new Set<string>();
  for (const feature of card.features) {
    if (names.has(feature.name)) {
      throw new Nqo1Error(
        'ERR_MODEL_CARD_INVALID',
        `Model card ${source} lists feature ${feature.name} twice. Keep one entry per feature.`,
      );
    }
    names.add(feature.name);
  }

  if (card.scaling !== null) {
    for (const name of names) {
      if (card.scaling.parameters[name] === undefined) {
        throw new Nqo1Error(
          'ERR_MODEL_CARD_INVALID',
          `Model card ${source}: scaling.parameters has no entry for feature ${name}. Run calibrate again to rebuild the scaling.`,
        );
      }
    }
  }
  return card;
}

/**
 * Reads and validates a model card file.
 *
 * @throws Nqo1Error ERR_MODEL_CARD_INVALID when the file is missing, is not JSON, or breaks the schema.
 */
export async function loadModelCard(path: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Nqo1Error('ERR_MODEL_CARD_INVALID', `Model card ${path} could not be read. Check the path.`, {
      cause: error,
    });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Nqo1Error('ERR_MODEL_CARD_INVALID', `Model card ${path} is not valid JSON. Fix the syntax.`, {
      cause: error,
    });
  }
  return parseModelCard(json, path);
}

/** Returns true when every feature of the card has a coefficient. */
export function hasAllCoefficients(card: ModelCard): boolean {
  return card.features.every((feature) => feature.coefficient !== null);
}

/** Returns the card without its recalibration, so that it scores with the fit itself. */
export function withoutRecalibration(card: ModelCard): ModelCard {
  const copy: { -readonly [K in keyof ModelCard]?: ModelCard[K] } = { ...card };
  delete copy.recalibration;
  return copy as ModelCard;
}
