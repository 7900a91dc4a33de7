import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it, vi } from 'vitest';

import { scoreCommand } from '../../src/cli/commands/score.js';
import { runCli } from '../../src/cli/main.js';
import { isNqo1Error } from '../../src/errors.js';
import { TextSink } from './support.js';

const SHARED = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const BRAIN1 = {
  image: `${SHARED}radiomics/pyradiomics/brain1_image.nrrd`,
  mask: `${SHARED}radiomics/pyradiomics/brain1_label.nrrd`,
};
const CT_3SLICE = `${SHARED}dicom/dcmqi/segmentations/ct-3slice`;
const LIVER_SEG = `${SHARED}dicom/dcmqi/segmentations/liver.dcm`;
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** Reads the brain1 default-column cell of a pyradiomics baseline CSV. */
async function baselineValue(featureClass: string, row: string): Promise<number> {
  const text = await readFile(`${SHARED}radiomics/pyradiomics/baseline/baseline_${featureClass}.csv`, 'utf8');
  const lines = text.split(/\r?\n/).map((line) => line.split(','));
  const column = lines[0]!.indexOf('brain1');
  const cell = lines.find((fields) => fields[0] === row)?.[column];
  if (cell === undefined) throw new Error(`baseline_${featureClass}.csv has no ${row} for brain1`);
  return Number(cell);
}

const PAPER_NAMES = [
  'Whole_glszm_SmallAreaEmphasis',
  'Whole_ngtdm_Coarseness',
  'Whole_peri_glrlm_RunLengthNonUniformity',
  'Whole_peri_ngtdm_Coarseness',
  'Whole_peri_firstorder_TotalEnergy',
  'Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis',
];

describe('score --json', () => {
  it('keys the features by the paper names', async () => {
    const sink = new TextSink();
    await scoreCommand({ ...BRAIN1, json: true }, 'en', sink);
    const json = JSON.parse(sink.text) as Record<string, unknown>;

    expect(Object.keys(json.features as object)).toEqual(PAPER_NAMES);
    expect(json.model).toEqual({ id: 'br-ro', version: '1.0.0' });
    expect(json.calibrated).toBe(false);
    expect(json.probability).toBeNull();
    expect(json.class).toBeNull();
    expect(json.contributions).toBeNull();
    const provenance = json.provenance as { spacingMm: number[]; dilationMm: number; engineVersion: string };
    expect(provenance.spacingMm.map((value) => value.toFixed(9))).toEqual([
      '0.781250000',
      '0.781250000',
      '6.500000000',
    ]);
    expect(provenance.dilationMm).toBe(3);
    expect(provenance.engineVersion).toBe('0.1.0');
  });

  it('matches pyradiomics on the brain1 tumour', async () => {
    // The tumour features do not depend on voxelArrayShift, so the default brain1 column of the
    // pyradiomics baseline applies. Tolerance: relative error 1e-9.
    const sink = new TextSink();
    const result = await scoreCommand({ ...BRAIN1, json: true }, 'en', sink);
    const expected = {
      Whole_glszm_SmallAreaEmphasis: await baselineValue('glszm', 'original_glszm_SmallAreaEmphasis'),
      Whole_ngtdm_Coarseness: await baselineValue('ngtdm', 'original_ngtdm_Coarseness'),
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(Math.abs(result.features[name]! - value) / Math.abs(value)).toBeLessThanOrEqual(1e-9);
    }
    expect(result.provenance.tumourVoxelCount).toBe(
      await baselineValue('firstorder', 'diagnostics_Mask-original_VoxelNum'),
    );
    expect(result.provenance.periVoxelCount).toBeGreaterThan(result.provenance.tumourVoxelCount);
  });

  it('scores the dcmqi CT with its liver SEG', async () => {
    const sink = new TextSink();
    const result = await scoreCommand({ image: CT_3SLICE, mask: LIVER_SEG, json: true }, 'en', sink);
    expect(result.provenance.seriesInstanceUid).toMatch(/^[0-9.]+$/);
    expect(result.provenance.segmentationInstanceUid).toMatch(/^[0-9.]+$/);
    expect(result.provenance.spacingMm[2]).toBeCloseTo(1, 6);
    for (const name of PAPER_NAMES) expect(Number.isFinite(result.features[name])).toBe(true);
  });
});

