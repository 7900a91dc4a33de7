import { copyFile, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadCase } from '../../src/cli/case-input.js';
import { extractCommand } from '../../src/cli/commands/extract.js';
import { splitCsvLine } from '../../src/cli/case-list.js';
import { pythonFloat } from '../../src/cli/extract-format.js';
import { runCli } from '../../src/cli/main.js';
import { computeFeatures } from '../../src/radiomics/extract.js';
import { DEFAULT_RADIOMICS_SETTINGS } from '../../src/radiomics/settings.js';
import { parseCNumber, readBaseline } from '../radiomics/support/baseline.js';
import { TextSink } from './support.js';

const PYRADIOMICS = fileURLToPath(new URL('../../../shared/data/radiomics/pyradiomics/', import.meta.url));
const BRAIN1 = { image: `${PYRADIOMICS}brain1_image.nrrd`, mask: `${PYRADIOMICS}brain1_label.nrrd` };
const BRAIN2 = { image: `${PYRADIOMICS}brain2_image.nrrd`, mask: `${PYRADIOMICS}brain2_label.nrrd` };
const TEXTURE_CLASSES = ['firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm'];

/** pyradiomics 3.x diagnostics keys, with our two version rows in place of its five. */
const DIAGNOSTIC_KEYS = [
  'diagnostics_Versions_NQO1CDS',
  'diagnostics_Versions_Node',
  'diagnostics_Configuration_Settings',
  'diagnostics_Configuration_EnabledImageTypes',
  'diagnostics_Image-original_Hash',
  'diagnostics_Image-original_Dimensionality',
  'diagnostics_Image-original_Spacing',
  'diagnostics_Image-original_Size',
  'diagnostics_Image-original_Mean',
  'diagnostics_Image-original_Minimum',
  'diagnostics_Image-original_Maximum',
  'diagnostics_Mask-original_Hash',
  'diagnostics_Mask-original_Spacing',
  'diagnostics_Mask-original_Size',
  'diagnostics_Mask-original_BoundingBox',
  'diagnostics_Mask-original_VoxelNum',
  'diagnostics_Mask-original_VolumeNum',
  'diagnostics_Mask-original_CenterOfMassIndex',
  'diagnostics_Mask-original_CenterOfMass',
];

const streams = (): { stdout: TextSink; stderr: TextSink } => ({
  stdout: new TextSink(),
  stderr: new TextSink(),
});

/** Parses a Python tuple cell such as "(162, 84, 11, 47, 70, 7)". */
function tuple(text: string): number[] {
  return text
    .replace(/^\(|\)$/g, '')
    .split(',')
    .map((item) => parseCNumber(item.trim()));
}

/** Non-shape feature names of the pyradiomics baseline tables, in pyradiomics' output order. */
function baselineFeatureNames(): string[] {
  return TEXTURE_CLASSES.flatMap((featureClass) =>
    [...readBaseline(featureClass).keys()].filter((name) => name.startsWith('original_')).sort(),
  );
}

