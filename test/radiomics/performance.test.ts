/**
 * Speed of the BR-RO features on a synthetic ROI of about 100 000 voxels: a 64×64×40 box holding a
 * 60×60×30 block of noisy CT-like values (deterministic generator), so every texture class does real
 * work. The gate of 1 s is for the whole extraction and leaves room for slow CI machines.
 */

import { describe, expect, it } from 'vitest';

import { computeFeatures } from '../../src/radiomics/extract.js';
import { DEFAULT_RADIOMICS_SETTINGS } from '../../src/radiomics/settings.js';
import { makeGrid } from './support/volumes.js';

const BR_RO_FEATURES = [
  'original_glszm_SmallAreaEmphasis',
  'original_ngtdm_Coarseness',
  'original_glrlm_RunLengthNonUniformity',
  'original_firstorder_TotalEnergy',
  'original_glszm_SmallAreaLowGrayLevelEmphasis',
];

describe('extraction speed', () => {
  it('100k-voxel ROI in under a second', () => {
    const grid = makeGrid([64, 64, 40], [0.7, 0.7, 1.25]);
    const voxels = new Float64Array(64 * 64 * 40);
    const mask = new Uint8Array(voxels.length);
    let state = 12345;
    let roiVoxels = 0;
    for (let k = 0; k < 40; k++) {
      for (let j = 0; j < 64; j++) {
        for (let i = 0; i < 64; i++) {
          const index = i + 64 * (j + 64 * k);
          state = (state * 1103515245 + 12345) % 2147483648;
          voxels[index] = 60 + (state / 2147483648) * 200;
          if (i >= 2 && i < 62 && j >= 2 && j < 62 && k >= 5 && k < 35) {
            mask[index] = 1;
            roiVoxels++;
          }
        }
      }
    }
    expect(roiVoxels).toBe(108_000);

    const start = performance.now();
    const values = computeFeatures(
      { grid, voxels },
      { grid, voxels: mask },
      BR_RO_FEATURES,
      DEFAULT_RADIOMICS_SETTINGS,
    );
    const elapsedMs = performance.now() - start;

    for (const name of BR_RO_FEATURES) expect(Number.isFinite(values[name])).toBe(true);
    expect(elapsedMs).toBeLessThan(1000);
    console.info(`BR-RO features on ${roiVoxels} voxels: ${elapsedMs.toFixed(0)} ms`);
  });
});
