/**
 * Explicit registry of the features this engine computes, keyed by pyradiomics name
 * (`original_<class>_<Feature>`). A feature exists only if it is listed here; nothing is discovered by
 * naming convention.
 */

import * as firstorder from './firstorder.js';
import type { FirstOrderInput } from './firstorder.js';
import * as glcm from './glcm.js';
import type { Glcm } from './glcm.js';
import * as gldm from './gldm.js';
import type { Gldm } from './gldm.js';
import * as glrlm from './glrlm.js';
import type { Glrlm } from './glrlm.js';
import * as glszm from './glszm.js';
import type { Glszm } from './glszm.js';
import * as ngtdm from './ngtdm.js';
import type { Ngtdm } from './ngtdm.js';

/** Feature classes the engine implements, in pyradiomics naming. */
export type FeatureClass = 'firstorder' | 'glcm' | 'gldm' | 'glrlm' | 'glszm' | 'ngtdm';

/** Accessors for the prepared input of each class; `computeFeatures` builds each one at most once. */
export interface ClassInputs {
  firstorder(): FirstOrderInput;
  glcm(): Glcm;
  gldm(): Gldm;
  glrlm(): Glrlm;
  glszm(): Glszm;
  ngtdm(): Ngtdm;
}

/** One registered feature. */
export interface FeatureDefinition {
  /** pyradiomics name, such as `original_glszm_SmallAreaEmphasis`. */
  readonly name: string;
  readonly featureClass: FeatureClass;
  compute(inputs: ClassInputs): number;
}

const FIRSTORDER: Readonly<Record<string, (input: FirstOrderInput) => number>> = {
  '10Percentile': firstorder.percentile10,
  '90Percentile': firstorder.percentile90,
  Energy: firstorder.energy,
  Entropy: firstorder.entropy,
  InterquartileRange: firstorder.interquartileRange,
  Kurtosis: firstorder.kurtosis,
  Maximum: firstorder.maximum,
  Mean: firstorder.mean,
  MeanAbsoluteDeviation: firstorder.meanAbsoluteDeviation,
  Median: firstorder.median,
  Minimum: firstorder.minimum,
  Range: firstorder.range,
  RobustMeanAbsoluteDeviation: firstorder.robustMeanAbsoluteDeviation,
  RootMeanSquared: firstorder.rootMeanSquared,
  Skewness: firstorder.skewness,
  TotalEnergy: firstorder.totalEnergy,
  Uniformity: firstorder.uniformity,
  Variance: firstorder.variance,
};

const GLCM: Readonly<Record<string, (matrix: Glcm) => number>> = {
  Autocorrelation: glcm.autocorrelation,
  ClusterProminence: glcm.clusterProminence,
  ClusterShade: glcm.clusterShade,
  ClusterTendency: glcm.clusterTendency,
  Contrast: glcm.contrast,
  Correlation: glcm.correlation,
  DifferenceAverage: glcm.differenceAverage,
  DifferenceEntropy: glcm.differenceEntropy,
  DifferenceVariance: glcm.differenceVariance,
  Id: glcm.id,
  Idm: glcm.idm,
  Idmn: glcm.idmn,
  Idn: glcm.idn,
  Imc1: glcm.imc1,
  Imc2: glcm.imc2,
  InverseVariance: glcm.inverseVariance,
  JointAverage: glcm.jointAverage,
  JointEnergy: glcm.jointEnergy,
  JointEntropy: glcm.jointEntropy,
  MCC: glcm.mcc,
  MaximumProbability: glcm.maximumProbability,
  SumAverage: glcm.sumAverage,
  SumEntropy: glcm.sumEntropy,
  SumSquares: glcm.sumSquares,
};

const GLDM: Readonly<Record<string, (matrix: Gldm) => number>> = {
  DependenceEntropy: gldm.dependenceEntropy,
  DependenceNonUniformity: gldm.dependenceNonUniformity,
  DependenceNonUniformityNormalized: gldm.dependenceNonUniformityNormalized,
  DependenceVariance: gldm.dependenceVariance,
  GrayLevelNonUniformity: gldm.grayLevelNonUniformity,
  GrayLevelVariance: gldm.grayLevelVariance,
  HighGrayLevelEmphasis: gldm.highGrayLevelEmphasis,
  LargeDependenceEmphasis: gldm.largeDependenceEmphasis,
  LargeDependenceHighGrayLevelEmphasis: gldm.largeDependenceHighGrayLevelEmphasis,
  LargeDependenceLowGrayLevelEmphasis: gldm.largeDependenceLowGrayLevelEmphasis,
  LowGrayLevelEmphasis: gldm.lowGrayLevelEmphasis,
  SmallDependenceEmphasis: gldm.smallDependenceEmphasis,
  SmallDependenceHighGrayLevelEmphasis: gldm.smallDependenceHighGrayLevelEmphasis,
  SmallDependenceLowGrayLevelEmphasis: gldm.smallDependenceLowGrayLevelEmphasis,
};

