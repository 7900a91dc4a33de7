/**
 * The rules that choose the CT series of a study, set under `series` in the configuration. A rule
 * either excludes a series or ranks it. An attribute that the PACS does not return never excludes a
 * series, so a study whose images lack these attributes is chosen as by the description and the
 * instance count alone.
 *
 * Exclusion rules, tested in this order; the first that applies is recorded:
 *  1. `non-contrast-description` (when `requireContrast`): SeriesDescription (0008,103E) matches a
 *     non-contrast pattern, such as "plain" or 平扫 (plain scan).
 *  2. `no-contrast-agent` (when `requireContrast`): another CT series of the study names a
 *     ContrastBolusAgent (0018,0010), so this scanner records the agent, but this series names none
 *     and its description does not mark it arterial.
 *  3. `slice-thickness`: SliceThickness (0018,0050) lies outside `sliceThicknessMm`.
 *  4. `convolution-kernel`: a ConvolutionKernel (0018,1210) value matches a deny pattern, such as a
 *     bone or lung kernel, or allow patterns are set and no value matches one.
 *
 * Ranking of the series that remain, by the first key that differs:
 *  1. `arterial-phase-description`: the description matches an arterial-phase pattern.
 *  2. `acquisition-delay`: the delay from ContrastBolusStartTime (0018,1042) to AcquisitionTime
 *     (0008,0032), else SeriesTime (0008,0031), lies in `arterialDelaySeconds`. A series whose delay
 *     is unknown ranks above one whose delay is known and outside the window.
 *  3. `instance-count`: more instances (NumberOfSeriesRelatedInstances, 0020,1209).
 *  4. `series-number`: lower SeriesNumber (0020,0011).
 *  5. `series-instance-uid`: the lexically smaller SeriesInstanceUID, so the choice never depends on
 *     the order in which the PACS lists the series.
 */
import type {
  SeriesCandidate,
  SeriesExclusionRule,
  SeriesRankingRule,
  SeriesSelectionReason,
} from '../model/result.js';
import type { SeriesAcquisition } from './series-acquisition.js';

/** An inclusive range of values. */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

/** The CT series rules, with patterns compiled. */
export interface CtSeriesRules {
  /** Patterns of SeriesDescription that mark an arterial-phase series. */
  readonly arterialPhasePatterns: readonly RegExp[];
  /** Exclude series that the description or the missing contrast agent mark as non-contrast. */
  readonly requireContrast: boolean;
  /** Patterns of SeriesDescription that mark a series acquired without contrast. */
  readonly nonContrastPatterns: readonly RegExp[];
  /** Allowed SliceThickness in millimetres. */
  readonly sliceThicknessMm: ValueRange;
  /** ConvolutionKernel patterns: with allow patterns set, one must match; no deny pattern may match. */
  readonly convolutionKernel: {
    readonly allowPatterns: readonly RegExp[];
    readonly denyPatterns: readonly RegExp[];
  };
  /** Seconds after contrast injection at which an arterial-phase acquisition starts. */
  readonly arterialDelaySeconds: ValueRange;
}

/**
 * Default rules as configuration values: the regular expressions are sources, compiled with flags
 * `iu` (case-insensitive, Unicode).
 *
 * - Arterial phase: English "arterial" or "art" as a word, and Chinese 动脉 (artery), as in 动脉期.
 * - Non-contrast: "non-contrast", "without contrast", "pre-contrast", "unenhanced", "plain", "NC"
 *   as a word, and Chinese 平扫 (plain scan) and 非增强 (non-enhanced).
 * - Slice thickness 0.5–5 mm: thinner series are rare and noisy, and thicker ones blur texture.
 * - Kernels: names with bone, lung, edge or sharp, and the sharp Siemens kernels B60–B99 and I60–I99
 *   with an optional letter after the B or I (B70f, Br64, I70f). Soft-tissue kernels such as GE
 *   STANDARD or SOFT and Siemens B30f or Br40 pass.
 * - Arterial delay 15–45 s, which covers early and late arterial phases after a bolus injection.
 */
export const DEFAULT_SERIES_RULE_VALUES = {
  arterialPhasePatterns: ['\\b(arterial|art)\\b', '动脉'],
  requireContrast: true,
  nonContrastPatterns: [
    'non[- ]?contrast',
    'without contrast',
    'pre[- ]?contrast',
    'unenhanced',
    '\\bplain\\b',
    '\\bNC\\b',
    '平扫',
    '非增强',
  ],
  sliceThicknessMm: { min: 0.5, max: 5 },
  convolutionKernel: {
    allowPatterns: [] as string[],
    denyPatterns: ['bone', 'lung', 'edge', 'sharp', '^[BI][a-z]?[6-9][0-9]'],
  },
  arterialDelaySeconds: { min: 15, max: 45 },
} as const;

/** Compiles a configured pattern source the way the rules match it. */
export function compileSeriesPattern(source: string): RegExp {
  return new RegExp(source, 'iu');
}

