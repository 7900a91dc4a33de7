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
import * as shape from './shape.js';
import type { ShapeInput } from './shape.js';

/** Feature classes the engine implements, in pyradiomics naming. */
export type FeatureClass = 'firstorder' | 'glcm' | 'gldm' | 'glrlm' | 'glszm' | 'ngtdm' | 'shape';

/** Accessors for the prepared input of each class; `computeFeatures` builds each one at most once. */
export interface ClassInputs {
  firstorder(): FirstOrderInput;
  glcm(): Glcm;
  gldm(): Gldm;
  glrlm(): Glrlm;
  glszm(): Glszm;
  ngtdm(): Ngtdm;
  shape(): ShapeInput;
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

/**
 * Shape (3-D). V = mesh volume, A = mesh area, λ1 ≤ λ2 ≤ λ3 = eigenvalues of the population
 * covariance of the voxel-centre coordinates in mm. An ROI reaching this point has at least two
 * voxels, so V > 0 and A > 0.
 */
const SHAPE: Readonly<Record<string, (input: ShapeInput) => number>> = {
  /** V by the divergence theorem over the marching-cubes mesh. IBSI "Volume" RNU0. */
  MeshVolume: shape.meshVolume,
  /** N·sx·sy·sz. IBSI "Approximate volume" YEKZ. */
  VoxelVolume: shape.voxelVolume,
  /** A = Σ triangle areas. IBSI "Surface area" C0JK. */
  SurfaceArea: shape.surfaceArea,
  /** A / V. IBSI "Surface to volume ratio" 2PR5. */
  SurfaceVolumeRatio: shape.surfaceVolumeRatio,
  /** (36πV²)^(1/3) / A. IBSI "Sphericity" QCFX. */
  Sphericity: shape.sphericity,
  /**
   * Largest distance between mesh vertices. IBSI "Maximum 3D diameter" L0JK; IBSI measures between
   * mesh vertices too.
   */
  Maximum3DDiameter: shape.maximum3dDiameter,
  /** Largest vertex distance within an axial plane (equal k); 0 if no plane holds two vertices. No IBSI code. */
  Maximum2DDiameterSlice: shape.maximum2dDiameterSlice,
  /** Largest vertex distance within a coronal plane (equal j). No IBSI code. */
  Maximum2DDiameterColumn: shape.maximum2dDiameterColumn,
  /** Largest vertex distance within a sagittal plane (equal i). No IBSI code. */
  Maximum2DDiameterRow: shape.maximum2dDiameterRow,
  /**
   * 4√λ3; NaN if λ3 < −1e-10. IBSI "Major axis length" TDIC. Deviation: covariance divisor N, where
   * the IBSI reference values correspond to N − 1.
   */
  MajorAxisLength: shape.majorAxisLength,
  /** 4√λ2; NaN if λ2 < −1e-10. IBSI "Minor axis length" P9VJ; same divisor deviation. */
  MinorAxisLength: shape.minorAxisLength,
  /** 4√λ1; 0 for a flat ROI, NaN if λ1 < −1e-10. IBSI "Least axis length" 7J51; same divisor deviation. */
  LeastAxisLength: shape.leastAxisLength,
  /** √(λ2/λ3); 0 for a line, NaN if λ3 = 0 or an eigenvalue is negative. IBSI "Elongation" Q3CK. */
  Elongation: shape.elongation,
  /** √(λ1/λ3); 0 for a flat ROI, NaN if λ3 = 0 or an eigenvalue is negative. IBSI "Flatness" N17B. */
  Flatness: shape.flatness,
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
  for (const [name, feature] of Object.entries(SHAPE)) {
    register(definitions, 'shape', name, (inputs) => feature(inputs.shape()));
  }
  return definitions;
}

/** Every feature the engine computes, keyed by pyradiomics name. */
export const FEATURE_REGISTRY: ReadonlyMap<string, FeatureDefinition> = buildRegistry();
