/**
 * Access to the IBSI digital phantom and its tables in the shared data folder: the phantom as NRRD,
 * pyradiomics' benchmark parameter files and tag mapping, the IBSI-1 reference values and
 * pyradiomics' 2018 submission.
 */

import { readFileSync } from 'node:fs';

import { maskFromLabelVolume, readNrrd } from '../../../src/imaging/nrrd.js';
import type { ImageVolume, MaskVolume } from '../../../src/imaging/volume.js';
import { splitCsvLine } from './baseline.js';

export const IBSI_DIR = new URL('../../../../shared/data/radiomics/ibsi/', import.meta.url);
export const BENCHMARK_DIR = new URL('pyradiomics_ibsi-benchmark/', IBSI_DIR);

/** Reads a CSV file with a header row into one record per line (a leading byte-order mark is dropped). */
export function readCsvRecords(url: URL): Record<string, string>[] {
  const text = readFileSync(url, 'utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = splitCsvLine(lines[0]!);
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    return Object.fromEntries(header.map((column, index) => [column, cells[index] ?? '']));
  });
}

/** Loads the 5×4×4 phantom (2 mm voxels) and its mask as label 1 from the benchmark's ASCII NRRD files. */
export function loadPhantom(): { image: ImageVolume; mask: MaskVolume } {
  const folder = new URL('data/digital_phantom/', BENCHMARK_DIR);
  const image = readNrrd(readFileSync(new URL('Phantom.nrrd', folder)));
  const label = readNrrd(readFileSync(new URL('Phantom-label.nrrd', folder)));
  return { image: { grid: image.grid, voxels: image.voxels }, mask: maskFromLabelVolume(label, 1) };
}

/** One IBSI reference: value and tolerance as printed. */
export interface IbsiReference {
  readonly family: string;
  readonly value: number;
  readonly tolerance: number;
}

/** IBSI-1 reference values of the digital phantom, keyed by IBSI tag. */
export function readPhantomReferences(): Map<string, IbsiReference> {
  const rows = readCsvRecords(
    new URL('reference_values/ibsi_1_reference_values_digital_phantom.csv', IBSI_DIR),
  );
  return new Map(
    rows.map((row) => [
      row['tag']!,
      { family: row['family']!, value: Number(row['reference value']), tolerance: Number(row['tolerance']) },
    ]),
  );
}

/** Mapping of IBSI tags to benchmark feature keys such as `3D_Combined_original_glcm_Contrast`. */
export function readPhantomMapping(): { tag: string; key: string }[] {
  return readCsvRecords(new URL('mapping/mapping_phantom.csv', BENCHMARK_DIR)).map((row) => ({
    tag: row['tag']!,
    key: row['pyradiomics_feature']!,
  }));
}

/** pyradiomics' 2018 submission values by IBSI tag (tags without a value are left out). */
export function readSubmission2018(): Map<string, number> {
  const rows = readCsvRecords(
    new URL('pyradiomics_submission_2018/ibsi_digital_phantom_pyradiomics_values.csv', IBSI_DIR),
  );
  const values = new Map<string, number>();
  for (const row of rows) {
    const text = row['pyradiomics_value_2018'] ?? '';
    if (text !== '') values.set(row['tag']!, Number(text));
  }
  return values;
}

/**
 * Largest difference that still rounds to `reference` at 3 significant digits: half a unit in the
 * third digit. IBSI prints its references with 3 significant digits and a tolerance of 0 means
 * "equal after that rounding".
 */
export function roundingHalfUnit(reference: number): number {
  return 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(reference))) - 2);
}
