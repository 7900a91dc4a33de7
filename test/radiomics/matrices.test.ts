/**
 * Texture matrices against the .npy matrices stored with the pyradiomics baselines (default
 * configuration: binWidth 25, 13 GLCM and GLRLM directions, 26-connected GLSZM zones, NGTDM and GLDM at
 * distance 1, GLDM α = 0).
 * The matrices hold counts and sums of small rationals, so the gate is 1e-12 relative per cell.
 */

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { discretise } from '../../src/radiomics/discretise.js';
import { buildGlcm } from '../../src/radiomics/glcm.js';
import { buildGldm } from '../../src/radiomics/gldm.js';
import { buildGlrlm } from '../../src/radiomics/glrlm.js';
import { buildGlszm } from '../../src/radiomics/glszm.js';
import { buildNgtdm } from '../../src/radiomics/ngtdm.js';
import { extractRoi } from '../../src/radiomics/roi.js';
import { textureInput, type TextureInput } from '../../src/radiomics/texture.js';
import { BASELINE_DIR, columnSettings, loadCase } from './support/baseline.js';
import { npyAt, readNpy, type NpyArray } from './support/npy.js';

const CELL_TOLERANCE = 1e-12;

function loadMatrix(caseName: string, matrix: string): NpyArray {
  return readNpy(readFileSync(new URL(`${caseName}_${matrix}.npy`, BASELINE_DIR)));
}

function prepare(caseName: string): TextureInput {
  const { image, mask } = loadCase(caseName);
  const { settings } = columnSettings(caseName, 'glrlm');
  const roi = extractRoi(image, mask, settings);
  return textureInput(discretise(roi, settings), roi.size, { ...settings, spacingMm: roi.spacingMm });
}

function expectClose(actual: number, expected: number, where: string): void {
  expect(Math.abs(actual - expected), where).toBeLessThanOrEqual(
    CELL_TOLERANCE * Math.max(1, Math.abs(expected)),
  );
}

describe.each(['brain1', 'brain2'])('%s texture matrices', (caseName) => {
  const input = prepare(caseName);

  it('GLRLM equals the .npy matrix, direction by direction', () => {
    const expected = loadMatrix(caseName, 'glrlm');
    const glrlm = buildGlrlm(input);
    const [levelCount, runLengthCount, angleCount] = expected.shape as [number, number, number];

    expect(glrlm.grayLevels.length).toBe(levelCount);
    expect(glrlm.angles).toHaveLength(angleCount);
    // pyradiomics deletes run lengths that occur in no direction; the .npy columns are the rest.
    const occurringLengths: number[] = [];
    for (let column = 0; column < glrlm.maxRunLength; column++) {
      if (
        glrlm.counts.some((matrix) =>
          matrix.some((count, cell) => count > 0 && cell % glrlm.maxRunLength === column),
        )
      ) {
        occurringLengths.push(column);
      }
    }
    expect(occurringLengths).toHaveLength(runLengthCount);

    for (let a = 0; a < angleCount; a++) {
      for (let row = 0; row < levelCount; row++) {
        occurringLengths.forEach((column, npyColumn) => {
          const actual = glrlm.counts[a]![row * glrlm.maxRunLength + column]!;
          expectClose(
            actual,
            npyAt(expected, row, npyColumn, a),
            `angle ${a} level ${row} run ${column + 1}`,
          );
        });
      }
    }
  });

  it('GLSZM equals the .npy matrix', () => {
    const expected = loadMatrix(caseName, 'glszm');
    const glszm = buildGlszm(input);
    const [levelCount, sizeColumns] = expected.shape as [number, number];
    expect(glszm.grayLevels.length).toBe(levelCount);

    // Both drop zone sizes that never occur, so the columns correspond one to one.
    expect(glszm.zoneSizes.length).toBe(sizeColumns);
    for (let row = 0; row < levelCount; row++) {
      for (let column = 0; column < sizeColumns; column++) {
        const actual = glszm.counts[row * sizeColumns + column]!;
        expectClose(actual, npyAt(expected, row, column), `level ${row} size ${glszm.zoneSizes[column]}`);
      }
    }
  });

  it('NGTDM equals the .npy matrix', () => {
    const expected = loadMatrix(caseName, 'ngtdm');
    const ngtdm = buildNgtdm(input, [1]);
    expect(ngtdm.grayLevels.length).toBe(expected.shape[0]);
    for (let row = 0; row < ngtdm.grayLevels.length; row++) {
      expectClose(ngtdm.counts[row]!, npyAt(expected, row, 0), `n_i row ${row}`);
      expectClose(ngtdm.differenceSums[row]!, npyAt(expected, row, 1), `s_i row ${row}`);
      expectClose(ngtdm.grayLevels[row]!, npyAt(expected, row, 2), `i row ${row}`);
    }
  });

  it('GLDM equals the .npy matrix', () => {
    const expected = loadMatrix(caseName, 'gldm');
    const gldm = buildGldm(input, [1], 0);
    const [levelCount, dependenceColumns] = expected.shape as [number, number];
    expect(gldm.grayLevels.length).toBe(levelCount);
    // Both drop dependence counts that never occur, so the columns correspond one to one.
    expect(gldm.dependences.length).toBe(dependenceColumns);
    for (let row = 0; row < levelCount; row++) {
      for (let column = 0; column < dependenceColumns; column++) {
        const actual = gldm.counts[row * dependenceColumns + column]!;
        expectClose(
          actual,
          npyAt(expected, row, column),
          `level ${row} dependence ${gldm.dependences[column]}`,
        );
      }
    }
  });

  it('GLCM equals the .npy matrix, direction by direction', () => {
    // The .npy holds the symmetric GLCM of each direction, normalised to sum 1.
    const expected = loadMatrix(caseName, 'glcm');
    const glcm = buildGlcm(input, [1]);
    const [levelCount, , angleCount] = expected.shape as [number, number, number];
    expect(glcm.grayLevels.length).toBe(levelCount);
    expect(glcm.angles).toHaveLength(angleCount);
    glcm.angles.forEach((angle, a) => {
      for (let row = 0; row < levelCount; row++) {
        for (let column = 0; column < levelCount; column++) {
          const actual = angle.p[row * levelCount + column]!;
          expectClose(actual, npyAt(expected, row, column, a), `angle ${a} cell (${row}, ${column})`);
        }
      }
    });
  });
});