describe('nqo1-cds command line', () => {
  it('prints a Chinese summary with --lang zh-CN', async () => {
    const sink = new TextSink();
    await scoreCommand(BRAIN1, 'zh-CN', sink);
    expect(sink.text).toContain('特征');
    expect(sink.text).toContain('无概率');
  });

  it('returns 1 with the code for a missing mask', async () => {
    const code = await runCli(['score', '--image', CT_3SLICE, '--mask', '/nonexistent/mask.dcm']);
    expect(code).toBe(1);
  });

  it('prints the error as JSON with --json', async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await runCli(['score', '--image', CT_3SLICE, '--mask', '/nonexistent/mask.dcm', '--json']);
      expect(code).toBe(1);
      const printed = stdout.mock.calls.map(([chunk]) => String(chunk)).join('');
      expect(JSON.parse(printed)).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it('rejects an unknown --lang', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(['--lang', 'fr', 'score', '--image', CT_3SLICE, '--mask', LIVER_SEG])).toBe(2);
      expect(stderr.mock.calls.map(([chunk]) => String(chunk)).join('')).toContain(
        'expected en or zh-CN, got "fr"',
      );
    } finally {
      stderr.mockRestore();
    }
  });

  it.each([
    ['--mask-tolerance-mm', '-1'],
    ['--fractional-threshold', '0'],
    ['--fractional-threshold', 'half'],
  ])('returns 2 for %s %s', async (option, value) => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(['score', '--image', CT_3SLICE, '--mask', LIVER_SEG, option, value])).toBe(2);
      expect(stderr.mock.calls.map(([chunk]) => String(chunk)).join('')).toContain(`got "${value}"`);
    } finally {
      stderr.mockRestore();
    }
  });

  it('stops a series over --max-instances', async () => {
    const error: unknown = await scoreCommand(
      { image: CT_3SLICE, mask: LIVER_SEG, maxInstances: 2 },
      'en',
      new TextSink(),
    ).catch((thrown: unknown) => thrown);
    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('--max-instances');
  });

  it('rejects a mask that is no known format', async () => {
    const error: unknown = await scoreCommand({ image: CT_3SLICE, mask: README }, 'en', new TextSink()).catch(
      (thrown: unknown) => thrown,
    );
    expect(isNqo1Error(error, 'ERR_REQUEST_INVALID')).toBe(true);
    expect((error as Error).message).toContain('is not a DICOM Part 10 file, an NRRD file or a NIfTI file');
  });

  it('returns 2 for an unknown option', async () => {
    const code = await runCli(['score', '--imag', 'x']);
    expect(code).toBe(2);
  });
});

describe('score mask selection', () => {
  const OVERLAPS = `${SHARED}dicom/dcmqi/segmentations/partial_overlaps.dcm`;

  it('asks which segment of a multi-segment SEG', async () => {
    await expect(
      scoreCommand({ image: CT_3SLICE, mask: OVERLAPS }, 'en', new TextSink()),
    ).rejects.toMatchObject({
      code: 'ERR_SEGMENT_SELECTION',
    });
  });

  it('takes the segment given by --segment', async () => {
    const bySegment = await scoreCommand(
      { image: CT_3SLICE, mask: OVERLAPS, segment: '3' },
      'en',
      new TextSink(),
    );
    expect(bySegment.provenance.tumourVoxelCount).toBeGreaterThan(0);
  });

  it('reads the NRRD label given by --label', async () => {
    const spine = `${SHARED}dicom/dcmqi/segmentations/spine_seg_label5.nrrd`;
    await expect(scoreCommand({ image: CT_3SLICE, mask: spine }, 'en', new TextSink())).rejects.toMatchObject(
      {
        code: 'ERR_MASK_EMPTY',
      },
    );
    const result = await scoreCommand({ image: CT_3SLICE, mask: spine, label: 5 }, 'en', new TextSink());
    expect(result.provenance.tumourVoxelCount).toBeGreaterThan(0);
  });
});