const GLRLM: Readonly<Record<string, (matrix: Glrlm) => number>> = {
  GrayLevelNonUniformity: glrlm.grayLevelNonUniformity,
  GrayLevelNonUniformityNormalized: glrlm.grayLevelNonUniformityNormalized,
  GrayLevelVariance: glrlm.grayLevelVariance,
  HighGrayLevelRunEmphasis: glrlm.highGrayLevelRunEmphasis,
  LongRunEmphasis: glrlm.longRunEmphasis,
  LongRunHighGrayLevelEmphasis: glrlm.longRunHighGrayLevelEmphasis,
  LongRunLowGrayLevelEmphasis: glrlm.longRunLowGrayLevelEmphasis,
  LowGrayLevelRunEmphasis: glrlm.lowGrayLevelRunEmphasis,
  RunEntropy: glrlm.runEntropy,
  RunLengthNonUniformity: glrlm.runLengthNonUniformity,
  RunLengthNonUniformityNormalized: glrlm.runLengthNonUniformityNormalized,
  RunPercentage: glrlm.runPercentage,
  RunVariance: glrlm.runVariance,
  ShortRunEmphasis: glrlm.shortRunEmphasis,
  ShortRunHighGrayLevelEmphasis: glrlm.shortRunHighGrayLevelEmphasis,
  ShortRunLowGrayLevelEmphasis: glrlm.shortRunLowGrayLevelEmphasis,
};

const GLSZM: Readonly<Record<string, (matrix: Glszm) => number>> = {
  GrayLevelNonUniformity: glszm.grayLevelNonUniformity,
  GrayLevelNonUniformityNormalized: glszm.grayLevelNonUniformityNormalized,
  GrayLevelVariance: glszm.grayLevelVariance,
  HighGrayLevelZoneEmphasis: glszm.highGrayLevelZoneEmphasis,
  LargeAreaEmphasis: glszm.largeAreaEmphasis,
  LargeAreaHighGrayLevelEmphasis: glszm.largeAreaHighGrayLevelEmphasis,
  LargeAreaLowGrayLevelEmphasis: glszm.largeAreaLowGrayLevelEmphasis,
  LowGrayLevelZoneEmphasis: glszm.lowGrayLevelZoneEmphasis,
  SizeZoneNonUniformity: glszm.sizeZoneNonUniformity,
  SizeZoneNonUniformityNormalized: glszm.sizeZoneNonUniformityNormalized,
  SmallAreaEmphasis: glszm.smallAreaEmphasis,
  SmallAreaHighGrayLevelEmphasis: glszm.smallAreaHighGrayLevelEmphasis,
  SmallAreaLowGrayLevelEmphasis: glszm.smallAreaLowGrayLevelEmphasis,
  ZoneEntropy: glszm.zoneEntropy,
  ZonePercentage: glszm.zonePercentage,
  ZoneVariance: glszm.zoneVariance,
};

const NGTDM: Readonly<Record<string, (matrix: Ngtdm) => number>> = {
  Busyness: ngtdm.busyness,
  Coarseness: ngtdm.coarseness,
  Complexity: ngtdm.complexity,
  Contrast: ngtdm.contrast,
  Strength: ngtdm.strength,
};

function register(
  definitions: Map<string, FeatureDefinition>,
  featureClass: FeatureClass,
  name: string,
  compute: (inputs: ClassInputs) => number,
): void {
  const fullName = `original_${featureClass}_${name}`;
  definitions.set(fullName, { name: fullName, featureClass, compute });
}

function buildRegistry(): ReadonlyMap<string, FeatureDefinition> {
  const definitions = new Map<string, FeatureDefinition>();
  for (const [name, feature] of Object.entries(FIRSTORDER)) {
    register(definitions, 'firstorder', name, (inputs) => feature(inputs.firstorder()));
  }
  for (const [name, feature] of Object.entries(GLCM)) {
    register(definitions, 'glcm', name, (inputs) => feature(inputs.glcm()));
  }
  for (const [name, feature] of Object.entries(GLDM)) {
    register(definitions, 'gldm', name, (inputs) => feature(inputs.gldm()));
  }
  for (const [name, feature] of Object.entries(GLRLM)) {
    register(definitions, 'glrlm', name, (inputs) => feature(inputs.glrlm()));
  }
  for (const [name, feature] of Object.entries(GLSZM)) {
    register(definitions, 'glszm', name, (inputs) => feature(inputs.glszm()));
  }
  for (const [name, feature] of Object.entries(NGTDM)) {
    register(definitions, 'ngtdm', name, (inputs) => feature(inputs.ngtdm()));
  }
  return definitions;
}

/** Every feature the engine computes, keyed by pyradiomics name. */
export const FEATURE_REGISTRY: ReadonlyMap<string, FeatureDefinition> = buildRegistry();
