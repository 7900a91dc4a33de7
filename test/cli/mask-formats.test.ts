/** `score` with RTSTRUCT, 3D Slicer .seg.nrrd and NIfTI inputs. */

import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scoreCommand } from '../../src/cli/commands/score.js';
import { isNqo1Error } from '../../src/errors.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { buildNifti, sformOfGrid } from '../imaging/build-nifti.js';
import { TextSink } from './support.js';

const SHARED = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const RT_UTILS = `${SHARED}dicom/rt-utils/mock_data/`;
const SLICERIO = `${SHARED}dicom/slicerio/`;
const BRAIN1 = {
  image: `${SHARED}radiomics/pyradiomics/brain1_image.nrrd`,
  mask: `${SHARED}radiomics/pyradiomics/brain1_label.nrrd`,
};

let folder = '';

beforeAll(async () => {
  // The rt-utils folder also contains RTSTRUCT files, so the two CT slices are linked into a folder of
  // their own.
  folder = await mkdtemp(join(tmpdir(), 'nqo1-masks-'));
  await symlink(`${RT_UTILS}ct_1.dcm`, join(folder, 'ct_1.dcm'));
  await symlink(`${RT_UTILS}ct_2.dcm`, join(folder, 'ct_2.dcm'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('score with an RTSTRUCT', () => {
  it('computes the features of the rt-utils ROI', async () => {
    const result = await scoreCommand(
      { image: folder, mask: `${RT_UTILS}rt.dcm`, json: true },
      'en',
      new TextSink(),
    );
    // 1443 voxels: the ring of rt.dcm, counted independently in test/imaging/rtstruct.test.ts.
    expect(result.provenance.tumourVoxelCount).toBe(1443);
    expect(result.provenance.periVoxelCount).toBeGreaterThan(1443);
    expect(result.provenance.segmentationInstanceUid).toBe(
      '1.2.826.0.1.3680043.8.498.22430495616617216947739970650082853315',
    );
    expect(result.provenance.spacingMm[2]).toBeCloseTo(5, 6);
    for (const value of Object.values(result.features)) expect(Number.isFinite(value)).toBe(true);
  });

  it('selects the ROI by --segment name', async () => {
    const result = await scoreCommand(
      { image: folder, mask: `${RT_UTILS}rt.dcm`, segment: 'roi-1' },
      'en',
      new TextSink(),
    );
    expect(result.provenance.tumourVoxelCount).toBe(1443);
  });

  it('reports the dangling reference', async () => {
    await expect(
      scoreCommand(
        { image: folder, mask: `${RT_UTILS}invalid_reference_rt.dcm`, segment: '1' },
        'en',
        new TextSink(),
      ),
    ).rejects.toMatchObject({ code: 'ERR_RTSTRUCT_MALFORMED' });
  });

  it('needs a DICOM image', async () => {
    await expect(
      scoreCommand({ image: BRAIN1.image, mask: `${RT_UTILS}rt.dcm` }, 'en', new TextSink()),
    ).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
  });
});

describe('score with a 3D Slicer .seg.nrrd', () => {
  const image = `${SLICERIO}CTChest4.nrrd`;
  const mask = `${SLICERIO}Segmentation.seg.nrrd`;

  function rawCount(label: number): number {
    const bytes = readFileSync(mask);
    const samples = gunzipSync(bytes.subarray(bytes.indexOf('\n\n') + 2));
    let count = 0;
    for (const value of samples) if (value === label) count++;
    return count;
  }

  it('reads the segment named by --segment', async () => {
    const result = await scoreCommand(
      { image, mask, segment: 'cervical vertebral column' },
      'en',
      new TextSink(),
    );
    expect(result.provenance.tumourVoxelCount).toBe(rawCount(2));
  });

  it('reads a label value given as --segment digits', async () => {
    const result = await scoreCommand({ image, mask, segment: '4' }, 'en', new TextSink());
    expect(result.provenance.tumourVoxelCount).toBe(rawCount(4));
  });

  it('asks which segment without --segment', async () => {
    await expect(scoreCommand({ image, mask }, 'en', new TextSink())).rejects.toMatchObject({
      code: 'ERR_SEGMENT_SELECTION',
    });
  });
});

describe('score with NIfTI files', () => {
  it('gives the NRRD features for a NIfTI copy of brain1', async () => {
    const imageVolume = readNrrd(readFileSync(BRAIN1.image));
    const labelVolume = readNrrd(readFileSync(BRAIN1.mask));
    const imagePath = join(folder, 'brain1_image.nii');
    const maskPath = join(folder, 'brain1_label.nii.gz');
    const sizes = [...imageVolume.grid.dimensions];
    await writeFile(
      imagePath,
      buildNifti({ sizes, datatype: 4, voxels: imageVolume.voxels, sform: sformOfGrid(imageVolume.grid) }),
    );
    await writeFile(
      maskPath,
      buildNifti({
        sizes,
        datatype: 2,
        voxels: labelVolume.voxels,
        sform: sformOfGrid(labelVolume.grid),
        gzip: true,
      }),
    );

    const fromNrrd = await scoreCommand(BRAIN1, 'en', new TextSink());
    const fromNifti = await scoreCommand({ image: imagePath, mask: maskPath }, 'en', new TextSink());
    expect(fromNifti.provenance.tumourVoxelCount).toBe(fromNrrd.provenance.tumourVoxelCount);
    expect(fromNifti.provenance.periVoxelCount).toBe(fromNrrd.provenance.periVoxelCount);
    // Tolerance: relative 1e-6, because the sform is float32 and the spacing enters the features only
    // through the dilation, which must select the same voxels.
    for (const [name, value] of Object.entries(fromNrrd.features)) {
      expect(Math.abs(fromNifti.features[name]! - value)).toBeLessThanOrEqual(1e-6 * Math.abs(value));
    }
  });
});

describe('score reading options', () => {
  const CT2 = `${SHARED}dicom/pydicom/dicomdirtests/77654033/CT2/`;
  const FRACTIONAL = `${SHARED}dicom/highdicom/seg_image_ct_true_fractional.dcm`;
  let ct2Folder = '';

  beforeAll(async () => {
    // The CT2 series has a 202 mm gap before these three slices, so they are scored on their own.
    ct2Folder = await mkdtemp(join(tmpdir(), 'nqo1-ct2-'));
    for (const name of ['17136', '17166', '17196']) await symlink(`${CT2}${name}`, join(ct2Folder, name));
  });

  afterAll(async () => {
    await rm(ct2Folder, { recursive: true, force: true });
  });

  it('passes --fractional-threshold to the SEG reader', async () => {
    // 638 and 661 pixels reach 0.5 and 0.25 of MaximumFractionalValue, as counted in
    // test/imaging/seg-variants.test.ts.
    const atHalf = await scoreCommand({ image: ct2Folder, mask: FRACTIONAL }, 'en', new TextSink());
    const atQuarter = await scoreCommand(
      { image: ct2Folder, mask: FRACTIONAL, fractionalThreshold: 0.25 },
      'en',
      new TextSink(),
    );
    expect(atHalf.provenance.tumourVoxelCount).toBe(638);
    expect(atQuarter.provenance.tumourVoxelCount).toBe(661);
  });

  it('names --resample-irregular when it rejects a tilted series', async () => {
    const error: unknown = await scoreCommand(
      { image: `${SHARED}dicom/dcm_qa_ct/GE`, mask: FRACTIONAL },
      'en',
      new TextSink(),
    ).catch((thrown: unknown) => thrown);
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect((error as Error).message).toContain('gantry tilt of 18.5°');
    expect((error as Error).message).toContain('--resample-irregular');
  });
});
