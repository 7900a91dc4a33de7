/**
 * Schema of a model card: the data that defines a radiomics logistic model, its scaling, its
 * evidence and its intended use. Cards live in `config/models/*.json`; a site's calibrated card is
 * written by `nqo1-cds calibrate`.
 *
 * The model computes, for features x_f with scaling parameters (μ_f, σ_f) and coefficients β_f:
 *   z_f = (x_f − μ_f) / σ_f,   η = β_0 + Σ_f β_f·z_f,   p = 1 / (1 + e^(−η)),
 * and predicts the positive class when p ≥ threshold.
 */
import { z } from 'zod';

/** Text in every language the product ships: English and Simplified Chinese. */
export const localizedTextSchema = z.strictObject({
  en: z.string().min(1),
  'zh-CN': z.string().min(1),
});

const confidenceIntervalSchema = z.strictObject({
  lower: z.number(),
  upper: z.number(),
  level: z.number().gt(0).lt(1).default(0.95),
});

/** A figure reported by the model's publication, with where it came from. */
const publishedEstimateSchema = z.strictObject({
  value: z.number(),
  ci: confidenceIntervalSchema.optional(),
  pValue: z.number().min(0).max(1).optional(),
  cohort: z.string().min(1),
});

export const featureSpecSchema = z.strictObject({
  /** Name of the feature in the model, e.g. `Whole_peri_ngtdm_Coarseness`. */
  name: z.string().regex(/^[A-Za-z0-9_]+$/, 'use letters, digits and underscores'),
  /** `tumour` is the segmented lesion; `peri` is the lesion grown by `region.dilationMm`. */
  region: z.enum(['tumour', 'peri']),
  /** pyradiomics output name of the feature, e.g. `original_ngtdm_Coarseness`. */
  pyradiomicsName: z
    .string()
    .regex(/^original_[a-z0-9]+_[A-Za-z0-9]+$/, 'expected original_<class>_<Feature>'),
  /** Logistic coefficient on the scaled feature; null when the publication's value is not available. */
  coefficient: z.number().nullable(),
});

const zScoreParametersSchema = z.strictObject({
  mean: z.number(),
  sd: z.number().positive(),
});

export const scalingSchema = z.strictObject({
  method: z.literal('z-score'),
  /** Standard deviation behind the parameters: `sample` divides by n − 1, `population` by n. */
  sd: z.enum(['sample', 'population']),
  parameters: z.record(z.string(), zScoreParametersSchema),
  cohort: z.strictObject({
    description: z.string().min(1),
    caseCount: z.int().min(2),
    createdAt: z.iso.datetime(),
    /** True for the demo's generated cohort: a card with this flag is never for clinical use. */
    synthetic: z.boolean(),
  }),
});

/** Extraction settings stored on the card; omitted keys take pyradiomics' code defaults. */
export const cardExtractionSchema = z.strictObject({
  binWidth: z.number().positive().optional(),
  voxelArrayShift: z.number().optional(),
  label: z.int().min(1).max(255).optional(),
  minimumROIDimensions: z.int().min(1).max(3).optional(),
});

export const modelCardSchema = z.strictObject({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9-]+$/, 'use lower-case letters, digits and hyphens'),
  version: z.string().min(1),
  title: localizedTextSchema,
  /** Meaning of the positive class, e.g. high NQO1 expression. */
  positiveClass: localizedTextSchema,
  citation: z.strictObject({
    text: z.string().min(1),
    doi: z.string().regex(/^10\.\d{4,9}\/\S+$/, 'expected a DOI such as 10.1371/journal.pone.0290900'),
    url: z.url(),
  }),
  intendedUse: localizedTextSchema,
  limitations: z.array(localizedTextSchema),
  /** Construction of the peritumoral region from the tumour mask. */
  region: z.strictObject({
    dilationMm: z.number().positive().max(50),
    periMode: z.enum(['dilated', 'ring']),
  }),
  extraction: cardExtractionSchema,
  features: z.array(featureSpecSchema).min(1),
  intercept: z.number(),
  threshold: z.number().gt(0).lt(1),
  scaling: scalingSchema.nullable(),
  performance: z.strictObject({
    auc: publishedEstimateSchema.optional(),
    accuracy: publishedEstimateSchema.optional(),
    sensitivity: publishedEstimateSchema.optional(),
    specificity: publishedEstimateSchema.optional(),
    externalAuc: publishedEstimateSchema.optional(),
  }),
  /** Prognostic evidence for the positive class, shown beside the result. */
  evidence: z.array(
    z.strictObject({
      kind: z.enum(['hazard-ratio', 'log-rank', 'median-survival-days', 'association']),
      description: localizedTextSchema,
      estimate: publishedEstimateSchema.optional(),
    }),
  ),
  notes: z.array(z.string()).optional(),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
export type Scaling = z.infer<typeof scalingSchema>;
export type LocalizedText = z.infer<typeof localizedTextSchema>;
