/**
 * Evaluation of a model card on a labelled cohort, with the statistics the BR-RO paper reports.
 * They are discrimination (ROC, AUC with DeLong's 95 % CI, DeLong's test against a second model),
 * classification at the card's threshold and at the Youden optimum, calibration (Hosmer–Lemeshow
 * groups and test), clinical usefulness (decision curve), and, when survival is known, overall
 * survival by predicted class (Kaplan–Meier, log-rank test, Cox hazard ratio of the high class).
 * Each statistic is computed in src/stats/, where its match with R is documented and tested.
 */
import { coxRegression, type CoxResult } from '../stats/cox.js';
import { decisionCurve, type DecisionCurveRow } from '../stats/decision-curve.js';
import { hosmerLemeshow, type HosmerLemeshowResult } from '../stats/hosmer-lemeshow.js';
import { kaplanMeierByGroup, type KaplanMeierGroup } from '../stats/kaplan-meier.js';
import { logRank, type LogRankResult } from '../stats/log-rank.js';
import {
  aucDeLong,
  deLongTest,
  rocCurve,
  type AucEstimate,
  type DeLongTestResult,
  type RocPoint,
} from '../stats/roc.js';
import {
  metricsAtThreshold,
  youdenOptimum,
  type ThresholdMetrics,
  type YoudenOptimum,
} from '../stats/threshold-metrics.js';

/** One evaluated case: the model's probability and what is known of the patient. */
export interface EvaluatedCase {
  readonly probability: number;
  /** Probability of the comparison model, when one is given. */
  readonly comparisonProbability?: number;
  readonly outcome: 0 | 1 | null;
  readonly timeDays: number | null;
  readonly event: 0 | 1 | null;
}

export interface DiscriminationReport {
  readonly caseCount: number;
  readonly positiveCount: number;
  readonly auc: AucEstimate;
  readonly roc: readonly RocPoint[];
  readonly atCardThreshold: ThresholdMetrics;
  readonly youden: YoudenOptimum;
  readonly hosmerLemeshow: HosmerLemeshowResult | { readonly error: string };
  readonly decisionCurve: readonly DecisionCurveRow[];
  readonly comparison?: DeLongTestResult;
}

export interface SurvivalReport {
  readonly caseCount: number;
  readonly eventCount: number;
  readonly kaplanMeier: readonly KaplanMeierGroup[];
  readonly logRank: LogRankResult;
  /** Cox model of survival on the predicted class (1 = high); its hazard ratio is high vs low. */
  readonly cox: CoxResult | { readonly error: string };
}

export interface EvaluationStatistics {
  readonly discrimination: DiscriminationReport | null;
  readonly survival: SurvivalReport | null;
  /** Reasons, in English, for each missing or incomplete section. */
  readonly notes: readonly string[];
}

/** Predicted class label of the survival groups. */
export function predictedGroup(probability: number, threshold: number): 'high' | 'low' {
  return probability >= threshold ? 'high' : 'low';
}

/** Runs a statistic that may reject the cohort and keeps its message instead of failing the report. */
function attempt<T>(compute: () => T): T | { error: string } {
  try {
    return compute();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Computes every statistic the cohort allows. Discrimination needs cases of both classes; survival
 * needs cases with time and event, at least one event, and both predicted classes.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT from the discrimination statistics when the labelled
 *   cases cannot give an AUC (one class only, or non-finite probabilities).
 */
export function evaluateCohort(cases: readonly EvaluatedCase[], threshold: number): EvaluationStatistics {
  const notes: string[] = [];

  const labelled = cases.filter((entry) => entry.outcome !== null);
  let discrimination: DiscriminationReport | null = null;
  if (labelled.length === 0) {
    notes.push('No case has an nqo1 class, so discrimination and calibration were not computed.');
  } else {
    const scores = labelled.map((entry) => entry.probability);
    const labels = labelled.map((entry) => entry.outcome!);
    const comparison = labelled.every((entry) => entry.comparisonProbability !== undefined)
      ? deLongTest(
          scores,
          labelled.map((entry) => entry.comparisonProbability!),
          labels,
        )
      : undefined;
    discrimination = {
      caseCount: labelled.length,
      positiveCount: labels.filter((label) => label === 1).length,
      auc: aucDeLong(scores, labels),
      roc: rocCurve(scores, labels),
      atCardThreshold: metricsAtThreshold(scores, labels, threshold),
      youden: youdenOptimum(scores, labels),
      hosmerLemeshow: attempt(() => hosmerLemeshow(scores, labels)),
      decisionCurve: decisionCurve(scores, labels),
      ...(comparison === undefined ? {} : { comparison }),
    };
  }

  const followed = cases.filter((entry) => entry.timeDays !== null && entry.event !== null);
  let survival: SurvivalReport | null = null;
  const groups = followed.map((entry) => predictedGroup(entry.probability, threshold));
  if (followed.length === 0) {
    notes.push('No case has time_days and event, so survival by predicted class was not computed.');
  } else if (new Set(groups).size < 2) {
    notes.push(
      `Every followed case is predicted ${groups[0]}, so survival cannot be compared between classes.`,
    );
  } else if (!followed.some((entry) => entry.event === 1)) {
    notes.push('No followed case has an event (death), so survival was not compared.');
  } else {
    const times = followed.map((entry) => entry.timeDays!);
    const events = followed.map((entry) => entry.event!);
    survival = {
      caseCount: followed.length,
      eventCount: events.filter((event) => event === 1).length,
      kaplanMeier: kaplanMeierByGroup(times, events, groups),
      logRank: logRank(times, events, groups),
      cox: attempt(() =>
        coxRegression(
          times,
          events,
          groups.map((group) => [group === 'high' ? 1 : 0]),
        ),
      ),
    };
  }
  return { discrimination, survival, notes };
}
