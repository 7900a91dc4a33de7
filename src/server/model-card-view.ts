/**
 * `GET /api/model-card`: the public part of the loaded model card, which the SMART app shows beside
 * a result as its evidence. The card contains no patient data, so the route needs no token.
 *
 * Texts the card has in English and Simplified Chinese (title, intended use, limitations, evidence
 * descriptions) are sent as `{ en, zh-CN }`. Citations, cohort descriptions and figures exist once
 * in the card and are sent as they are. Left out: maintainer notes, extraction settings and the
 * per-feature distribution of the calibration cohort.
 */

import type express from 'express';

import { hasAllCoefficients, type LocalizedText, type ModelCard } from '../model/card.js';
import type { CoefficientSource, Recalibration } from '../model/card-schema.js';

/** Path of the route. */
export const MODEL_CARD_PATH = '/api/model-card';

/** One model feature with its coefficient and, once a site calibrated, its z-score parameters. */
export interface ModelFeatureView {
  readonly name: string;
  readonly region: 'tumour' | 'peri';
  readonly pyradiomicsName: string;
  /** Coefficient on the z-scored feature; null while the publication's value is not available. */
  readonly coefficient: number | null;
  /** z_f = (x_f − mean) / sd; absent until a site calibrates. */
  readonly scaling?: { readonly mean: number; readonly sd: number };
}

/** Whether the card has a site scaling, and the cohort it was computed on. */
export interface CalibrationView {
  /** True when the card has a site scaling: only then can a probability be computed. */
  readonly calibrated: boolean;
  /** True when every feature has a coefficient, the other condition for a probability. */
  readonly coefficientsAvailable: boolean;
  readonly scaling: {
    readonly method: 'z-score';
    readonly sd: 'sample' | 'population';
    readonly cohort: {
      readonly description: string;
      readonly caseCount: number;
      readonly createdAt: string;
      /** True for a generated demo cohort: such a card is never for clinical use. */
      readonly synthetic: boolean;
    };
  } | null;
  readonly recalibration?: Recalibration;
}

/** Body of the 200 response. */
export interface ModelCardView {
  readonly id: string;
  readonly version: string;
  readonly title: LocalizedText;
  readonly positiveClass: LocalizedText;
  readonly citation: ModelCard['citation'];
  readonly intendedUse: LocalizedText;
  readonly limitations: ModelCard['limitations'];
  /** Probability at or above which the positive class is predicted. */
  readonly threshold: number;
  /** β_0 of η = β_0 + Σ β_f·z_f. */
  readonly intercept: number;
  readonly coefficientSource?: CoefficientSource;
  readonly region: ModelCard['region'];
  readonly features: readonly ModelFeatureView[];
  readonly calibration: CalibrationView;
  readonly performance: ModelCard['performance'];
  readonly evidence: ModelCard['evidence'];
}

/** Builds the public view of a model card. */
export function modelCardView(card: ModelCard): ModelCardView {
  const features = card.features.map((feature): ModelFeatureView => {
    const parameters = card.scaling?.parameters[feature.name];
    return {
      name: feature.name,
      region: feature.region,
      pyradiomicsName: feature.pyradiomicsName,
      coefficient: feature.coefficient,
      ...(parameters === undefined ? {} : { scaling: { mean: parameters.mean, sd: parameters.sd } }),
    };
  });

  const calibration: CalibrationView = {
    calibrated: card.scaling !== null,
    coefficientsAvailable: hasAllCoefficients(card),
    scaling:
      card.scaling === null
        ? null
        : { method: card.scaling.method, sd: card.scaling.sd, cohort: card.scaling.cohort },
    ...(card.recalibration === undefined ? {} : { recalibration: card.recalibration }),
  };

  return {
    id: card.id,
    version: card.version,
    title: card.title,
    positiveClass: card.positiveClass,
    citation: card.citation,
    intendedUse: card.intendedUse,
    limitations: card.limitations,
    threshold: card.threshold,
    intercept: card.intercept,
    ...(card.coefficientSource === undefined ? {} : { coefficientSource: card.coefficientSource }),
    region: card.region,
    features,
    calibration,
    performance: card.performance,
    evidence: card.evidence,
  };
}

/** Handler of `GET /api/model-card`; the view is built once, since the card does not change while running. */
export function modelCardHandler(card: ModelCard): express.RequestHandler {
  const view = modelCardView(card);
  return (_req, res) => {
    res.status(200).json(view);
  };
}
