/**
 * The Cox log partial likelihood with Efron's handling of tied event times, its score vector and
 * its information matrix at one coefficient vector β, as R's `coxph` (survival 3.5.3,
 * `ties = "efron"`) computes them.
 *
 * At each distinct event time t_j with risk set R_j (time ≥ t_j), the d_j cases D_j dying at t_j,
 * and r_i = exp(x_iᵀβ), Efron's approximation uses for k = 0 … d_j − 1 the weight w_k = k / d_j and
 *   S0_k = Σ_{R_j} r_i − w_k Σ_{D_j} r_i,  S1_k = Σ_{R_j} r_i x_i − w_k Σ_{D_j} r_i x_i,
 *   S2_k = Σ_{R_j} r_i x_i x_iᵀ − w_k Σ_{D_j} r_i x_i x_iᵀ, and
 *   log L(β) = Σ_j [ Σ_{D_j} x_iᵀβ − Σ_k log S0_k ]
 *   U(β)     = Σ_j [ Σ_{D_j} x_i − Σ_k S1_k / S0_k ]
 *   I(β)     = Σ_j Σ_k [ S2_k / S0_k − S1_k S1_kᵀ / S0_k² ]
 * With one death at a time this is the exact (Breslow) partial likelihood.
 */

/** Survival data sorted by decreasing time, covariates already centred. */
export interface SortedCoxData {
  readonly times: readonly number[];
  readonly events: readonly number[];
  /** One row of covariates per case, in the same order as `times`. */
  readonly covariates: readonly (readonly number[])[];
}

export interface PartialLikelihood {
  readonly logLikelihood: number;
  readonly score: number[];
  readonly information: number[][];
}

function zeroMatrix(size: number): number[][] {
  return Array.from({ length: size }, () => new Array<number>(size).fill(0));
}

/** Evaluates log L(β), U(β) and I(β) for data sorted by decreasing time. */
export function efronPartialLikelihood(data: SortedCoxData, beta: readonly number[]): PartialLikelihood {
  const p = beta.length;
  const { times, events, covariates } = data;
  let logLikelihood = 0;
  const score = new Array<number>(p).fill(0);
  const information = zeroMatrix(p);

  // Running risk-set sums S0, S1, S2 over everyone with time ≥ the current time.
  let riskSum = 0;
  const riskX = new Array<number>(p).fill(0);
  const riskXX = zeroMatrix(p);

  let position = 0;
  while (position < times.length) {
    const time = times[position]!;
    let deaths = 0;
    let deathRiskSum = 0;
    const deathX = new Array<number>(p).fill(0);
    const deathXX = zeroMatrix(p);

    // Add every case at this time to the risk set; deaths also to the tied-death sums.
    while (position < times.length && times[position] === time) {
      const x = covariates[position]!;
      let linearPredictor = 0;
      for (let a = 0; a < p; a++) linearPredictor += beta[a]! * x[a]!;
      const risk = Math.exp(linearPredictor);

      riskSum += risk;
      for (let a = 0; a < p; a++) {
        riskX[a]! += risk * x[a]!;
        for (let b = 0; b <= a; b++) riskXX[a]![b]! += risk * x[a]! * x[b]!;
      }
      if (events[position] === 1) {
        deaths++;
        deathRiskSum += risk;
        logLikelihood += linearPredictor;
        for (let a = 0; a < p; a++) {
          score[a]! += x[a]!;
          deathX[a]! += risk * x[a]!;
          for (let b = 0; b <= a; b++) deathXX[a]![b]! += risk * x[a]! * x[b]!;
        }
      }
      position++;
    }
    if (deaths === 0) continue;

    // Efron terms: the tied deaths leave the denominators in steps of 1/d.
    for (let k = 0; k < deaths; k++) {
      const weight = k / deaths;
      const denominator = riskSum - weight * deathRiskSum;
      logLikelihood -= Math.log(denominator);
      const mean = riskX.map((value, a) => (value - weight * deathX[a]!) / denominator);
      for (let a = 0; a < p; a++) {
        score[a]! -= mean[a]!;
        for (let b = 0; b <= a; b++) {
          const secondMoment = (riskXX[a]![b]! - weight * deathXX[a]![b]!) / denominator;
          information[a]![b]! += secondMoment - mean[a]! * mean[b]!;
        }
      }
    }
  }

  // Fill the upper triangle of the symmetric information matrix.
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) information[b]![a] = information[a]![b]!;
  return { logLikelihood, score, information };
}