describe('extract, one case', () => {
  let json: Record<string, unknown>;

  beforeAll(async () => {
    const out = streams();
    await extractCommand({ ...BRAIN1, timings: true }, 'en', out);
    json = JSON.parse(out.stdout.text) as Record<string, unknown>;
  });

  it('orders keys like pyradiomics', () => {
    const names = baselineFeatureNames();
    expect(names).toHaveLength(93);
    const keys = Object.keys(json).filter((key) => key !== 'timings');
    const features = keys.filter((key) => key.startsWith('original_'));
    // Shape features, once registered, come first; the other classes must equal the baseline names.
    expect(features.filter((key) => !key.startsWith('original_shape_'))).toEqual(names);
    expect(keys.slice(0, 2 + DIAGNOSTIC_KEYS.length)).toEqual(['Image', 'Mask', ...DIAGNOSTIC_KEYS]);
  });

  it('equals computeFeatures values', async () => {
    const loaded = await loadCase(BRAIN1.image, BRAIN1.mask, 1);
    const names = baselineFeatureNames();
    const expected = computeFeatures(loaded.image, loaded.tumour, names, DEFAULT_RADIOMICS_SETTINGS);
    for (const name of names) expect(json[name], name).toBe(expected[name]);
    // brain1 Energy without voxelArrayShift, as pyradiomics computes it with its code defaults.
    expect(json.original_firstorder_Energy).toBe(2918821481);
  });

  it('matches baseline diagnostics exactly', () => {
    // The default brain1 column lacks the rows added in pyradiomics 2.0; brain1_normalization has them
    // for the same files (its Image-original rows describe the image before normalisation).
    const table = readBaseline('firstorder');
    const cell = (row: string, column = 'brain1'): string => table.get(row)!.get(column)!;
    const version2Cell = (row: string): string => cell(row, 'brain1_normalization');

    expect(json['diagnostics_Image-original_Hash']).toBe(cell('diagnostics_Image-original_Hash'));
    expect(json['diagnostics_Mask-original_Hash']).toBe(cell('diagnostics_Mask-original_Hash'));
    expect(json['diagnostics_Image-original_Spacing']).toEqual(
      tuple(cell('diagnostics_Image-original_Spacing')),
    );
    expect(json['diagnostics_Image-original_Size']).toEqual(
      tuple(version2Cell('diagnostics_Image-original_Size')),
    );
    expect(json['diagnostics_Image-original_Mean']).toBe(
      parseCNumber(version2Cell('diagnostics_Image-original_Mean')),
    );
    expect(json['diagnostics_Image-original_Minimum']).toBe(
      parseCNumber(version2Cell('diagnostics_Image-original_Minimum')),
    );
    expect(json['diagnostics_Image-original_Maximum']).toBe(
      parseCNumber(version2Cell('diagnostics_Image-original_Maximum')),
    );
    expect(json['diagnostics_Mask-original_Spacing']).toEqual(
      tuple(version2Cell('diagnostics_Mask-original_Spacing')),
    );
    expect(json['diagnostics_Mask-original_Size']).toEqual(
      tuple(version2Cell('diagnostics_Mask-original_Size')),
    );
    expect(json['diagnostics_Mask-original_BoundingBox']).toEqual(
      tuple(cell('diagnostics_Mask-original_BoundingBox')),
    );
    expect(json['diagnostics_Mask-original_VoxelNum']).toBe(4137);
    expect(json['diagnostics_Mask-original_VoxelNum']).toBe(
      parseCNumber(cell('diagnostics_Mask-original_VoxelNum')),
    );
    expect(json['diagnostics_Mask-original_VolumeNum']).toBe(2);
    expect(json['diagnostics_Mask-original_VolumeNum']).toBe(
      parseCNumber(cell('diagnostics_Mask-original_VolumeNum')),
    );
    expect(json['diagnostics_Mask-original_CenterOfMassIndex']).toEqual(
      tuple(version2Cell('diagnostics_Mask-original_CenterOfMassIndex')),
    );
    expect(json['diagnostics_Mask-original_CenterOfMass']).toEqual(
      tuple(version2Cell('diagnostics_Mask-original_CenterOfMass')),
    );
    expect(json['diagnostics_Image-original_Dimensionality']).toBe('3D');
    expect(json['diagnostics_Configuration_EnabledImageTypes']).toEqual({ Original: {} });
    expect(json['diagnostics_Configuration_Settings']).toMatchObject({
      binWidth: 25,
      voxelArrayShift: 0,
      label: 1,
    });
  });

  it('adds class timings with --timings', () => {
    const timings = json.timings as Record<string, number>;
    expect(Object.keys(timings)).toEqual([
      'totalMs',
      'diagnosticsMs',
      ...Object.keys(timings).filter((key) => !['totalMs', 'diagnosticsMs'].includes(key)),
    ]);
    for (const featureClass of TEXTURE_CLASSES) expect(timings[`${featureClass}Ms`]).toBeGreaterThan(0);
    const parts = Object.entries(timings).filter(([key]) => key !== 'totalMs');
    const sum = parts.reduce((total, [, ms]) => total + ms, 0);
    expect(timings.totalMs).toBeGreaterThanOrEqual(sum);
  });

  it('writes pyradiomics CSV layout', async () => {
    const out = streams();
    await extractCommand({ ...BRAIN1, format: 'csv' }, 'en', out);
    const lines = out.stdout.text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const header = splitCsvLine(lines[0]!);
    const row = splitCsvLine(lines[1]!);
    expect(row).toHaveLength(header.length);
    const cell = (key: string): string => row[header.indexOf(key)]!;
    expect(header.slice(0, 2)).toEqual(['Image', 'Mask']);
    expect(cell('diagnostics_Mask-original_BoundingBox')).toBe('(162, 84, 11, 47, 70, 7)');
    expect(cell('diagnostics_Image-original_Spacing')).toBe(
      '(0.7812499999999999, 0.7812499999999999, 6.499999999999998)',
    );
    expect(cell('diagnostics_Image-original_Mean')).toBe('385.6564080810547');
    expect(cell('original_firstorder_Energy')).toBe('2918821481.0');
    expect(JSON.parse(cell('diagnostics_Configuration_Settings'))).toMatchObject({ binWidth: 25 });
    expect(Number(cell('original_glszm_SmallAreaEmphasis'))).toBe(json.original_glszm_SmallAreaEmphasis);
  });

  it('writes floats like Python repr', () => {
    expect(pythonFloat(1e-5)).toBe('1e-05');
    expect(pythonFloat(0.0001)).toBe('0.0001');
    expect(pythonFloat(1e16)).toBe('1e+16');
    expect(pythonFloat(1e6)).toBe('1000000.0');
    expect(pythonFloat(-3.2034265038149176e-16)).toBe('-3.2034265038149176e-16');
    expect(pythonFloat(Number.NaN)).toBe('nan');
  });

  it('rejects options of the other mode', async () => {
    await expect(extractCommand({ ...BRAIN1, jobs: 2 }, 'en', streams())).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      message: expect.stringContaining('--jobs applies only with --batch') as unknown,
    });
    await expect(
      extractCommand({ batch: 'cases.csv', out: 'results.csv', timings: true }, 'en', streams()),
    ).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      message: expect.stringContaining('--timings applies only to one case') as unknown,
    });
  });

  it('takes the settings of a --params file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-params-'));
    try {
      const params = join(folder, 'params.yaml');
      await writeFile(params, 'setting:\n  binWidth: 50\nimageType:\n  Original: {}\n');
      const out = streams();
      await extractCommand({ ...BRAIN1, params }, 'en', out);
      const record = JSON.parse(out.stdout.text) as Record<string, unknown>;

      const loaded = await loadCase(BRAIN1.image, BRAIN1.mask, 1);
      const expected = computeFeatures(loaded.image, loaded.tumour, ['original_firstorder_Entropy'], {
        ...DEFAULT_RADIOMICS_SETTINGS,
        binWidth: 50,
      });
      expect(record.original_firstorder_Entropy).toBe(expected.original_firstorder_Entropy);
      expect((record.diagnostics_Configuration_Settings as Record<string, unknown>).binWidth).toBe(50);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('computes only the featureClass selection', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-params-'));
    try {
      const params = join(folder, 'params.yaml');
      // glcm names listed out of ASCII order: the output still follows pyradiomics' sorted order.
      await writeFile(params, 'featureClass:\n  glcm: [JointEnergy, Contrast]\n  firstorder:\n');
      const out = streams();
      await extractCommand({ ...BRAIN1, params }, 'en', out);
      const record = JSON.parse(out.stdout.text) as Record<string, unknown>;

      const keys = Object.keys(record).filter((key) => key.startsWith('original_'));
      const firstorder = keys.filter((key) => key.startsWith('original_firstorder_'));
      // pyradiomics' 19 firstorder features less the deprecated StandardDeviation.
      expect(firstorder).toHaveLength(18);
      expect(firstorder).toEqual([...firstorder].sort());
      expect(keys).toEqual([...firstorder, 'original_glcm_Contrast', 'original_glcm_JointEnergy']);
      expect(Object.keys(record).slice(2, 2 + DIAGNOSTIC_KEYS.length)).toEqual(DIAGNOSTIC_KEYS);

      const loaded = await loadCase(BRAIN1.image, BRAIN1.mask, 1);
      const expected = computeFeatures(
        loaded.image,
        loaded.tumour,
        ['original_glcm_Contrast', 'original_glcm_JointEnergy', 'original_firstorder_Median'],
        DEFAULT_RADIOMICS_SETTINGS,
      );
      expect(record.original_glcm_Contrast).toBe(expected.original_glcm_Contrast);
      expect(record.original_glcm_JointEnergy).toBe(expected.original_glcm_JointEnergy);
      expect(record.original_firstorder_Median).toBe(expected.original_firstorder_Median);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('uses the selection for batch columns', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-params-'));
    try {
      const params = join(folder, 'params.yaml');
      await writeFile(params, 'featureClass:\n  glcm: [JointEnergy, Contrast]\n  firstorder:\n');
      const cases = join(folder, 'cases.csv');
      await writeFile(cases, `Image,Mask\n${BRAIN1.image},${BRAIN1.mask}\n${BRAIN2.image},${BRAIN2.mask}\n`);
      const results = join(folder, 'results.csv');
      const summary = await extractCommand({ batch: cases, out: results, params, jobs: 2 }, 'en', streams());
      const lines = (await readFile(results, 'utf8')).split('\n').filter((line) => line !== '');
      const header = splitCsvLine(lines[0]!);

      expect(summary).toEqual({ count: 2, failed: 0, firstFailureCode: null, failuresByCode: {} });
      const features = header.filter((column) => column.startsWith('original_'));
      expect(features).toHaveLength(20);
      expect(features.slice(-2)).toEqual(['original_glcm_Contrast', 'original_glcm_JointEnergy']);
      expect(header).toHaveLength(2 + DIAGNOSTIC_KEYS.length + 20 + 2);
      for (const line of lines.slice(1)) {
        const row = splitCsvLine(line);
        expect(row).toHaveLength(header.length);
        expect(row[header.indexOf('original_glcm_Contrast')]).not.toBe('');
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses --out naming an input file, under its own name or a link', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-out-'));
    try {
      const image = join(folder, 'image.nrrd');
      const mask = join(folder, 'mask.nrrd');
      await writeFile(image, await readFile(BRAIN1.image));
      await writeFile(mask, await readFile(BRAIN1.mask));
      await symlink(mask, join(folder, 'link.nrrd'));
      for (const out of [image, join(folder, 'link.nrrd')]) {
        await expect(extractCommand({ image, mask, out }, 'en', streams())).rejects.toMatchObject({
          code: 'ERR_REQUEST_INVALID',
          message: expect.stringContaining('which writing the results would destroy') as unknown,
        });
      }
      expect((await readFile(image)).equals(await readFile(BRAIN1.image))).toBe(true);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('prints the warning of a mask resampled from another grid', async () => {
    // brain1's label map (25 slices) on brain2's image (23 slices, another origin).
    const out = streams();
    await extractCommand({ image: BRAIN2.image, mask: BRAIN1.mask }, 'en', out);
    expect(out.stderr.text).toContain('Warning: The label map');
    expect(out.stderr.text).toContain('resampled onto the image by nearest neighbour');
  });

  it('names a missing --out folder as a user error', async () => {
    await expect(
      extractCommand({ ...BRAIN1, out: join(tmpdir(), 'nqo1-absent-folder', 'x.json') }, 'en', streams()),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      message: expect.stringContaining('does not exist') as unknown,
    });
  });

  it('names a misspelt setting of a --params file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-params-'));
    try {
      const params = join(folder, 'params.yaml');
      await writeFile(params, 'setting:\n  binwidht: 50\n');
      await expect(extractCommand({ ...BRAIN1, params }, 'en', streams())).rejects.toMatchObject({
        code: 'ERR_SETTINGS_INVALID',
        message: expect.stringContaining('binWidth') as unknown,
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('extract --batch', () => {
  let folder: string;
  let casesCsv: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'nqo1-extract-'));
    casesCsv = join(folder, 'cases.csv');
    await writeFile(
      casesCsv,
      [
        'Image,Mask,Note',
        `${BRAIN1.image},${BRAIN1.mask},first`,
        `${BRAIN2.image},${BRAIN2.mask},second`,
        // Relative to the CSV folder, and absent.
        `missing_image.nrrd,${BRAIN2.mask},"broken, on purpose"`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** A parameter file with first order only, for quick batch runs. */
  let firstOrderParams: string;
  beforeAll(async () => {
    firstOrderParams = join(folder, 'firstorder.yaml');
    await writeFile(firstOrderParams, 'featureClass:\n  firstorder: [Mean]\n');
  });

  async function runBatch(
    jobs: number,
  ): Promise<{ code: number; header: string[]; rows: string[][]; stderr: string }> {
    const out = join(folder, `results-${jobs}.csv`);
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await runCli(['extract', '--batch', casesCsv, '--out', out, '--jobs', String(jobs)]);
      const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
      return { code, header: splitCsvLine(lines[0]!), rows: lines.slice(1).map(splitCsvLine), stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('refuses --out naming the case list', async () => {
    const before = await readFile(casesCsv, 'utf8');
    await expect(extractCommand({ batch: casesCsv, out: casesCsv }, 'en', streams())).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
    });
    expect(await readFile(casesCsv, 'utf8')).toBe(before);
  });

  it('keeps order and failed rows', async () => {
    const { code, header, rows, stderr } = await runBatch(1);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^\[1\/3\] brain1_image\.nrrd: done \(/m);
    expect(stderr).toMatch(/^\[3\/3\] missing_image\.nrrd: failed, ERR_NOT_FOUND \(/m);
    expect(stderr).toContain(
      'Error ERR_NOT_FOUND: 1 of 3 cases failed (ERR_NOT_FOUND 1); the code above is the first.',
    );
    expect(rows).toHaveLength(3);
    expect(header.slice(0, 3)).toEqual(['Image', 'Mask', 'Note']);
    expect(header.slice(3, 3 + DIAGNOSTIC_KEYS.length)).toEqual(DIAGNOSTIC_KEYS);
    expect(header.slice(-2)).toEqual(['error_code', 'error_message']);
    for (const row of rows) expect(row).toHaveLength(header.length);

    const at = (row: string[], key: string): string => row[header.indexOf(key)]!;
    expect(rows.map((row) => at(row, 'Note'))).toEqual(['first', 'second', 'broken, on purpose']);
    expect(at(rows[0]!, 'diagnostics_Mask-original_VoxelNum')).toBe('4137');
    expect(at(rows[1]!, 'diagnostics_Mask-original_VoxelNum')).toBe('453');
    expect(at(rows[1]!, 'diagnostics_Image-original_Hash')).toBe('f2b8fbc4d5d1da08a1a70e79a301f8a830139438');
    expect(at(rows[0]!, 'error_code')).toBe('');
    expect(at(rows[2]!, 'error_code')).toBe('ERR_NOT_FOUND');
    expect(at(rows[2]!, 'error_message')).toContain(join(folder, 'missing_image.nrrd'));
    expect(at(rows[2]!, 'Image')).toBe(join(folder, 'missing_image.nrrd'));
    expect(at(rows[2]!, 'original_firstorder_Mean')).toBe('');
  });

  it('gives identical rows for 1 and 2 jobs', async () => {
    const serial = await runBatch(1);
    const parallel = await runBatch(2);
    expect(parallel.code).toBe(1);
    expect(parallel.header).toEqual(serial.header);
    expect(parallel.rows).toEqual(serial.rows);
  }, 60_000);

  it('draws a terminal bar in Chinese', async () => {
    const stderr = Object.assign(new TextSink(), { isTTY: true });
    const out = join(folder, 'results-tty.csv');
    const summary = await extractCommand({ batch: casesCsv, out, jobs: 1 }, 'zh-CN', {
      stdout: new TextSink(),
      stderr,
    });
    expect(summary).toEqual({
      count: 3,
      failed: 1,
      firstFailureCode: 'ERR_NOT_FOUND',
      failuresByCode: { ERR_NOT_FOUND: 1 },
    });
    expect(stderr.text).toContain(`[${'#'.repeat(30)}] 3/3`);
    expect(stderr.text).toContain('missing_image.nrrd：失败，ERR_NOT_FOUND');
    expect(stderr.text).toContain('已提取 3 例中的 2 例（1 例失败）');
  });

  it('reuses successful rows with --resume', async () => {
    const out = join(folder, 'results-resume.csv');
    const quiet = { stdout: new TextSink(), stderr: new TextSink() };
    await extractCommand({ batch: casesCsv, out, jobs: 1 }, 'en', quiet);
    const first = await readFile(out, 'utf8');
    // Simulate an interrupted run: only the header and the first case's row were written.
    await writeFile(out, first.split('\n').slice(0, 2).join('\n') + '\n');

    const again = streams();
    const summary = await extractCommand({ batch: casesCsv, out, jobs: 1, resume: true }, 'en', again);
    expect(summary.failed).toBe(1);
    expect(again.stderr.text).toContain('[1/3] brain1_image.nrrd: kept from the earlier run');
    expect(again.stderr.text).toContain('[2/3] brain2_image.nrrd: done');
    expect(await readFile(out, 'utf8')).toBe(first);
  });

  it('extracts again the rows of other settings on --resume', async () => {
    const out = join(folder, 'results-settings.csv');
    const quiet = { stdout: new TextSink(), stderr: new TextSink() };
    await extractCommand({ batch: casesCsv, out, jobs: 1 }, 'en', quiet);
    const params = join(folder, 'bincount.yaml');
    await writeFile(params, 'setting:\n  binCount: 32\n');

    const again = streams();
    await extractCommand({ batch: casesCsv, out, jobs: 1, resume: true, params }, 'en', again);

    expect(again.stderr.text).not.toContain('kept from the earlier run');
    expect(await readFile(out, 'utf8')).toContain('""binCount"":32');
  });

  it('rejects --resume into other columns', async () => {
    const out = join(folder, 'results-other.csv');
    await writeFile(out, 'Image,Mask,something_else\n');
    await expect(
      extractCommand({ batch: casesCsv, out, jobs: 1, resume: true }, 'en', streams()),
    ).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    expect(await readFile(out, 'utf8')).toBe('Image,Mask,something_else\n');
  });

  it('leaves out the diagnostics columns with additionalInfo: false, and refuses --resume then', async () => {
    const params = join(folder, 'no-diagnostics.yaml');
    await writeFile(params, 'setting:\n  additionalInfo: false\nfeatureClass:\n  firstorder: [Mean]\n');
    const out = join(folder, 'results-no-diagnostics.csv');
    await extractCommand({ batch: casesCsv, out, jobs: 1, params }, 'en', streams());
    const [header, firstRow] = (await readFile(out, 'utf8')).split('\n');
    expect(header).toBe('Image,Mask,Note,original_firstorder_Mean,error_code,error_message');
    // brain1 mean over its 4137 ROI voxels, as the pyradiomics baseline has it.
    expect(Number(firstRow!.split(',')[3])).toBeCloseTo(825.2354363065023, 9);

    const refused = extractCommand({ batch: casesCsv, out, jobs: 1, resume: true, params }, 'en', streams());
    await expect(refused).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    await expect(refused).rejects.toThrow(/additionalInfo/);
  });

  for (const jobs of [1, 2]) {
    it(`abort with ${jobs} job(s), then resume`, async () => {
      const out = join(folder, `results-interrupted-${jobs}.csv`);
      const complete = join(folder, `results-complete-${jobs}.csv`);
      const quiet = { stdout: new TextSink(), stderr: new TextSink() };
      await extractCommand({ batch: casesCsv, out: complete, jobs }, 'en', quiet);

      // Ctrl-C as soon as the first case's progress line appears.
      const interruption = new AbortController();
      const stderr = new TextSink();
      const watched = Object.assign(stderr, {
        write(chunk: string): boolean {
          stderr.text += chunk;
          if (chunk.startsWith('[1/3]')) interruption.abort();
          return true;
        },
      });
      const summary = await extractCommand({ batch: casesCsv, out, jobs }, 'en', {
        stdout: new TextSink(),
        stderr: watched,
        signal: interruption.signal,
      });
      expect(summary.interrupted).toBe(true);
      const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(2);
      expect(watched.text).toContain(`Interrupted: ${out} holds the rows of the first 1 of 3 cases.`);
      expect(watched.text).not.toContain('[2/3]');

      const again = streams();
      const resumed = await extractCommand({ batch: casesCsv, out, jobs, resume: true }, 'en', again);
      expect(resumed.interrupted).toBeUndefined();
      expect(again.stderr.text).toContain('[1/3] brain1_image.nrrd: kept from the earlier run');
      expect(await readFile(out, 'utf8')).toBe(await readFile(complete, 'utf8'));
    }, 60_000);
  }

  it('resume re-extracts a changed image', async () => {
    const image = join(folder, 'copied_image.nrrd');
    await copyFile(BRAIN1.image, image);
    const list = join(folder, 'copied.csv');
    await writeFile(list, `Image,Mask\n${image},${BRAIN1.mask}\n`);
    const out = join(folder, 'results-changed.csv');
    await extractCommand({ batch: list, out, jobs: 1, params: firstOrderParams }, 'en', streams());

    // The image is replaced after the results file was written: a later modification time.
    const later = new Date(Date.now() + 60_000);
    await utimes(image, later, later);
    const again = streams();
    await extractCommand({ batch: list, out, jobs: 1, params: firstOrderParams, resume: true }, 'en', again);
    expect(again.stderr.text).toContain('[1/1] copied_image.nrrd: done');
    expect(again.stderr.text).not.toContain('kept from the earlier run');
  });
});
