/**
 * Reader of pyradiomics parameter files (YAML; schema in pyradiomics' paramSchema.yaml).
 *
 * A parameter file has up to three sections used here:
 * - `setting`: extraction settings, layered over the code defaults (see settings.ts);
 * - `imageType`: the images to extract from, each with optional settings of its own. Absent means
 *   Original only. Only Original is supported;
 * - `featureClass`: the classes to compute, each with a list of feature names or null/[] for every
 *   non-deprecated feature of the class. Absent means every class.
 * A `voxelSetting` section (voxel-based maps) and unknown sections are rejected.
 */

import { parse, YAMLParseError } from 'yaml';

import { Nqo1Error } from '../errors.js';
import { FEATURE_REGISTRY } from './registry.js';
import { nearestKey, parseRadiomicsSettings, type RadiomicsSettings } from './settings.js';

/** Feature classes a parameter file may enable in this engine, in pyradiomics module order. */
export const PARAMETER_FILE_CLASSES = [
  'shape',
  'firstorder',
  'glcm',
  'gldm',
  'glrlm',
  'glszm',
  'ngtdm',
] as const;

/** A feature class a parameter file may enable. */
export type ParameterFileClass = (typeof PARAMETER_FILE_CLASSES)[number];

/** Image types pyradiomics defines; only Original is implemented. */
const PYRADIOMICS_IMAGE_TYPES = [
  'Original',
  'LoG',
  'Wavelet',
  'Square',
  'SquareRoot',
  'Logarithm',
  'Exponential',
  'Gradient',
  'LBP2D',
  'LBP3D',
];

/**
 * Features pyradiomics marks deprecated: enabled only when listed by name, and not implemented here.
 * LIMITATION: naming one of them in a parameter file is an error; implementing them would fix it.
 */
const DEPRECATED_FEATURES: Readonly<Record<string, readonly string[]>> = {
  shape: ['Compactness1', 'Compactness2', 'SphericalDisproportion'],
  firstorder: ['StandardDeviation'],
  glcm: ['Dissimilarity', 'Homogeneity1', 'Homogeneity2', 'SumVariance'],
  gldm: ['GrayLevelNonUniformityNormalized', 'DependencePercentage'],
};

/** A parameter file after validation. */
export interface PyradiomicsParams {
  readonly settings: RadiomicsSettings;
  /**
   * Enabled classes with their feature names (without the `original_<class>_` prefix), or null for
   * every non-deprecated feature of the class.
   */
  readonly featureClasses: Readonly<Partial<Record<ParameterFileClass, readonly string[] | null>>>;
  /** Enabled image types; always ['Original']. */
  readonly imageTypes: readonly string[];
}

/**
 * Parses and validates the text of a pyradiomics parameter file. Every problem in the file is
 * collected and reported in one error, so that a researcher fixes the file in one round.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID for invalid YAML, an unknown or unsupported section, setting,
 *   image type, feature class or feature name; the message names each one and, for a misspelling,
 *   the nearest valid name. `details.problems` lists them, separated by " | ".
 */
export function loadPyradiomicsParams(text: string): PyradiomicsParams {
  let document: unknown;
  try {
    // YAML 1.1, as PyYAML reads pyradiomics parameter files: yes/no and on/off are booleans there.
    document = parse(text, { version: '1.1' });
  } catch (error) {
    const where = error instanceof YAMLParseError ? ` at line ${error.linePos?.[0].line ?? '?'}` : '';
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `The parameter file is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}. Fix the YAML syntax.`,
      { cause: error },
    );
  }

  const problems: string[] = [];
  const root = mapping(document ?? {}, 'the parameter file', problems) ?? {};
  for (const section of Object.keys(root)) {
    if (section === 'voxelSetting') {
      // LIMITATION: only segment-based extraction exists; voxel-based feature maps need a sliding
      // kernel over every voxel, which the engine does not have.
      problems.push(
        'section "voxelSetting" asks for voxel-based feature maps, which this engine does not compute. Remove the section.',
      );
    } else if (!['setting', 'imageType', 'featureClass'].includes(section)) {
      problems.push(
        `unknown section "${section}" (did you mean "${nearestKey(section, ['setting', 'imageType', 'featureClass'])}"?).`,
      );
    }
  }

  const imageTypes = mapping(root['imageType'] ?? { Original: {} }, 'imageType', problems) ?? {};
  const originalSettings = checkImageTypes(imageTypes, problems);
  const featureClasses = checkFeatureClasses(root['featureClass'], problems);
  let settings: RadiomicsSettings | undefined;
  try {
    settings = parseRadiomicsSettings({
      ...mapping(root['setting'] ?? {}, 'setting', problems),
      ...originalSettings,
    });
  } catch (error) {
    if (!(error instanceof Nqo1Error)) throw error;
    problems.push(error.message);
  }

  if (problems.length > 0 || settings === undefined) {
    const listed =
      problems.length === 1 ? problems[0]! : problems.map((problem, n) => `(${n + 1}) ${problem}`).join(' ');
    throw new Nqo1Error('ERR_SETTINGS_INVALID', `Invalid pyradiomics parameter file: ${listed}`, {
      details: { problems: problems.join(' | ') },
    });
  }
  return { settings, featureClasses, imageTypes: ['Original'] };
}

