/**
 * From a folder of cases to a calibrated card and an evaluation report in two commands, on a
 * generated cohort of 60 phantom cases with reference classes and survival. The report's AUC and
 * threshold metrics are checked against counts done here from the card's own probabilities.
 */
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { calibrateCommand } from '../../src/cli/commands/calibrate.js';
import { evaluateCommand, type EvaluationReport } from '../../src/cli/commands/evaluate.js';
import { refitCommand } from '../../src/cli/commands/refit.js';
import { createRandom, demoCases, renderPhantom } from '../../src/cli/demo/phantom.js';
import type { Grid } from '../../src/imaging/volume.js';
import { BR_RO_CARD_PATH, parseModelCard, type ModelCard } from '../../src/model/card.js';
import { nrrdBytes, TextSink } from './support.js';

const GRID: Grid = {
  dimensions: [40, 40, 30],
  spacingMm: [1, 1, 1],
  originMm: [-12, -16, -15],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};
const CASES = 60;

describe('calibrate --cohort and evaluate', () => {
  let folder: string;
  let cohort: string;
  let siteCard: ModelCard;
  const calibrateProgress = new TextSink();

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'nqo1-evaluate-'));
    const random = createRandom(7);
    const rows = ['id,image,mask,nqo1,time_days,event'];
    for (const [index, parameters] of demoCases(CASES).cohort.entries()) {
      const phantom = { ...parameters, tumourRadiusMm: 5 + (parameters.seed % 6) };
      const { image, tumour } = renderPhantom(GRID, phantom);
      await writeFile(
        join(folder, `c${index}.nrrd`),
        nrrdBytes(GRID.dimensions, GRID.spacingMm, image.voxels),
      );
      await writeFile(
        join(folder, `c${index}-label.nrrd`),
        nrrdBytes(GRID.dimensions, GRID.spacingMm, tumour.voxels),
      );
      // Noisy classes tied to heterogeneity, so the fit has signal but no separation.
      const high = random() < 1 / (1 + Math.exp(-(phantom.heterogeneityHu - 30) / 8)) ? 1 : 0;
      const time = Math.round(-Math.log(random()) * (high === 1 ? 900 : 1600)) + 1;
      const event = time < 2000 ? 1 : 0;
      rows.push(
        `case-${index},c${index}.nrrd,c${index}-label.nrrd,${high === 1 ? 'high' : 'low'},${Math.min(time, 2000)},${event}`,
      );
    }
    cohort = join(folder, 'cohort.csv');
    await writeFile(cohort, `${rows.join('\n')}\n`);

    const summary = await calibrateCommand(
      { cohort, out: join(folder, 'site.json'), jobs: 2, description: 'phantom cohort' },
      'en',
      { progress: calibrateProgress },
    );
    siteCard = summary.card!;
  }, 120_000);

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('calibrate fits the BR-RO coefficients and keeps the feature distributions', async () => {
    const written = parseModelCard(
      JSON.parse(await readFile(join(folder, 'site.json'), 'utf8')),
      'site.json',
    );
    expect(written.coefficientSource).toMatchObject({ kind: 'site-fit', caseCount: CASES });
    expect(written.features.every((feature) => Number.isFinite(feature.coefficient))).toBe(true);
    expect(written.scaling?.cohort).toMatchObject({ caseCount: CASES, description: 'phantom cohort' });
    for (const feature of written.features) {
      const distribution = written.scaling?.distribution?.[feature.name];
      expect(distribution?.count).toBe(CASES);
      expect(distribution!.min).toBeLessThanOrEqual(distribution!.median);
      expect(distribution!.mean).toBeCloseTo(written.scaling!.parameters[feature.name]!.mean, 9);
    }
    expect(calibrateProgress.text).toContain('[60/60] case-59 (c59.nrrd): done');
    expect(calibrateProgress.text).toMatch(/fewer than 10 per feature/);
    expect(calibrateProgress.text).toMatch(/apparent \(optimistic\) performance/);
    // Limits that held until the site scaling and coefficients existed are gone, and the published
    // performance, which described other coefficients, is not carried over.
    expect(written.limitations.some((limitation) => limitation.until !== undefined)).toBe(false);
    expect(written.limitations[0]?.en).toMatch(/^The coefficients were fitted on 60 labelled cases/);
    expect(written.performance).toEqual({});
  });

  it('evaluate writes the report and the pictures, with figures that match direct counts', async () => {
    const out = join(folder, 'report');
    const progress = new TextSink();
    const summary = await evaluateCommand({ cohort, model: join(folder, 'site.json'), out, jobs: 1 }, 'en', {
      progress,
    });
    const report = JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as EvaluationReport;
    expect(summary.report?.cohort.evaluatedCount).toBe(CASES);
    for (const stem of ['roc', 'calibration', 'decision-curve', 'survival']) {
      for (const extension of ['svg', 'png']) await access(join(out, `${stem}.${extension}`));
    }

    // Probabilities of the site card from the features cache, and the AUC as the Mann-Whitney count.
    const cache = (await readFile(join(out, 'features.csv'), 'utf8')).trim().split('\n');
    const header = cache[0]!.split(',');
    const probabilities = cache.slice(1).map((line) => {
      const cells = line.split(',');
      let eta = siteCard.intercept;
      for (const feature of siteCard.features) {
        const parameters = siteCard.scaling!.parameters[feature.name]!;
        eta +=
          feature.coefficient! *
          ((Number(cells[header.indexOf(feature.name)]) - parameters.mean) / parameters.sd);
      }
      return 1 / (1 + Math.exp(-eta));
    });
    const labels = (await readFile(cohort, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => (line.includes(',high,') ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    labels.forEach((label, i) => {
      if (label !== 1) return;
      labels.forEach((other, j) => {
        if (other !== 0) return;
        pairs++;
        wins += probabilities[i]! > probabilities[j]! ? 1 : probabilities[i] === probabilities[j] ? 0.5 : 0;
      });
    });
    const discrimination = report.statistics.discrimination!;
    expect(discrimination.auc.auc).toBeCloseTo(wins / pairs, 12);
    expect(discrimination.auc.ci.lower).toBeLessThan(discrimination.auc.auc);
    const called = probabilities.map((p) => (p >= siteCard.threshold ? 1 : 0));
    const tp = called.filter((call, i) => call === 1 && labels[i] === 1).length;
    expect(discrimination.atCardThreshold.tp).toBe(tp);
    expect(discrimination.atCardThreshold.sensitivity).toBeCloseTo(
      tp / labels.filter((l) => l === 1).length,
      12,
    );

    expect(report.statistics.survival?.caseCount).toBe(CASES);
    expect(report.statistics.survival?.logRank.pValue).toBeGreaterThan(0);
    expect(report.warnings.join(' ')).toMatch(/apparent performance/);
    expect(progress.text).toMatch(/^AUC 0\.\d{3} \(95% CI /m);
  }, 120_000);

  it('evaluate reuses its features cache on a second run', async () => {
    const progress = new TextSink();
    await evaluateCommand(
      { cohort, model: join(folder, 'site.json'), out: join(folder, 'report'), jobs: 1 },
      'en',
      {
        progress,
      },
    );
    expect(progress.text.match(/kept from the earlier run/g)).toHaveLength(CASES);

    const chinese = new TextSink();
    await evaluateCommand(
      { cohort, model: join(folder, 'site.json'), out: join(folder, 'report'), jobs: 1 },
      'zh-CN',
      {
        progress: chinese,
      },
    );
    expect(chinese.text).toContain('结果为表观性能');
    expect(chinese.text).toMatch(/^AUC 0\.\d{3}（95% CI /m);
  }, 60_000);

  it('refuses a card that gives no probability', async () => {
    await expect(
      evaluateCommand({ cohort, model: BR_RO_CARD_PATH, out: join(folder, 'published') }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_MODEL_NOT_CALIBRATED' });
  });

  it('refit selects, fits and writes a card that evaluate accepts', async () => {
    const out = join(folder, 'refit.json');
    const progress = new TextSink();
    const summary = await refitCommand({ cohort, out, keep: 3, candidates: 10, jobs: 2 }, 'en', { progress });
    const card = parseModelCard(JSON.parse(await readFile(out, 'utf8')), out);
    expect(card.id).toBe('br-ro-refit');
    expect(card.features).toHaveLength(3);
    expect(card.features.every((feature) => /^(tumour|peri)_[a-z]+_[A-Za-z]+$/.test(feature.name))).toBe(
      true,
    );
    expect(card.coefficientSource).toMatchObject({
      kind: 'refit',
      caseCount: CASES,
      selection: expect.stringMatching(/^mRMR top 10 of \d+ candidates, then RFE to 3$/) as unknown,
    });
    expect(card.threshold).toBeGreaterThan(0);
    expect(card.evidence).toEqual([]);
    expect(summary.card?.intercept).toBe(card.intercept);
    expect(progress.text).toMatch(/Refitted card written to .*refit\.json/);
    await expect(
      refitCommand({ cohort, out, keep: 3, candidates: 300, force: true }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toThrow(/--candidates 300 is more than the \d+ distinct candidate features/);

    const report = await evaluateCommand(
      { cohort, model: out, out: join(folder, 'refit-report'), jobs: 2 },
      'en',
      {
        progress: new TextSink(),
      },
    );
    expect(report.report?.model).toMatchObject({ id: 'br-ro-refit', coefficientSource: 'refit' });
    expect(report.report?.statistics.discrimination?.auc.auc).toBeGreaterThan(0.5);

    // DeLong's test of the refit against the site card on the same cases.
    const compared = await evaluateCommand(
      {
        cohort,
        model: out,
        compare: join(folder, 'site.json'),
        out: join(folder, 'compare-report'),
        jobs: 2,
      },
      'en',
      { progress: new TextSink() },
    );
    const site = JSON.parse(
      await readFile(join(folder, 'report', 'evaluation.json'), 'utf8'),
    ) as EvaluationReport;
    const comparison = compared.report?.statistics.discrimination?.comparison;
    expect(comparison?.aucA).toBe(report.report?.statistics.discrimination?.auc.auc);
    expect(comparison?.aucB).toBe(site.statistics.discrimination?.auc.auc);
    expect(comparison?.difference).toBeCloseTo(comparison!.aucA - comparison!.aucB, 15);
    expect(comparison?.pValue).toBeGreaterThan(0);
    expect(comparison?.pValue).toBeLessThanOrEqual(1);
    expect(compared.report?.comparisonModel?.id).toBe('br-ro');
  }, 180_000);

  it('recomputes a case whose image changed since its cached row', async () => {
    // Rewrite one image with other content; its stamp (size, modification time) changes.
    const { image } = renderPhantom(GRID, { ...demoCases(1).study, tumourRadiusMm: 7 });
    await writeFile(join(folder, 'c3.nrrd'), nrrdBytes(GRID.dimensions, GRID.spacingMm, image.voxels));
    const progress = new TextSink();
    await evaluateCommand(
      { cohort, model: join(folder, 'site.json'), out: join(folder, 'report'), jobs: 1 },
      'en',
      {
        progress,
      },
    );
    expect(progress.text.match(/kept from the earlier run/g)).toHaveLength(CASES - 1);
    expect(progress.text).toMatch(/\[4\/60\] case-3 \(c3\.nrrd\): done/);
  }, 60_000);

  it('refuses a features cache that is an input', async () => {
    await expect(
      calibrateCommand({ cohort, out: join(folder, 'other.json'), features: cohort }, 'en', {
        progress: new TextSink(),
      }),
    ).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      message: expect.stringMatching(/^--features .*is the input file/) as unknown,
    });
    await expect(
      evaluateCommand(
        {
          cohort,
          model: join(folder, 'site.json'),
          out: join(folder, 'r2'),
          features: join(folder, 'c0.nrrd'),
        },
        'en',
        { progress: new TextSink() },
      ),
    ).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    await expect(
      calibrateCommand(
        { cohort, out: join(folder, 'same.json'), features: join(folder, 'same.json') },
        'en',
        { progress: new TextSink() },
      ),
    ).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
  });
});
