/**
 * One case of `nqo1-cds extract`: read the image and mask, describe them as pyradiomics does and
 * compute every registered feature, or those a parameter file's `featureClass` section enables. The result is keyed and ordered like pyradiomics 3.x
 * `RadiomicsFeatureExtractor.execute`: diagnostics first, then the feature classes in the order
 * shape, firstorder, glcm, gldm, glrlm, glszm, ngtdm, each class in ASCII order of feature names.
 *
 * The features come from the same case loading as `score` (every image and mask format it reads).
 * The diagnostics describe the files as given. An NRRD or NIfTI image or label map is decoded once
 * more to keep its stored sample type and its other labels. So the hashes equal pyradiomics' values,
 * as checked on brain1 and brain2. A DICOM series is hashed as int16 when every
 * value is an integer in the int16 range, else as float64; a DICOM SEG, RTSTRUCT or .seg.nrrd mask is
 * described as the 0/1 tumour mask on the image grid. pyradiomics reads neither, so no reference
 * value exists for them.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import { readInputFile } from '../imaging/input-file.js';
import { readNifti } from '../imaging/nifti.js';
import { readNrrdLayers } from '../imaging/nrrd.js';
import { isSlicerSegmentation } from '../imaging/seg-nrrd.js';
import type { Grid, ImageVolume } from '../imaging/volume.js';
import {
  asSampleType,
  imageDiagnostics,
  maskDiagnostics,
  type SampleType,
} from '../radiomics/diagnostics.js';
import { computeFeatures } from '../radiomics/extract.js';
import type { PyradiomicsParams } from '../radiomics/params-yaml.js';
import { FEATURE_REGISTRY } from '../radiomics/registry.js';
import { SETTING_KEYS, type RadiomicsSettings } from '../radiomics/settings.js';
import { ENGINE_VERSION } from '../version.js';
import { loadCase, parseSegmentOption, type CaseReadOptions, type LoadedCase } from './case-input.js';

/** A value of the output: a number, text, a tuple of numbers or a settings object. */
export type ExtractValue = number | string | readonly number[] | Readonly<Record<string, unknown>>;

/** Output of one case, in output order. */
export type ExtractRecord = ReadonlyMap<string, ExtractValue>;

/** The source files of a case and how to read them. */
export interface ExtractCaseInput {
  readonly image: string;
  readonly mask: string;
  /** Tumour label in an NRRD or NIfTI label map; also reported as the `label` setting. */
  readonly label: number;
  /** Segment of a SEG or .seg.nrrd, or ROI of an RTSTRUCT, by number or name. */
  readonly segment?: string;
  readonly reading?: CaseReadOptions;
}

/** Milliseconds spent on each step, file reading excluded. */
export type ExtractTimings = Readonly<Record<string, number>>;

export interface ExtractCaseResult {
  readonly record: ExtractRecord;
  readonly timings: ExtractTimings;
  /** Conditions of the input worth a look, such as a mask resampled from another grid. */
  readonly warnings: readonly string[];
}

