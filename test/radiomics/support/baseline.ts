/**
 * Access to the pyradiomics baseline tables and configurations in the shared data folder.
 */

import { readFileSync } from 'node:fs';

import { readNrrd, maskFromLabelVolume } from '../../../src/imaging/nrrd.js';
import type { ImageVolume, MaskVolume } from '../../../src/imaging/volume.js';
import { parseRadiomicsSettings, type RadiomicsSettings } from '../../../src/radiomics/settings.js';

export const PYRADIOMICS_DIR = new URL('../../../../shared/data/radiomics/pyradiomics/', import.meta.url);
export const BASELINE_DIR = new URL('baseline/', PYRADIOMICS_DIR);

/** Splits one CSV line, honouring double-quoted fields. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const character = line[index]!;
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (character === '"') quoted = false;
      else cell += character;
    } else if (character === '"') quoted = true;
    else if (character === ',') {
      cells.push(cell);
      cell = '';
    } else cell += character;
  }
  cells.push(cell);
  return cells;
}

/** A baseline table: rows keyed by feature or diagnostics name, cells keyed by column. */
export type BaselineTable = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Reads `baseline_<featureClass>.csv`. */
export function readBaseline(featureClass: string): BaselineTable {
  const text = readFileSync(new URL(`baseline_${featureClass}.csv`, BASELINE_DIR), 'utf8');
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  const columns = splitCsvLine(lines[0]!).slice(1);
  const table = new Map<string, Map<string, string>>();
  for (const line of lines.slice(1)) {
    const [name, ...cells] = splitCsvLine(line);
    const row = new Map<string, string>();
    columns.forEach((column, index) => row.set(column, cells[index] ?? ''));
    table.set(name!, row);
  }
  return table;
}

/**
 * Parses a baseline number in the C locale: '.' is the only decimal separator and no grouping is
 * allowed, so a locale-formatted value fails instead of being misread.
 */
export function parseCNumber(text: string): number {
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) && text !== 'nan') {
    throw new Error(`"${text}" is not a C-locale number`);
  }
  return Number(text);
}

interface ConfigurationEntry {
  readonly classes: readonly string[];
  readonly settings: Readonly<Record<string, unknown>>;
}

const configurations = JSON.parse(
  readFileSync(new URL('baseline_configurations.json', BASELINE_DIR), 'utf8'),
) as { configurations: Record<string, ConfigurationEntry[]> };

/** Names of the configurations in baseline_configurations.json ('default', '2d', 'resampling', ...). */
export const CONFIGURATION_NAMES: readonly string[] = Object.keys(configurations.configurations);

/** Returns the configuration name of a baseline column: `brain1` → 'default', `brain1_2d` → '2d'. */
export function configurationOfColumn(column: string): string {
  const underscore = column.indexOf('_');
  return underscore < 0 ? 'default' : column.slice(underscore + 1);
}

/**
 * Parses every setting of configuration `name` for `featureClass` with the engine's own parser, with
 * nothing left out (unlike {@link columnSettings}). Returns undefined when the configuration does not
 * cover the class.
 */
export function configurationSettings(name: string, featureClass: string): RadiomicsSettings | undefined {
  const entry = configurations.configurations[name]?.find((candidate) =>
    candidate.classes.includes(featureClass),
  );
  return entry === undefined ? undefined : parseRadiomicsSettings(entry.settings);
}

/** Settings keys of the baseline configurations that this engine reads. */
const ENGINE_KEYS = [
  'binWidth',
  'binCount',
  'voxelArrayShift',
  'label',
  'minimumROIDimensions',
  'minimumROISize',
  'distances',
  'force2D',
  'force2Ddimension',
  'gldm_a',
  'weightingNorm',
] as const;

/**
 * Settings of a baseline column (`brain1` = default configuration, `brain1_2d` = configuration "2d")
 * for one feature class, taken from baseline_configurations.json. Keys the engine does not model are
 * returned separately so a test can skip columns that depend on them.
 */
export function columnSettings(
  column: string,
  featureClass: string,
): { settings: RadiomicsSettings; unmodelled: Record<string, unknown> } {
  const underscore = column.indexOf('_');
  const suffix = underscore < 0 ? 'default' : column.slice(underscore + 1);
  const entries = configurations.configurations[suffix];
  const entry = entries?.find((candidate) => candidate.classes.includes(featureClass));
  if (entry === undefined) throw new Error(`no configuration for column ${column}, class ${featureClass}`);

  const input: Record<string, unknown> = {};
  const unmodelled: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry.settings)) {
    if ((ENGINE_KEYS as readonly string[]).includes(key)) {
      if (value !== null) input[key] = value;
    } else if (value !== null && value !== false && !IGNORABLE.has(`${key}=${JSON.stringify(value)}`)) {
      unmodelled[key] = value;
    }
  }
  return { settings: parseRadiomicsSettings(input), unmodelled };
}

/** Settings whose listed value does not change segment-based features of the original image. */
const IGNORABLE = new Set([
  'additionalInfo=true',
  'normalizeScale=1',
  'padDistance=5',
  'interpolator="sitkBSpline"',
]);

/** Loads a pyradiomics test case image and its label map as label 1. */
export function loadCase(name: string): { image: ImageVolume; mask: MaskVolume } {
  const imageNrrd = readNrrd(readFileSync(new URL(`${name}_image.nrrd`, PYRADIOMICS_DIR)));
  const labelNrrd = readNrrd(readFileSync(new URL(`${name}_label.nrrd`, PYRADIOMICS_DIR)));
  return {
    image: { grid: imageNrrd.grid, voxels: imageNrrd.voxels },
    mask: maskFromLabelVolume(labelNrrd, 1),
  };
}
