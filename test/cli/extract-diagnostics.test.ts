import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { readNrrd } from '../../src/imaging/nrrd.js';
import type { Grid } from '../../src/imaging/volume.js';
import {
  countComponents26,
  encodeSamples,
  imageDiagnostics,
  maskDiagnostics,
} from '../../src/radiomics/diagnostics.js';
import { PYRADIOMICS_DIR, parseCNumber, readBaseline } from '../radiomics/support/baseline.js';

/** Parses a Python tuple cell such as "(205, 155, 8, 20, 15, 3)". */
function tuple(text: string): number[] {
  return text
    .replace(/^\(|\)$/g, '')
    .split(',')
    .map((item) => parseCNumber(item.trim()));
}

const table = readBaseline('firstorder');
/** The pyradiomics 2.0 column of a case, which has every diagnostics row. */
const cell = (row: string, testCase: string): string => table.get(row)!.get(`${testCase}_normalization`)!;

describe('mask diagnostics against the pyradiomics baseline', () => {
  // lung1 has no image in the shared data, so only its mask rows are checked.
  for (const testCase of ['brain2', 'lung1']) {
    it(`matches ${testCase} exactly`, () => {
      const labels = readNrrd(readFileSync(new URL(`${testCase}_label.nrrd`, PYRADIOMICS_DIR)));
      const mask = maskDiagnostics(labels, 1);

      expect(mask.hash).toBe(cell('diagnostics_Mask-original_Hash', testCase));
      expect(mask.boundingBox).toEqual(tuple(cell('diagnostics_Mask-original_BoundingBox', testCase)));
      expect(mask.voxelNum).toBe(parseCNumber(cell('diagnostics_Mask-original_VoxelNum', testCase)));
      expect(mask.volumeNum).toBe(parseCNumber(cell('diagnostics_Mask-original_VolumeNum', testCase)));
      expect(mask.size).toEqual(tuple(cell('diagnostics_Mask-original_Size', testCase)));
      expect(mask.spacingMm).toEqual(tuple(cell('diagnostics_Mask-original_Spacing', testCase)));
      expect(mask.centerOfMassIndex).toEqual(
        tuple(cell('diagnostics_Mask-original_CenterOfMassIndex', testCase)),
      );
      expect(mask.centerOfMassMm).toEqual(tuple(cell('diagnostics_Mask-original_CenterOfMass', testCase)));
    });
  }

  it('matches the brain2 image rows exactly', () => {
    const image = readNrrd(readFileSync(new URL('brain2_image.nrrd', PYRADIOMICS_DIR)));
    const diagnostics = imageDiagnostics(image, 'int16');

    expect(diagnostics.hash).toBe('f2b8fbc4d5d1da08a1a70e79a301f8a830139438');
    expect(diagnostics.hash).toBe(cell('diagnostics_Image-original_Hash', 'brain2'));
    expect(diagnostics.mean).toBe(parseCNumber(cell('diagnostics_Image-original_Mean', 'brain2')));
    expect(diagnostics.minimum).toBe(parseCNumber(cell('diagnostics_Image-original_Minimum', 'brain2')));
    expect(diagnostics.maximum).toBe(parseCNumber(cell('diagnostics_Image-original_Maximum', 'brain2')));
  });
});

describe('diagnostics helpers', () => {
  it('joins corner neighbours into one component', () => {
    // Voxels (0,0,0) and (1,1,1) touch only at a corner: one component with 26-connectivity.
    const voxels = new Uint8Array(8);
    voxels[0] = 1;
    voxels[7] = 1;
    expect(countComponents26(voxels, [2, 2, 2])).toBe(1);
    // In a 3×3 plane, (0,0) and (0,1) share a face, but (2,2) is two voxels away from both.
    expect(countComponents26(new Uint8Array([1, 0, 0, 1, 0, 0, 0, 0, 1]), [3, 3, 1])).toBe(2);
  });

  it('encodes samples little-endian', () => {
    expect([...encodeSamples(new Float64Array([-2, 258]), 'int16')]).toEqual([0xfe, 0xff, 0x02, 0x01]);
    expect([...encodeSamples(new Float64Array([1.9]), 'uint32')]).toEqual([1, 0, 0, 0]);
  });

  it('maps the centre of mass through the axes', () => {
    const grid: Grid = {
      dimensions: [4, 4, 4],
      spacingMm: [2, 3, 4],
      originMm: [10, 20, 30],
      axes: [
        [1, 0, 0],
        [0, -1, 0],
        [0, 0, 1],
      ],
    };
    const voxels = new Float64Array(64);
    voxels[1 + 4 * (2 + 4 * 3)] = 5; // (1, 2, 3)
    voxels[3 + 4 * (2 + 4 * 3)] = 5; // (3, 2, 3)
    const mask = maskDiagnostics({ grid, voxels }, 5);

    expect(mask.centerOfMassIndex).toEqual([2, 2, 3]);
    expect(mask.centerOfMassMm).toEqual([14, 14, 42]);
    expect(mask.boundingBox).toEqual([1, 2, 3, 3, 1, 1]);
    expect(mask.volumeNum).toBe(2);
  });
});