/** Outcome of one case of a batch: its record, or the error code and message. */
export type CaseOutcome =
  | {
      readonly ok: true;
      readonly record: ExtractRecord;
      readonly reused?: boolean;
      readonly warnings?: readonly string[];
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Feature classes in pyradiomics' output order; a class not listed here comes after these. */
const CLASS_ORDER: readonly string[] = ['shape', 'firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm'];

/** Compares by UTF-16 code units, which for feature names is Python's ASCII sort. */
function asciiCompare(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/**
 * Enabled feature classes (pyradiomics `featureClass`), each with its feature names without the
 * `original_<class>_` prefix, or null for every feature of the class. A class not listed is off.
 */
export type FeatureSelection = PyradiomicsParams['featureClasses'];

/**
 * Lists the registered features grouped by class, in pyradiomics' output order: every feature, or
 * only those `selection` enables.
 */
export function featureNamesByClass(selection?: FeatureSelection): ReadonlyMap<string, readonly string[]> {
  const groups = new Map<string, string[]>();
  for (const definition of FEATURE_REGISTRY.values()) {
    const group = groups.get(definition.featureClass) ?? [];
    group.push(definition.name);
    groups.set(definition.featureClass, group);
  }
  const rank = (featureClass: string): number => {
    const position = CLASS_ORDER.indexOf(featureClass);
    return position < 0 ? CLASS_ORDER.length : position;
  };
  const classes = [...groups.keys()].sort((a, b) => rank(a) - rank(b) || asciiCompare(a, b));
  const ordered = classes.map((name): [string, string[]] => [
    name,
    [...(groups.get(name) ?? [])].sort(asciiCompare),
  ]);
  if (selection === undefined) return new Map(ordered);

  const enabled = new Map<string, string[]>();
  for (const [featureClass, names] of ordered) {
    if (!Object.hasOwn(selection, featureClass)) continue;
    const requested = (selection as Readonly<Record<string, readonly string[] | null | undefined>>)[
      featureClass
    ];
    const prefix = `original_${featureClass}_`;
    const selected =
      requested === null || requested === undefined
        ? names
        : names.filter((name) => requested.includes(name.slice(prefix.length)));
    if (selected.length > 0) enabled.set(featureClass, selected);
  }
  return enabled;
}

/**
 * Returns the settings as pyradiomics' `diagnostics_Configuration_Settings` shows them: every setting key,
 * with null for one that is not set, so that two records with different settings always differ here.
 */
export function settingsObject(settings: RadiomicsSettings): Record<string, unknown> {
  const values = settings as unknown as Readonly<Record<string, unknown>>;
  return Object.fromEntries(
    SETTING_KEYS.map((key) => {
      const value = values[key];
      return [key, Array.isArray(value) ? [...(value as unknown[])] : (value ?? null)];
    }),
  );
}

type RawVolume = { readonly grid: Grid; readonly voxels: Float64Array; readonly type: string };

function isNrrdPath(path: string): boolean {
  return /\.(nrrd|nhdr)$/i.test(path);
}

function isNiftiPath(path: string): boolean {
  return /\.nii(\.gz)?$/i.test(path);
}

/**
 * Decodes an NRRD or NIfTI file once more, keeping its sample type, for the diagnostics. Returns
 * null for other files and for a layered (Slicer segmentation) NRRD.
 */
async function readRawVolume(path: string, role: string): Promise<RawVolume | null> {
  if (!isNrrdPath(path) && !isNiftiPath(path)) return null;
  const bytes = await readInputFile(path, `${role} file ${path}`);
  if (isNiftiPath(path)) return readNifti(bytes);
  const volume = readNrrdLayers(bytes);
  if (volume.layers !== 1 || isSlicerSegmentation(volume)) return null;
  return volume;
}

/** Sample type for a volume without a stored type: int16 when every value fits, else float64. */
function inferredSampleType(image: ImageVolume): SampleType {
  const voxels = image.voxels;
  for (let index = 0; index < voxels.length; index++) {
    const value = voxels[index]!;
    if (!Number.isInteger(value) || value < -32768 || value > 32767) return 'float64';
  }
  return 'int16';
}

/** Diagnostics keys in output order. */
export const DIAGNOSTIC_KEYS: readonly string[] = [
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

/**
 * Lists every key of a record in output order: the diagnostics (unless `additionalInfo` is false),
 * then each enabled class's features.
 */
export function recordKeys(selection?: FeatureSelection, additionalInfo = true): string[] {
  return [...(additionalInfo ? DIAGNOSTIC_KEYS : []), ...[...featureNamesByClass(selection).values()].flat()];
}

/**
 * Reads one case and returns its pyradiomics-style record and the time of each step. The record has
 * the features `selection` enables, or every registered feature without one.
 */
export async function extractCase(
  input: ExtractCaseInput,
  settings: RadiomicsSettings,
  selection?: FeatureSelection,
): Promise<ExtractCaseResult> {
  const loaded = await loadCase(
    input.image,
    input.mask,
    input.label,
    parseSegmentOption(input.segment),
    input.reading ?? {},
  );
  const withDiagnostics = settings.additionalInfo !== false;
  const raw = withDiagnostics
    ? { image: await readRawVolume(input.image, 'image'), mask: await readRawVolume(input.mask, 'mask') }
    : undefined;

  const started = performance.now();
  const record = new Map<string, ExtractValue>();
  const timings: Record<string, number> = {};
  if (raw !== undefined) {
    for (const [key, value] of diagnosticsOf(input, loaded, raw, settings)) record.set(key, value);
    timings.diagnosticsMs = performance.now() - started;
  }

  // The loaded tumour mask is 0/1 whatever the label in the file, so the engine looks for 1.
  const engineSettings: RadiomicsSettings = { ...settings, label: 1 };
  for (const [featureClass, names] of featureNamesByClass(selection)) {
    const classStarted = performance.now();
    const values = computeFeatures(loaded.image, loaded.tumour, names, engineSettings);
    for (const name of names) record.set(name, values[name]!);
    timings[`${featureClass}Ms`] = performance.now() - classStarted;
  }
  return { record, timings: { totalMs: performance.now() - started, ...timings }, warnings: loaded.warnings };
}

/**
 * The `diagnostics_*` entries of one case: versions, settings, and the image and mask as given
 * (`raw` holds the NRRD or NIfTI volumes with their stored sample types, or null for DICOM).
 */
function diagnosticsOf(
  input: ExtractCaseInput,
  loaded: LoadedCase,
  raw: { readonly image: RawVolume | null; readonly mask: RawVolume | null },
  settings: RadiomicsSettings,
): Map<string, ExtractValue> {
  const rawImage = raw.image;
  const rawMask = raw.mask;
  const record = new Map<string, ExtractValue>();
  const reported = { ...settings, label: input.label };

  record.set('diagnostics_Versions_NQO1CDS', ENGINE_VERSION);
  record.set('diagnostics_Versions_Node', process.versions.node);
  record.set('diagnostics_Configuration_Settings', settingsObject(reported));
  record.set('diagnostics_Configuration_EnabledImageTypes', { Original: {} });

  const image = imageDiagnostics(
    rawImage ?? loaded.image,
    rawImage === null ? inferredSampleType(loaded.image) : asSampleType(rawImage.type),
  );
  record.set('diagnostics_Image-original_Hash', image.hash);
  record.set('diagnostics_Image-original_Dimensionality', image.dimensionality);
  record.set('diagnostics_Image-original_Spacing', image.spacingMm);
  record.set('diagnostics_Image-original_Size', image.size);
  record.set('diagnostics_Image-original_Mean', image.mean);
  record.set('diagnostics_Image-original_Minimum', image.minimum);
  record.set('diagnostics_Image-original_Maximum', image.maximum);

  const mask = rawMask === null ? maskDiagnostics(loaded.tumour, 1) : maskDiagnostics(rawMask, input.label);
  record.set('diagnostics_Mask-original_Hash', mask.hash);
  record.set('diagnostics_Mask-original_Spacing', mask.spacingMm);
  record.set('diagnostics_Mask-original_Size', mask.size);
  record.set('diagnostics_Mask-original_BoundingBox', mask.boundingBox);
  record.set('diagnostics_Mask-original_VoxelNum', mask.voxelNum);
  record.set('diagnostics_Mask-original_VolumeNum', mask.volumeNum);
  record.set('diagnostics_Mask-original_CenterOfMassIndex', mask.centerOfMassIndex);
  record.set('diagnostics_Mask-original_CenterOfMass', mask.centerOfMassMm);
  return record;
}

/** Returns the case columns pyradiomics puts before the results: the absolute image and mask paths. */
export function caseColumns(image: string, mask: string): Map<string, string> {
  return new Map([
    ['Image', resolve(image)],
    ['Mask', resolve(mask)],
  ]);
}