/** The default rules, compiled. */
export const DEFAULT_CT_SERIES_RULES: CtSeriesRules = {
  arterialPhasePatterns: DEFAULT_SERIES_RULE_VALUES.arterialPhasePatterns.map(compileSeriesPattern),
  requireContrast: DEFAULT_SERIES_RULE_VALUES.requireContrast,
  nonContrastPatterns: DEFAULT_SERIES_RULE_VALUES.nonContrastPatterns.map(compileSeriesPattern),
  sliceThicknessMm: DEFAULT_SERIES_RULE_VALUES.sliceThicknessMm,
  convolutionKernel: {
    allowPatterns: DEFAULT_SERIES_RULE_VALUES.convolutionKernel.allowPatterns.map(compileSeriesPattern),
    denyPatterns: DEFAULT_SERIES_RULE_VALUES.convolutionKernel.denyPatterns.map(compileSeriesPattern),
  },
  arterialDelaySeconds: DEFAULT_SERIES_RULE_VALUES.arterialDelaySeconds,
};

/** The series attributes the rules read; a subset of `SeriesSummary`. */
export interface RuleSeries {
  readonly seriesInstanceUid: string;
  readonly description: string;
  readonly seriesNumber: number | null;
  readonly instanceCount: number | null;
}

/** One CT series after the rules: its exclusion, or what ranks it. */
export interface EvaluatedSeries<S extends RuleSeries> {
  readonly series: S;
  /** Null when the attributes were not read. */
  readonly acquisition: SeriesAcquisition | null;
  readonly arterialPattern: RegExp | null;
  readonly exclusion: { readonly rule: SeriesExclusionRule; readonly pattern?: string } | null;
  /** 0: delay inside the arterial window; 1: delay unknown; 2: delay outside the window. */
  readonly delayRank: 0 | 1 | 2;
}

/** Result of the rules over the CT series of a study. */
export interface RankedSeries<S extends RuleSeries> {
  /** Series that passed every exclusion rule, best first. */
  readonly ranked: readonly EvaluatedSeries<S>[];
  readonly excluded: readonly EvaluatedSeries<S>[];
}

/**
 * Returns the first pattern that matches `value`, or null. Patterns compiled with the `g` or `y`
 * flag would keep a position between calls, so the test resets it.
 */
export function firstMatch(patterns: readonly RegExp[], value: string): RegExp | null {
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    if (pattern.test(value)) return pattern;
  }
  return null;
}

/**
 * Returns the series whose acquisition attributes the rules need: every CT series that the
 * description rules do not exclude already.
 */
export function seriesNeedingAcquisition<S extends RuleSeries>(
  ctSeries: readonly S[],
  rules: CtSeriesRules,
): S[] {
  return ctSeries.filter(
    (series) =>
      !(rules.requireContrast && firstMatch(rules.nonContrastPatterns, series.description) !== null),
  );
}

/**
 * Applies the exclusion rules to each CT series and ranks the rest, as the module header describes.
 *
 * @param acquisitions - Attributes by SeriesInstanceUID; a series without an entry has unknown attributes.
 */
export function rankCtSeries<S extends RuleSeries>(
  ctSeries: readonly S[],
  rules: CtSeriesRules,
  acquisitions: ReadonlyMap<string, SeriesAcquisition>,
): RankedSeries<S> {
  const studyRecordsAgent = ctSeries.some(
    (series) => acquisitions.get(series.seriesInstanceUid)?.contrastBolusAgent != null,
  );
  const evaluated = ctSeries.map((series) => {
    const acquisition = acquisitions.get(series.seriesInstanceUid) ?? null;
    const arterialPattern = firstMatch(rules.arterialPhasePatterns, series.description);
    return {
      series,
      acquisition,
      arterialPattern,
      exclusion: exclusionOf(series, acquisition, arterialPattern, studyRecordsAgent, rules),
      delayRank: delayRankOf(acquisition, rules.arterialDelaySeconds),
    };
  });

  return {
    ranked: evaluated.filter((item) => item.exclusion === null).sort(compareEvaluated),
    excluded: evaluated.filter((item) => item.exclusion !== null),
  };
}

/** Returns the reason the best-ranked series was chosen. */
export function selectionReasonOf(best: EvaluatedSeries<RuleSeries>): SeriesSelectionReason {
  if (best.arterialPattern !== null) return 'arterial-phase-description';
  if (best.delayRank === 0) return 'acquisition-delay';
  return 'most-instances';
}

/**
 * Describes every CT series for the result: the chosen one, then the ranked ones each with the key
 * on which it lost to the series ranked above it, then the excluded ones with their rule.
 */
