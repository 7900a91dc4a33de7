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
 * Parses and validates the text of a pyradiomics parameter file.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID for invalid YAML, an unknown or unsupported section, setting,
 *   image type, feature class or feature name; the message names it and, for a misspelling, the
 *   nearest valid name.
 */
export function loadPyradiomicsParams(text: string): PyradiomicsParams {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const where = error instanceof YAMLParseError ? ` at line ${error.linePos?.[0].line ?? '?'}` : '';
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `The parameter file is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}. Fix the YAML syntax.`,
      { cause: error },
    );
  }

  const root = mapping(document ?? {}, 'the parameter file');
  for (const section of Object.keys(root)) {
    if (section === 'voxelSetting') {
      // LIMITATION: only segment-based extraction exists; voxel-based feature maps need a sliding
      // kernel over every voxel, which the engine does not have.
      fail(
        'section "voxelSetting" asks for voxel-based feature maps, which this engine does not compute. Remove the section.',
      );
    }
    if (!['setting', 'imageType', 'featureClass'].includes(section)) {
      fail(
        `unknown section "${section}" (did you mean "${nearestKey(section, ['setting', 'imageType', 'featureClass'])}"?).`,
      );
    }
  }

  const imageTypes = mapping(root['imageType'] ?? { Original: {} }, 'imageType');
  const originalSettings = checkImageTypes(imageTypes);
  const settings = parseRadiomicsSettings({
    ...mapping(root['setting'] ?? {}, 'setting'),
    ...originalSettings,
  });

  const featureClasses = checkFeatureClasses(root['featureClass']);
  return { settings, featureClasses, imageTypes: ['Original'] };
}

/** Checks that only Original is enabled and returns its own settings (an empty object if none). */
function checkImageTypes(imageTypes: Record<string, unknown>): Record<string, unknown> {
  const names = Object.keys(imageTypes);
  for (const name of names) {
    if (name === 'Original') continue;
    if (PYRADIOMICS_IMAGE_TYPES.includes(name)) {
      // LIMITATION: LoG, wavelet and the other filters are out of scope; the engine extracts from the
      // original image only. Implementing the SimpleITK/PyWavelets filters exactly would lift this.
      fail(
        `image type "${name}" is not supported: this engine extracts from the Original image only. Remove "${name}" from imageType.`,
      );
    }
    fail(`unknown image type "${name}" (did you mean "${nearestKey(name, PYRADIOMICS_IMAGE_TYPES)}"?).`);
  }
  if (!names.includes('Original'))
    fail('imageType does not enable Original, the only image type this engine supports. Add "Original: {}".');
  return mapping(imageTypes['Original'] ?? {}, 'imageType.Original');
}

/** Validates the featureClass section; absent means every class with all its features. */
function checkFeatureClasses(section: unknown): PyradiomicsParams['featureClasses'] {
  if (section === undefined || section === null) {
    return Object.fromEntries(PARAMETER_FILE_CLASSES.map((name) => [name, null]));
  }

  // An empty featureClass mapping enables every class, as pyradiomics' extractor treats it.
  const enabled = mapping(section, 'featureClass');
  if (Object.keys(enabled).length === 0) {
    return Object.fromEntries(PARAMETER_FILE_CLASSES.map((name) => [name, null]));
  }
  const classes: Partial<Record<ParameterFileClass, readonly string[] | null>> = {};
  for (const [name, value] of Object.entries(enabled)) {
    if (name === 'shape2D') {
      // LIMITATION: shape2D is not implemented (and its pyradiomics baseline labels are unavailable).
      fail('feature class "shape2D" is not supported by this engine. Remove it from featureClass.');
    }
    if (!(PARAMETER_FILE_CLASSES as readonly string[]).includes(name)) {
      fail(`unknown feature class "${name}" (did you mean "${nearestKey(name, PARAMETER_FILE_CLASSES)}"?).`);
    }
    const featureClass = name as ParameterFileClass;
    if (value === null || (Array.isArray(value) && value.length === 0)) {
      classes[featureClass] = null;
      continue;
    }
    if (!Array.isArray(value) || !value.every((feature) => typeof feature === 'string')) {
      fail(`featureClass.${name} must be a list of feature names or empty.`);
    }
    classes[featureClass] = value.map((feature) => checkFeatureName(featureClass, feature));
  }
  return classes;
}

/** Returns `feature` if the registry has it (or the class has no registered features yet). */
function checkFeatureName(featureClass: ParameterFileClass, feature: string): string {
  if (DEPRECATED_FEATURES[featureClass]?.includes(feature) === true) {
    fail(
      `feature "${featureClass}.${feature}" is deprecated in pyradiomics and not implemented here. Remove it from the list.`,
    );
  }
  const prefix = `original_${featureClass}_`;
  const registered = [...FEATURE_REGISTRY.keys()]
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
  if (registered.length === 0 || registered.includes(feature)) return feature;
  return fail(
    `unknown feature "${featureClass}.${feature}" (did you mean "${nearestKey(feature, registered)}"?).`,
  );
}

/** Returns `value` as a string-keyed mapping, or throws naming `where`. */
function mapping(value: unknown, where: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  return fail(`${where} must be a mapping of names to values, got ${JSON.stringify(value)}.`);
}

function fail(problem: string): never {
  throw new Nqo1Error('ERR_SETTINGS_INVALID', `Invalid pyradiomics parameter file: ${problem}`);
}
