/** Input conditions that change the numbers are reported with the result: a resampled label map. */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scoreCommand } from '../../src/cli/commands/score.js';

import { TextSink, nrrdBytes } from './support.js';

let folder = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nqo1-warnings-'));
  // A 24 × 24 × 12 image of 1 mm voxels with varied values, and a 12 mm cube label on it.
  const size: [number, number, number] = [24, 24, 12];
  const image = Array.from({ length: 24 * 24 * 12 }, (_, index) => ((index * 7919) % 301) - 100);
  const label = Array.from({ length: 24 * 24 * 12 }, (_, index) => {
    const i = index % 24;
    const j = Math.floor(index / 24) % 24;
    const k = Math.floor(index / 576);
    return i >= 6 && i < 18 && j >= 6 && j < 18 && k >= 2 && k < 10 ? 1 : 0;
  });
  await writeFile(join(folder, 'image.nrrd'), nrrdBytes(size, [1, 1, 1], image));
  await writeFile(join(folder, 'on-grid.nrrd'), nrrdBytes(size, [1, 1, 1], label));
  // The same cube at 2 mm spacing: 12 × 12 × 6 voxels covering the same extent from the same origin.
  const coarse = Array.from({ length: 12 * 12 * 6 }, (_, index) => {
    const i = index % 12;
    const j = Math.floor(index / 12) % 12;
    const k = Math.floor(index / 144);
    return i >= 3 && i < 9 && j >= 3 && j < 9 && k >= 1 && k < 5 ? 1 : 0;
  });
  await writeFile(join(folder, 'coarse.nrrd'), nrrdBytes([12, 12, 6], [2, 2, 2], coarse));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('input warnings in the score result', () => {
  it('reports a label map resampled from another grid', async () => {
    const sink = new TextSink();
    const result = await scoreCommand(
      { image: join(folder, 'image.nrrd'), mask: join(folder, 'coarse.nrrd') },
      'en',
      sink,
    );

    expect(result.provenance.warnings?.[0]).toContain('lies on another grid');
    expect(result.provenance.warnings?.[0]).toContain('12 × 12 × 6 voxels of 2.000 × 2.000 × 2.000 mm');
    expect(sink.text).toContain('Warning: The label map');
  });

  it('reports nothing for a label map on the image grid', async () => {
    const result = await scoreCommand(
      { image: join(folder, 'image.nrrd'), mask: join(folder, 'on-grid.nrrd') },
      'en',
      new TextSink(),
    );

    expect(result.provenance.warnings).toEqual([]);
  });
});
