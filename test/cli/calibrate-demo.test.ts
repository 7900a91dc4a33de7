import { link, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { calibrateCommand } from '../../src/cli/commands/calibrate.js';
import { DEMO_COHORT_SIZE, demoCommand } from '../../src/cli/commands/demo.js';
import { DEMO_GRID, demoCases, renderPhantom } from '../../src/cli/demo/phantom.js';
import type { Grid } from '../../src/imaging/volume.js';
import { analyseCase } from '../../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard, parseModelCard } from '../../src/model/card.js';
import type { ScoreResult } from '../../src/model/result.js';
import { nrrdBytes, TextSink } from './support.js';

/** A 1 mm grid of 40 × 40 × 30 voxels around the phantom's tumour centre. */
const SMALL_GRID: Grid = {
  dimensions: [40, 40, 30],
  spacingMm: [1, 1, 1],
  originMm: [-12, -16, -15],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};
const NO_REFERENCES = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };

describe('calibrate', () => {
  it('writes a site card from a case list', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-calibrate-'));
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const cases = demoCases(10).cohort.map((parameters) => ({
      ...parameters,
      tumourRadiusMm: 6 + (parameters.seed % 5),
    }));
    const rows: string[] = ['image,mask'];
    const features: Record<string, number>[] = [];

    for (const [index, parameters] of cases.entries()) {
      const { image, tumour } = renderPhantom(SMALL_GRID, parameters);
      await writeFile(
        join(folder, `case ${index}.nrrd`),
        nrrdBytes(SMALL_GRID.dimensions, SMALL_GRID.spacingMm, image.voxels),
      );
      await writeFile(
        join(folder, `case ${index}-label.nrrd`),
        nrrdBytes(SMALL_GRID.dimensions, SMALL_GRID.spacingMm, tumour.voxels),
      );
      rows.push(`"case ${index}.nrrd","case ${index}-label.nrrd"`);
      features.push({ ...analyseCase({ image, tumour, card, references: NO_REFERENCES }).features });
    }
    await writeFile(join(folder, 'cases.csv'), `${rows.join('\n')}\n`);

    const progress = new TextSink();
    const out = join(folder, 'site-card.json');
    await calibrateCommand(
      { cases: join(folder, 'cases.csv'), out, description: 'test cohort', jobs: 1 },
      'en',
      { progress },
    );

    const written = parseModelCard(JSON.parse(await readFile(out, 'utf8')), out);
    expect(written.version).toMatch(/^1\.0\.0\+site\.\d{8}T\d{4}Z$/);
    expect(written.scaling?.cohort).toMatchObject({
      caseCount: 10,
      synthetic: false,
      description: 'test cohort',
    });
    for (const feature of card.features) {
      const values = features.map((row) => row[feature.name]!);
      const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
      const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
      expect(written.scaling?.parameters[feature.name]?.mean).toBeCloseTo(mean, 9);
      expect(written.scaling?.parameters[feature.name]?.sd).toBeCloseTo(sd, 9);
    }
    expect(progress.text).toContain('[10/10] case 9.nrrd: done');
  });

  it('checks paths and count before extracting', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-calibrate-'));
    const image = join(folder, 'image.nrrd');
    const mask = join(folder, 'mask.nrrd');
    const empty = new Int16Array(8 * 8 * 4);
    await writeFile(image, nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    await writeFile(mask, nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    const run = (list: string, out = join(folder, 'card.json')) =>
      calibrateCommand({ cases: list, out }, 'en', { progress: new TextSink() });

    // A distinct label per row, so that no row repeats another case.
    const rows = Array.from({ length: 10 }, (_, index) =>
      index === 9 ? 'image.nrrd,gone.nrrd,10' : `image.nrrd,mask.nrrd,${index + 1}`,
    );
    await writeFile(join(folder, 'ten.csv'), ['image,mask,label', ...rows].join('\n'));
    await expect(run(join(folder, 'ten.csv'))).rejects.toThrow(
      /ten\.csv, line 11: .*gone\.nrrd does not exist/,
    );

    await writeFile(join(folder, 'three.csv'), ['image,mask,label', ...rows.slice(0, 3)].join('\n'));
    await expect(run(join(folder, 'three.csv'))).rejects.toThrow(
      /at least 10 cases, and .*three\.csv lists 3/,
    );

    await expect(run(join(folder, 'ten.csv'), join(folder, 'ten.csv'))).rejects.toThrow(
      /is the input file .*ten\.csv/,
    );
    await expect(run(join(folder, 'ten.csv'), join(folder, 'absent', 'card.json'))).rejects.toThrow(
      /absent for --out does not exist/,
    );
  });

  it('never overwrites an input, even through a link', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-calibrate-'));
    const empty = new Int16Array(8 * 8 * 4);
    await writeFile(join(folder, 'image.nrrd'), nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    await writeFile(join(folder, 'mask.nrrd'), nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    const list = join(folder, 'cases.csv');
    await writeFile(
      list,
      [
        'image,mask,label',
        ...Array.from({ length: 10 }, (_, index) => `image.nrrd,mask.nrrd,${index + 1}`),
      ].join('\n'),
    );
    await symlink(list, join(folder, 'soft.json'));
    await link(join(folder, 'mask.nrrd'), join(folder, 'hard.json'));
    await writeFile(join(folder, 'old-card.json'), '{}');
    const run = (out: string) =>
      calibrateCommand({ cases: list, out, force: true }, 'en', { progress: new TextSink() });

    await expect(run(join(folder, 'soft.json'))).rejects.toThrow(/is the input file .*cases\.csv/);
    await expect(run(join(folder, 'hard.json'))).rejects.toThrow(/is the input file .*mask\.nrrd/);
    await expect(
      calibrateCommand({ cases: list, out: join(folder, 'old-card.json') }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toThrow(/already exists\. Choose a new file, or pass --force/);
    expect(await readFile(list, 'utf8')).toMatch(/^image,mask,label\n/);
    expect(await readFile(join(folder, 'old-card.json'), 'utf8')).toBe('{}');
  });

  it('names the line of a case that fails to extract', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-calibrate-'));
    const empty = new Int16Array(8 * 8 * 4);
    await writeFile(join(folder, 'image.nrrd'), nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    await writeFile(join(folder, 'mask.nrrd'), nrrdBytes([8, 8, 4], [1, 1, 1], empty));
    const rows = Array.from({ length: 10 }, (_, index) => `image.nrrd,mask.nrrd,${index + 1}`);
    await writeFile(join(folder, 'cases.csv'), ['image,mask,label', ...rows].join('\n'));
    await expect(
      calibrateCommand({ cases: join(folder, 'cases.csv'), out: join(folder, 'card.json'), jobs: 1 }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toMatchObject({
      code: 'ERR_CALIBRATION_COHORT',
      message: expect.stringMatching(
        /^10 of 10 cases failed: line 2 \(image\.nrrd\): ERR_MASK_EMPTY .*; and 5 more\. Fix those cases/,
      ) as unknown,
    });
  });

  it('rejects a list without the header', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-calibrate-'));
    await writeFile(join(folder, 'cases.csv'), 'a.nrrd,b.nrrd\n');
    await expect(
      calibrateCommand({ cases: join(folder, 'cases.csv'), out: join(folder, 'card.json') }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
  });
});

describe('demo', () => {
  it('writes the study, the synthetic card and the result', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'nqo1-demo-')), 'demo');
    const sink = new TextSink();
    const result = await demoCommand({ out }, 'en', sink);

    const siteCard = parseModelCard(
      JSON.parse(await readFile(join(out, 'site-card.synthetic.json'), 'utf8')),
      'site',
    );
    expect(siteCard.scaling?.cohort).toMatchObject({ synthetic: true, caseCount: DEMO_COHORT_SIZE });
    expect(JSON.parse(await readFile(join(out, 'result.json'), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(result)),
    );
    expect(result.calibrated).toBe(true);
    expect(result.probability).toBeNull();
    expect(result.probabilityUnavailableReason).toBe('coefficients-missing');
    expect(sink.text).toMatch(/SYNTHETIC DEMONSTRATION.*Not for clinical use/);
    expect(sink.text).toContain('Card the EHR would show');
  });

  it('reads back the same features it wrote', async () => {
    // The study goes through the DICOM writer and the product's CT and SEG readers. Its features must
    // match those of the in-memory phantom to 1e-9 relative, because only the slice spacing is
    // re-derived from the written positions.
    const out = join(await mkdtemp(join(tmpdir(), 'nqo1-demo-')), 'demo');
    const result: ScoreResult = await demoCommand({ out }, 'en', new TextSink());
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const phantom = renderPhantom(DEMO_GRID, demoCases(DEMO_COHORT_SIZE).study);
    const direct = analyseCase({ ...phantom, card, references: NO_REFERENCES });

    expect(result.provenance.tumourVoxelCount).toBe(direct.provenance.tumourVoxelCount);
    for (const [name, value] of Object.entries(direct.features)) {
      expect(Math.abs(result.features[name]! - value) / Math.abs(value)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('prints in Simplified Chinese', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'nqo1-demo-')), 'demo');
    const sink = new TextSink();
    await demoCommand({ out }, 'zh-CN', sink);
    expect(sink.text).toContain('合成演示');
    expect(sink.text).toContain('不得用于临床');
  });
});

describe('demo output folder', () => {
  it('leaves a folder it did not write untouched', async () => {
    const out = await mkdtemp(join(tmpdir(), 'nqo1-precious-'));
    await writeFile(join(out, 'notes.txt'), 'important');
    await expect(demoCommand({ out }, 'en', new TextSink())).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
    });
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('important');
  });

  it('rejects a file as the output folder', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'nqo1-demo-')), 'a-file');
    await writeFile(file, 'not a folder');
    await expect(demoCommand({ out: file }, 'en', new TextSink())).rejects.toThrow(/is a file, not a folder/);
    expect(await readFile(file, 'utf8')).toBe('not a folder');
  });

  it('replaces its own earlier output', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'nqo1-demo-')), 'demo');
    await demoCommand({ out }, 'en', new TextSink());
    await writeFile(join(out, 'left-over.txt'), 'from the first run');
    await demoCommand({ out }, 'en', new TextSink());
    await expect(readFile(join(out, 'left-over.txt'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
