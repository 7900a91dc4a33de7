import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { serveCommand } from '../../src/cli/commands/serve.js';
import { BR_RO_CARD_PATH } from '../../src/model/card.js';

describe('serve', () => {
  it('refuses a card calibrated on a synthetic cohort', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-serve-'));
    const card = JSON.parse(await readFile(BR_RO_CARD_PATH, 'utf8')) as Record<string, unknown>;
    const features = card.features as { name: string }[];
    const synthetic = {
      ...card,
      version: '1.0.0+synthetic-demo',
      scaling: {
        method: 'z-score',
        sd: 'sample',
        parameters: Object.fromEntries(features.map((feature) => [feature.name, { mean: 1, sd: 1 }])),
        cohort: { description: 'demo', caseCount: 16, createdAt: '2026-12-04T10:00:00Z', synthetic: true },
      },
    };
    await writeFile(join(folder, 'card.json'), JSON.stringify(synthetic));
    await writeFile(
      join(folder, 'site.json'),
      JSON.stringify({
        model: { cardPath: join(folder, 'card.json') },
        store: { sqlitePath: join(folder, 'r.sqlite') },
      }),
    );

    await expect(serveCommand({ config: join(folder, 'site.json') })).rejects.toMatchObject({
      code: 'ERR_MODEL_CARD_INVALID',
      message: expect.stringContaining('synthetic cohort') as unknown,
    });
  });

  it('names the configuration key of a card that cannot be read', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-serve-'));
    const missing = join(folder, 'no-such-card.json');
    await writeFile(
      join(folder, 'site.json'),
      JSON.stringify({ model: { cardPath: missing }, store: { sqlitePath: join(folder, 'r.sqlite') } }),
    );

    await expect(serveCommand({ config: join(folder, 'site.json') })).rejects.toMatchObject({
      code: 'ERR_MODEL_CARD_INVALID',
      message: `Model card ${missing} could not be read. Check the path. It is set by model.cardPath (or NQO1_MODEL_CARD) in the site configuration.`,
    });
  });
});
