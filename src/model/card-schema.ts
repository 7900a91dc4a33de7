/**
 * Schema of a model card: the data that defines a radiomics logistic model, its scaling, its
 * evidence and its intended use. Cards live in `config/models/*.json`; a site's calibrated card is
 * written by `nqo1-cds calibrate`.
 *
 * The model computes, for features x_f with scaling parameters (μ_f, σ_f) and coefficients β_f:
 *   z_f = (x_f − μ_f) / σ_f,   η = β_0 + Σ_f β_f·z_f,   p = 1 / (1 + e^(−η)),
 * and predicts the positive class when p ≥ threshold. A site recalibration (a, b) replaces η by
 * a + b·η before the logistic function.
 *
 * `npm run docs:schema` writes this schema as JSON Schema to docs/model-card.schema.json.
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

/** Summary of one feature over the calibration cohort, kept so that drift can be checked later. */
const featureDistributionSchema = z.strictObject({
  count: z.int().min(1),
  mean: z.number(),
  sd: z.number().min(0),
  min: z.number(),
  /** Quantiles as R's quantile(type = 7) computes them. */
  p05: z.number(),
  p25: z.number(),
  median: z.number(),
  p75: z.number(),
  p95: z.number(),
  max: z.number(),
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
  /** Distribution of each feature in the calibration cohort, keyed by feature name. */
  distribution: z.record(z.string(), featureDistributionSchema).optional(),
});

/** Where the coefficients and intercept come from. */
export const coefficientSourceSchema = z.strictObject({
  kind: z.enum(['published', 'site-fit', 'refit']),
  /** Number of labelled cases and of positive cases behind a fit. */
  caseCount: z.int().min(1).optional(),
  positiveCount: z.int().min(0).optional(),
  /** Feature selection of a refit, e.g. "mRMR top 20, then RFE to 6". */
  selection: z.string().min(1).optional(),
  createdAt: z.iso.datetime().optional(),
});

/** Logistic recalibration at a site: p = 1 / (1 + e^(−(a + b·η))). */
export const recalibrationSchema = z.strictObject({
  intercept: z.number(),
  slope: z.number(),
  caseCount: z.int().min(1),
  positiveCount: z.int().min(0),
  createdAt: z.iso.datetime(),
});

/** Extraction settings stored on the card; omitted keys take pyradiomics' code defaults. */
export const cardExtractionSchema = z.strictObject({
  binWidth: z.number().positive().optional(),
  voxelArrayShift: z.number().optional(),
  label: z.int().min(1).max(255).optional(),
  minimumROIDimensions: z.int().min(1).max(3).optional(),
});

export const modelCardSchema = z.strictObject({
  schemaVersion: z.literal(1).describe('Version of this card format; 1.'),
  id: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'use lower-case letters, digits and hyphens')
    .describe('Stable identifier of the model, e.g. br-ro.'),
  version: z.string().min(1).describe('Version of the card; a site card appends +site.<time>.'),
  title: localizedTextSchema.describe('Name of the model in English and Simplified Chinese.'),
  /** Meaning of the positive class, e.g. high NQO1 expression. */
  positiveClass: localizedTextSchema.describe('Meaning of the positive class, e.g. high NQO1 expression.'),
  citation: z
    .strictObject({
      text: z.string().min(1),
      doi: z.string().regex(/^10\.\d{4,9}\/\S+$/, 'expected a DOI such as 10.1371/journal.pone.0290900'),
      url: z.url(),
    })
    .describe('The publication that defines the model.'),
  intendedUse: localizedTextSchema.describe('Who may use the result, for which patients and decisions.'),
  limitations: z
    .array(
      localizedTextSchema.extend({
        /** A limit that calibrate removes once the site scaling or the site coefficients exist. */
        until: z.enum(['site-scaling', 'site-coefficients']).optional(),
      }),
    )
    .describe('Known limits of the model, shown with every result.'),
  /** Construction of the peritumoral region from the tumour mask. */
  region: z
    .strictObject({
      dilationMm: z.number().positive().max(50),
      periMode: z.enum(['dilated', 'ring']),
    })
    .describe(
      'Peritumoral region: the tumour dilated by dilationMm, with (dilated) or without (ring) the tumour.',
    ),
  extraction: cardExtractionSchema.describe(
    'pyradiomics settings of every feature; absent keys take the code defaults.',
  ),
  features: z
    .array(featureSpecSchema)
    .min(1)
    .describe('Model features: name, region, pyradiomics name and coefficient on the z-scored value.'),
  intercept: z.number().describe('β_0 of the linear predictor η = β_0 + Σ β_f·z_f.'),
  /** Absent in cards written before the field existed, which carried published coefficients. */
  coefficientSource: coefficientSourceSchema
    .optional()
    .describe('Where the coefficients come from: the publication, a site fit or a refit.'),
  threshold: z
    .number()
    .gt(0)
    .lt(1)
    .describe('Probability at or above which the positive class is predicted.'),
  scaling: scalingSchema
    .nullable()
    .describe(
      'z-score parameters of each feature and the cohort they came from; null until a site calibrates.',
    ),
  recalibration: recalibrationSchema
    .optional()
    .describe('Site logistic recalibration (a, b): p = 1 / (1 + exp(−(a + b·η))).'),
  performance: z
    .strictObject({
      auc: publishedEstimateSchema.optional(),
      accuracy: publishedEstimateSchema.optional(),
      sensitivity: publishedEstimateSchema.optional(),
      specificity: publishedEstimateSchema.optional(),
      externalAuc: publishedEstimateSchema.optional(),
    })
    .describe('Figures the publication reports, with confidence intervals and cohorts.'),
  /** Prognostic evidence for the positive class, shown beside the result. */
  evidence: z
    .array(
      z.strictObject({
        kind: z.enum(['hazard-ratio', 'log-rank', 'median-survival-days', 'association']),
        description: localizedTextSchema,
        estimate: publishedEstimateSchema.optional(),
        /** Median survival in days of the positive and the negative class (kind median-survival-days). */
        medianDays: z
          .strictObject({ positive: z.number().positive(), negative: z.number().positive() })
          .optional(),
      }),
    )
    .describe('Prognostic evidence for the positive class, shown beside the result.'),
  notes: z.array(z.string()).optional().describe('Free-text notes for maintainers.'),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
export type Scaling = z.infer<typeof scalingSchema>;
export type LocalizedText = z.infer<typeof localizedTextSchema>;
export type FeatureDistribution = z.infer<typeof featureDistributionSchema>;
export type Recalibration = z.infer<typeof recalibrationSchema>;
export type CoefficientSource = z.infer<typeof coefficientSourceSchema>;