/** Checks that only Original is enabled and returns its own settings (an empty object if none). */
function checkImageTypes(imageTypes: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  const names = Object.keys(imageTypes);
  for (const name of names) {
    if (name === 'Original') continue;
    if (PYRADIOMICS_IMAGE_TYPES.includes(name)) {
      // LIMITATION: LoG, wavelet and the other filters are out of scope; the engine extracts from the
      // original image only. Implementing the SimpleITK/PyWavelets filters exactly would lift this.
      problems.push(
        `image type "${name}" is not supported: this engine extracts from the Original image only. Remove "${name}" from imageType.`,
      );
    } else {
      problems.push(
        `unknown image type "${name}" (did you mean "${nearestKey(name, PYRADIOMICS_IMAGE_TYPES)}"?).`,
      );
    }
  }
  if (!names.includes('Original'))
    problems.push(
      'imageType does not enable Original, the only image type this engine supports. Add "Original: {}".',
    );
  return mapping(imageTypes['Original'] ?? {}, 'imageType.Original', problems) ?? {};
}

/** Validates the featureClass section; absent means every class with all its features. */
function checkFeatureClasses(section: unknown, problems: string[]): PyradiomicsParams['featureClasses'] {
  const everyClass = Object.fromEntries(PARAMETER_FILE_CLASSES.map((name) => [name, null]));
  if (section === undefined || section === null) return everyClass;

  // An empty featureClass mapping enables every class, as pyradiomics' extractor treats it.
  const enabled = mapping(section, 'featureClass', problems);
  if (enabled === undefined || Object.keys(enabled).length === 0) return everyClass;
  const classes: Partial<Record<ParameterFileClass, readonly string[] | null>> = {};
  for (const [name, value] of Object.entries(enabled)) {
    if (name === 'shape2D') {
      // LIMITATION: shape2D is not implemented (and its pyradiomics baseline labels are unavailable).
      problems.push('feature class "shape2D" is not supported by this engine. Remove it from featureClass.');
      continue;
    }
    if (!(PARAMETER_FILE_CLASSES as readonly string[]).includes(name)) {
      problems.push(
        `unknown feature class "${name}" (did you mean "${nearestKey(name, PARAMETER_FILE_CLASSES)}"?).`,
      );
      continue;
    }
    const featureClass = name as ParameterFileClass;
    if (value === null || (Array.isArray(value) && value.length === 0)) {
      classes[featureClass] = null;
      continue;
    }
    if (!Array.isArray(value) || !value.every((feature) => typeof feature === 'string')) {
      problems.push(`featureClass.${name} must be a list of feature names or empty.`);
      continue;
    }
    classes[featureClass] = value.filter((feature) => checkFeatureName(featureClass, feature, problems));
  }
  return classes;
}

/** Returns true if the registry has `feature` (or the class has no registered features yet). */
function checkFeatureName(featureClass: ParameterFileClass, feature: string, problems: string[]): boolean {
  if (DEPRECATED_FEATURES[featureClass]?.includes(feature) === true) {
    problems.push(
      `feature "${featureClass}.${feature}" is deprecated in pyradiomics and not implemented here. Remove it from the list.`,
    );
    return false;
  }
  const prefix = `original_${featureClass}_`;
  const registered = [...FEATURE_REGISTRY.keys()]
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
  if (registered.length === 0 || registered.includes(feature)) return true;
  problems.push(
    `unknown feature "${featureClass}.${feature}" (did you mean "${nearestKey(feature, registered)}"?).`,
  );
  return false;
}

/** Returns `value` as a string-keyed mapping, or records a problem naming `where` and returns undefined. */
function mapping(value: unknown, where: string, problems: string[]): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  problems.push(`${where} must be a mapping of names to values, got ${JSON.stringify(value)}.`);
  return undefined;
}
