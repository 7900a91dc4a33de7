/**
 * Per-class cost of the radiomics engine: for each case and region (tumour, and tumour dilated by
 * 3 mm), the shared steps (preprocessing, ROI crop, discretisation) and then each class's matrix and
 * features on those shared inputs, plus one `computeFeatures` call with all 107 features and one
 * with the six BR-RO features. Each figure is the median of `RUNS` runs after one warm-up run.
 *
 * The per-class rows repeat the steps of `computeFeatures` (src/radiomics/extract.ts) with its
 * exported parts so that each step can be timed on its own.
 */
import { dilateMaskMm } from '../src/imaging/dilate.js';
import type { ImageVolume, MaskVolume } from '../src/imaging/volume.js';
import { discretise } from '../src/radiomics/discretise.js';
import { computeFeatures } from '../src/radiomics/extract.js';
import { prepareFirstOrder } from '../src/radiomics/firstorder.js';
import { buildGlcm } from '../src/radiomics/glcm.js';
import { buildGldm } from '../src/radiomics/gldm.js';
import { buildGlrlm } from '../src/radiomics/glrlm.js';
import { buildGlszm } from '../src/radiomics/glszm.js';
import { buildNgtdm } from '../src/radiomics/ngtdm.js';
import { preprocess } from '../src/radiomics/preprocess.js';
import { FEATURE_REGISTRY, type ClassInputs, type FeatureClass } from '../src/radiomics/registry.js';
import { extractRoi } from '../src/radiomics/roi.js';
import type { RadiomicsSettings } from '../src/radiomics/settings.js';
import { prepareShape } from '../src/radiomics/shape.js';
import { textureInput } from '../src/radiomics/texture.js';

const RUNS = 5;

/** Feature classes in report order. */
export const CLASSES: readonly FeatureClass[] = [
  'firstorder',
  'shape',
  'glcm',
  'glrlm',
  'glszm',
  'gldm',
  'ngtdm',
];

/** BR-RO feature names per region, as config/models/br-ro.json lists them. */
export const BR_RO_NAMES = {
  tumour: ['original_glszm_SmallAreaEmphasis', 'original_ngtdm_Coarseness'],
  peri: [
    'original_glrlm_RunLengthNonUniformity',
    'original_ngtdm_Coarseness',
    'original_firstorder_TotalEnergy',
    'original_glszm_SmallAreaLowGrayLevelEmphasis',
  ],
} as const;

export interface ClassBenchRow {
  readonly name: string;
  readonly region: 'tumour' | 'dilated 3 mm';
  readonly voxels: number;
  readonly box: string;
  readonly grayLevels: number;
  /** Preprocessing, ROI crop and discretisation, ms. */
  readonly sharedMs: number;
  /** Matrix and features of each class on the shared inputs, ms. */
  readonly classMs: Readonly<Record<FeatureClass, number>>;
  /** One computeFeatures call with all registered features, ms. */
  readonly allMs: number;
  /** Process peak resident set size so far, MB. */
  readonly peakRssMb: number;
}

export interface BrRoBenchRow {
  readonly name: string;
  /** 3 mm dilation plus computeFeatures on both regions with the BR-RO names, ms. */
  readonly medianMs: number;
  readonly dilationMs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Median wall time in ms of `RUNS` runs of `run` after one warm-up run. */
export function timeMedian(run: () => unknown): number {
  run();
  const durations: number[] = [];
  for (let attempt = 0; attempt < RUNS; attempt++) {
    const started = performance.now();
    run();
    durations.push(performance.now() - started);
  }
  return median(durations);
}

function namesOf(featureClass: FeatureClass): string[] {
  return [...FEATURE_REGISTRY.values()]
    .filter((definition) => definition.featureClass === featureClass)
    .map((definition) => definition.name);
}

/** The steps of computeFeatures up to the class inputs, with fresh (unbuilt) class accessors. */
function sharedInputs(image: ImageVolume, mask: MaskVolume, settings: RadiomicsSettings) {
  const prepared = preprocess(image, mask, settings);
  const roi = extractRoi(prepared.image, prepared.resegmentedMask, settings);
  const discretised = discretise(roi, settings);
  const texture = textureInput(discretised, roi.size, { ...settings, spacingMm: roi.spacingMm });
  const inputs = (): ClassInputs => ({
    firstorder: () => prepareFirstOrder(roi, discretised, settings.voxelArrayShift),
    glcm: () => buildGlcm(texture, settings.distances),
    gldm: () => buildGldm(texture, settings.distances, settings.gldm_a),
    glrlm: () => buildGlrlm(texture),
    glszm: () => buildGlszm(texture),
    ngtdm: () => buildNgtdm(texture, settings.distances),
    shape: () => prepareShape(roi),
  });
  return { roi, discretised, inputs };
}

/** Evaluates every feature of `featureClass`, building its input once. */
function runClass(inputs: ClassInputs, featureClass: FeatureClass): void {
  const built = new Map<string, unknown>();
  const cached = new Proxy(inputs, {
    get(target, key: string) {
      return () => {
        if (!built.has(key)) built.set(key, (target[key as FeatureClass] as () => unknown)());
        return built.get(key);
      };
    },
  });
  for (const name of namesOf(featureClass)) FEATURE_REGISTRY.get(name)!.compute(cached);
}

/** Times one case and region. */
export function benchClasses(
  name: string,
  region: ClassBenchRow['region'],
  image: ImageVolume,
  mask: MaskVolume,
  settings: RadiomicsSettings,
): ClassBenchRow {
  const shared = sharedInputs(image, mask, settings);
  const sharedMs = timeMedian(() => sharedInputs(image, mask, settings));
  const classMs = {} as Record<FeatureClass, number>;
  for (const featureClass of CLASSES) {
    classMs[featureClass] = timeMedian(() => {
      runClass(shared.inputs(), featureClass);
    });
  }
  const allNames = [...FEATURE_REGISTRY.keys()];
  const allMs = timeMedian(() => computeFeatures(image, mask, allNames, settings));
  return {
    name,
    region,
    voxels: shared.roi.voxelCount,
    box: shared.roi.size.join('×'),
    grayLevels: shared.discretised.levelCount,
    sharedMs,
    classMs,
    allMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Times the BR-RO path: 3 mm dilation, then the six features on tumour and dilated tumour. */
export function benchBrRo(
  name: string,
  image: ImageVolume,
  tumour: MaskVolume,
  settings: RadiomicsSettings,
): BrRoBenchRow {
  const run = (): void => {
    const dilated = dilateMaskMm(tumour, 3);
    computeFeatures(image, tumour, BR_RO_NAMES.tumour, settings);
    computeFeatures(image, dilated, BR_RO_NAMES.peri, settings);
  };
  return { name, medianMs: timeMedian(run), dilationMs: timeMedian(() => dilateMaskMm(tumour, 3)) };
}
