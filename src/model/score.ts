/**
 * Logistic scoring of a model card on one case's features.
 *
 *   z_f = (x_f − μ_f) / σ_f,   η = β_0 + Σ_f β_f·z_f,   p = 1 / (1 + e^(−η)),
 *   class = high when p ≥ threshold, else low.
 * With a site recalibration (a, b) on the card, p = 1 / (1 + e^(−(a + b·η))) and the linear
 * predictor reported is a + b·η.
 *
 * Without a scaling (the card as published) the score stops after the features, and without every
 * coefficient it stops after the scaled features z_f. The probability then stays null and the result
 * names the reason. No number is invented.
 */
import { Nqo1Error } from '../errors.js';
import { hasAllCoefficients, type ModelCard, type Scaling } from './card.js';
import type { PredictedClass, ScoreResult } from './result.js';

export type LogisticScore = Pick<
  ScoreResult,
  | 'calibrated'
  | 'probability'
  | 'probabilityUnavailableReason'
  | 'class'
  | 'linearPredictor'
  | 'scaledFeatures'
  | 'contributions'
>;

/** Numerically stable logistic function 1 / (1 + e^(−η)). */
export function logistic(eta: number): number {
  if (eta >= 0) return 1 / (1 + Math.exp(-eta));
  const e = Math.exp(eta);
  return e / (1 + e);
}

/**
 * Scores the card on the features of one case.
 *
 * @param features - Values keyed by the card's feature names.
 * @throws Nqo1Error ERR_MODEL_FEATURE_MISSING when a feature of the card is absent or not finite.
 */
export function scoreFeatures(card: ModelCard, features: Readonly<Record<string, number>>): LogisticScore {
  for (const feature of card.features) {
    const value = features[feature.name];
    if (value === undefined || !Number.isFinite(value)) {
      throw new Nqo1Error(
        'ERR_MODEL_FEATURE_MISSING',
        `Feature ${feature.name} is ${value === undefined ? 'missing' : String(value)}; model ${card.id} needs a finite value for it.`,
      );
    }
  }

  const scaling = card.scaling;
  if (scaling === null) return unavailable(false, 'uncalibrated', null);

  const scaledFeatures = scaleFeatures(card, scaling, features);
  if (!hasAllCoefficients(card)) return unavailable(true, 'coefficients-missing', scaledFeatures);

  const contributions: Record<string, number> = {};
  let eta = card.intercept;
  for (const feature of card.features) {
    const term = feature.coefficient! * scaledFeatures[feature.name]!;
    contributions[feature.name] = term;
    eta += term;
  }

  if (card.recalibration !== undefined) eta = card.recalibration.intercept + card.recalibration.slope * eta;
  const probability = logistic(eta);
  const predicted: PredictedClass = probability >= card.threshold ? 'high' : 'low';
  return {
    calibrated: true,
    probability,
    probabilityUnavailableReason: null,
    class: predicted,
    linearPredictor: eta,
    scaledFeatures,
    contributions,
  };
}

/**
 * Returns z_f = (x_f − μ_f) / σ_f for every feature of the card: the value its coefficient multiplies.
 *
 * @throws Nqo1Error ERR_MODEL_CARD_INVALID when the scaling lacks a feature of the card.
 */
function scaleFeatures(
  card: ModelCard,
  scaling: Scaling,
  features: Readonly<Record<string, number>>,
): Record<string, number> {
  const scaled: Record<string, number> = {};
  for (const feature of card.features) {
    const parameters = scaling.parameters[feature.name];
    if (parameters === undefined) {
      throw new Nqo1Error(
        'ERR_MODEL_CARD_INVALID',
        `Model card ${card.id} has no scaling for feature ${feature.name}. Run calibrate again.`,
      );
    }
    scaled[feature.name] = (features[feature.name]! - parameters.mean) / parameters.sd;
  }
  return scaled;
}

function unavailable(
  calibrated: boolean,
  reason: 'uncalibrated' | 'coefficients-missing',
  scaledFeatures: Readonly<Record<string, number>> | null,
): LogisticScore {
  return {
    calibrated,
    probability: null,
    probabilityUnavailableReason: reason,
    class: null,
    linearPredictor: null,
    scaledFeatures,
    contributions: null,
  };
}