export function describeCandidates(ranking: RankedSeries<RuleSeries>): SeriesCandidate[] {
  const candidates: SeriesCandidate[] = [];
  const { ranked, excluded } = ranking;
  for (let index = 0; index < ranked.length; index++) {
    const item = ranked[index]!;
    const above = ranked[index - 1];
    if (above === undefined) {
      const pattern = item.arterialPattern?.source;
      candidates.push({
        ...candidateAttributes(item),
        outcome: 'chosen',
        rule: selectionReasonOf(item),
        ...(pattern === undefined ? {} : { pattern }),
      });
    } else {
      candidates.push({ ...candidateAttributes(item), outcome: 'ranked', rule: losingKey(above, item) });
    }
  }

  for (const item of excluded) {
    const exclusion = item.exclusion!;
    candidates.push({
      ...candidateAttributes(item),
      outcome: 'excluded',
      rule: exclusion.rule,
      ...(exclusion.pattern === undefined ? {} : { pattern: exclusion.pattern }),
    });
  }
  return candidates;
}

function exclusionOf(
  series: RuleSeries,
  acquisition: SeriesAcquisition | null,
  arterialPattern: RegExp | null,
  studyRecordsAgent: boolean,
  rules: CtSeriesRules,
): EvaluatedSeries<RuleSeries>['exclusion'] {
  if (rules.requireContrast) {
    const nonContrast = firstMatch(rules.nonContrastPatterns, series.description);
    if (nonContrast !== null) return { rule: 'non-contrast-description', pattern: nonContrast.source };
    if (
      studyRecordsAgent &&
      acquisition !== null &&
      acquisition.contrastBolusAgent === null &&
      arterialPattern === null
    ) {
      return { rule: 'no-contrast-agent' };
    }
  }
  if (acquisition === null) return null;

  const thickness = acquisition.sliceThicknessMm;
  if (
    thickness !== null &&
    (thickness < rules.sliceThicknessMm.min || thickness > rules.sliceThicknessMm.max)
  ) {
    return { rule: 'slice-thickness' };
  }

  const kernels = acquisition.convolutionKernels;
  if (kernels.length === 0) return null;
  for (const kernel of kernels) {
    const denied = firstMatch(rules.convolutionKernel.denyPatterns, kernel);
    if (denied !== null) return { rule: 'convolution-kernel', pattern: denied.source };
  }
  const { allowPatterns } = rules.convolutionKernel;
  if (allowPatterns.length > 0 && kernels.every((kernel) => firstMatch(allowPatterns, kernel) === null)) {
    return { rule: 'convolution-kernel' };
  }
  return null;
}

function delayRankOf(acquisition: SeriesAcquisition | null, window: ValueRange): 0 | 1 | 2 {
  const delay = acquisition?.acquisitionDelaySeconds ?? null;
  if (delay === null) return 1;
  return delay >= window.min && delay <= window.max ? 0 : 2;
}

/** Orders by the ranking keys of the module header; negative when `a` ranks higher. */
function compareEvaluated(a: EvaluatedSeries<RuleSeries>, b: EvaluatedSeries<RuleSeries>): number {
  for (const key of RANKING_KEYS) {
    const order = key.compare(a, b);
    if (order !== 0) return order;
  }
  return 0;
}

/** Returns the first ranking key on which `lower` ranks below `higher`. */
function losingKey(
  higher: EvaluatedSeries<RuleSeries>,
  lower: EvaluatedSeries<RuleSeries>,
): SeriesRankingRule {
  for (const key of RANKING_KEYS) {
    if (key.compare(higher, lower) < 0) return key.rule;
  }
  // Equal on every key means the same SeriesInstanceUID listed twice by the PACS.
  return 'series-instance-uid';
}

const RANKING_KEYS: readonly {
  readonly rule: SeriesRankingRule;
  readonly compare: (a: EvaluatedSeries<RuleSeries>, b: EvaluatedSeries<RuleSeries>) => number;
}[] = [
  {
    rule: 'arterial-phase-description',
    compare: (a, b) => Number(b.arterialPattern !== null) - Number(a.arterialPattern !== null),
  },
  { rule: 'acquisition-delay', compare: (a, b) => a.delayRank - b.delayRank },
  {
    rule: 'instance-count',
    compare: (a, b) => (b.series.instanceCount ?? 0) - (a.series.instanceCount ?? 0),
  },
  {
    rule: 'series-number',
    compare: (a, b) =>
      (a.series.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.series.seriesNumber ?? Number.MAX_SAFE_INTEGER),
  },
  {
    rule: 'series-instance-uid',
    compare: (a, b) => compareStrings(a.series.seriesInstanceUid, b.series.seriesInstanceUid),
  },
];

function candidateAttributes(
  item: EvaluatedSeries<RuleSeries>,
): Omit<SeriesCandidate, 'outcome' | 'rule' | 'pattern'> {
  const { series, acquisition } = item;
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    seriesNumber: series.seriesNumber,
    seriesDescription: series.description,
    instanceCount: series.instanceCount,
    sliceThicknessMm: acquisition?.sliceThicknessMm ?? null,
    convolutionKernel:
      acquisition === null || acquisition.convolutionKernels.length === 0
        ? null
        : acquisition.convolutionKernels.join('\\'),
    contrastAgentRecorded: acquisition === null ? null : acquisition.contrastBolusAgent !== null,
    acquisitionDelaySeconds: acquisition?.acquisitionDelaySeconds ?? null,
  };
}

/** Orders strings by UTF-16 code units, independent of the locale. */
function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
