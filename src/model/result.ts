/**
 * The outcome of scoring one study with one model card. This object is what the result store keeps,
 * what the CLI prints with `--json`, and what the CDS card, the SMART app and the FHIR Observation
 * are built from.
 */

/** Predicted class at the card's threshold; `null` when the card is not calibrated. */
export type PredictedClass = 'high' | 'low';

export interface ModelReference {
  /** Stable identifier of the model card, e.g. `br-ro`. */
  readonly id: string;
  /** Version of the card; a site-calibrated card has its own version. */
  readonly version: string;
}

/** Origin of the numbers, so a reader can reproduce them. Contains no patient identifier. */
export interface ScoreProvenance {
  readonly studyInstanceUid: string | null;
  readonly seriesInstanceUid: string | null;
  /** SOP Instance UID of the DICOM SEG, or null when the mask came from a file of another format. */
  readonly segmentationInstanceUid: string | null;
  readonly spacingMm: readonly [number, number, number];
  readonly tumourVoxelCount: number;
  readonly periVoxelCount: number;
  /** Radius of the physical dilation that made the peritumoral region, in millimetres. */
  readonly dilationMm: number;
  /** Radiomics settings used for every feature, as a plain JSON object. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly engineVersion: string;
  /** ISO 8601 time at which the features were computed. */
  readonly computedAt: string;
  /**
   * Conditions of the input that a reader of the numbers should know, in English: images left out
   * of the series, a series or mask resampled onto another grid, lossy compression, a peritumoral
   * region no larger than the tumour. Absent in results stored before this field existed.
   */
  readonly warnings?: readonly string[];
  /** Reason this CT series was analysed; present for studies read from the PACS. */
  readonly seriesSelection?: SeriesSelection;
  /** How much of the CT series was retrieved; present for studies read from the PACS. */
  readonly ctRetrieval?: CtRetrieval;
}

/**
 * The CT instances retrieved for the analysis: only those around the tumour (`roi`), or the whole
 * series with the reason ROI-first retrieval did not apply.
 */
export interface CtRetrieval {
  readonly path: 'roi' | 'whole-series';
  readonly instancesFetched: number;
  readonly seriesInstanceCount: number;
  /** Bytes of the CT Part 10 files retrieved. */
  readonly bytesFetched: number;
  /**
   * Bytes of the whole series, exact on the whole-series path. On the ROI path it is estimated as
   * bytesFetched / instancesFetched × seriesInstanceCount, because WADO-RS metadata gives no file size.
   */
  readonly seriesBytes: number;
  /** Reason the whole series was retrieved; absent on the ROI path. */
  readonly fallbackReason?: string;
}

/**
 * Reason a CT series was analysed. `arterial-phase-description`: its SeriesDescription matched an
 * arterial-phase pattern. `acquisition-delay`: none matched, but its acquisition started within the
 * arterial delay window after contrast injection. `most-instances`: otherwise. `requested`: a user
 * requested this series in the SMART app, so the rules were not applied.
 */
export type SeriesSelectionReason =
  'arterial-phase-description' | 'acquisition-delay' | 'most-instances' | 'requested';

/** Rule of `series` in the configuration that removed a CT series from the candidates. */
export type SeriesExclusionRule =
  'non-contrast-description' | 'no-contrast-agent' | 'slice-thickness' | 'convolution-kernel';

/**
 * Ranking key on which a candidate lost to the candidate ranked just above it, in the order the
 * keys are compared.
 */
export type SeriesRankingRule =
  | 'arterial-phase-description'
  | 'acquisition-delay'
  | 'instance-count'
  | 'series-number'
  | 'series-instance-uid';

/**
 * One CT series of the study and what the selection rules made of it. The attributes come from one
 * instance of the series; each is null when the PACS did not return it. Holds no patient data: no
 * names, ids, dates or times of day.
 */
export interface SeriesCandidate {
  readonly seriesInstanceUid: string;
  readonly seriesNumber: number | null;
  readonly seriesDescription: string;
  readonly instanceCount: number | null;
  readonly sliceThicknessMm: number | null;
  /** ConvolutionKernel (0018,1210), values joined with a backslash. */
  readonly convolutionKernel: string | null;
  /** Whether ContrastBolusAgent (0018,0010) names an agent; null when the attributes were not read. */
  readonly contrastAgentRecorded: boolean | null;
  /** Seconds from ContrastBolusStartTime to AcquisitionTime (else SeriesTime). */
  readonly acquisitionDelaySeconds: number | null;
  /** `chosen`: analysed; `ranked`: eligible but ranked lower; `excluded`: removed by a rule. */
  readonly outcome: 'chosen' | 'ranked' | 'excluded';
  /**
   * Rule behind the outcome. A `chosen` series has the selection reason, and a `ranked` one the key
   * on which it lost to the candidate ranked above it. An `excluded` series has the rule that removed it.
   */
  readonly rule: SeriesSelectionReason | SeriesRankingRule | SeriesExclusionRule;
  /** Configured pattern that matched, for a description or kernel rule. */
  readonly pattern?: string;
}

/** Reason the analysis used its CT series, for a radiologist checking the choice. */
export interface SeriesSelection {
  readonly reason: SeriesSelectionReason;
  /**
   * Reason the segmentation was used: it references the CT series, it is the only one in the study,
   * or a user requested it. Absent in results stored before this field existed.
   */
  readonly segmentationReason?: 'references-ct-series' | 'only-seg-in-study' | 'requested';
  readonly seriesDescription: string;
  readonly seriesNumber: number | null;
  readonly instanceCount: number | null;
  /** CT series in the study, and how many of those that passed the rules matched a phase pattern. */
  readonly ctSeriesCount: number;
  readonly arterialCount: number;
  /** The phase pattern the description matched, also for a requested series. */
  readonly matchedPattern?: string;
  /**
   * Every CT series considered, the chosen one first, then the ranked ones in rank order, then the
   * excluded ones. Absent in results stored before the rules existed.
   */
  readonly candidates?: readonly SeriesCandidate[];
}

export interface ScoreResult {
  readonly model: ModelReference;
  /** Feature values keyed by the model card's feature names, e.g. `Whole_ngtdm_Coarseness`. */
  readonly features: Readonly<Record<string, number>>;
  /** True when the card carries a scaling, so that a probability may be computed. */
  readonly calibrated: boolean;
  /** Probability of the positive class (high NQO1 expression), or null when it cannot be computed. */
  readonly probability: number | null;
  /**
   * Why `probability` is null: the card has no site scaling yet (`uncalibrated`), or it lacks a
   * coefficient for some feature (`coefficients-missing`). Null when a probability was computed.
   */
  readonly probabilityUnavailableReason: 'uncalibrated' | 'coefficients-missing' | null;
  readonly threshold: number;
  readonly class: PredictedClass | null;
  /** Linear predictor: intercept + Σ coefficient·scaled feature; null without calibration. */
  readonly linearPredictor: number | null;
  /**
   * Each feature scaled by the card: z_f = (x_f − μ_f) / σ_f, the value its coefficient multiplies.
   * Null when the card has no scaling. Absent in results stored before this field existed: the app
   * then shows a dash with that reason and derives nothing, because the card loaded now may not be the
   * card that scored the row.
   */
  readonly scaledFeatures?: Readonly<Record<string, number>> | null;
  /** Each feature's term coefficient·scaled value in the linear predictor; null without calibration. */
  readonly contributions: Readonly<Record<string, number>> | null;
  readonly provenance: ScoreProvenance;
}
