/**
 * Every user-facing string of the NQO1 risk card, in English and Simplified Chinese. Card code
 * picks a {@link CardMessages} by locale and never writes text of its own.
 */

import type { SeriesExclusionRule, SeriesSelectionReason } from '../../src/model/result.js';
import type { Locale } from '../../src/server/config.js';

/** Category of a failed analysis, grouped by what the clinician or IT can do about it. */
export type FailureKind =
  'segmentation' | 'series' | 'model' | 'images-unavailable' | 'write-back' | 'unavailable';

/** Reason a finished result carries no probability (mirrors `ScoreResult.probabilityUnavailableReason`). */
export type NoProbabilityReason = 'uncalibrated' | 'coefficients-missing';

/**
 * Code of a reason a clinician may give for dismissing a result card. Each code names a way the
 * result can be wrong or useless for this patient, so feedback shows what to fix.
 */
export type OverrideReasonCode =
  'segmentation-incorrect' | 'wrong-series-or-phase' | 'not-relevant-to-patient' | 'already-known';

/** Facts of the CT series choice that a result card states (from `provenance.seriesSelection`). */
export interface SeriesLineFacts {
  readonly seriesNumber: number | null;
  /** SeriesDescription with backticks removed, or '' when the series has none. */
  readonly description: string;
  readonly instanceCount: number | null;
  readonly ctSeriesCount: number;
  readonly reason: SeriesSelectionReason;
  /** Number of CT series the rules excluded, and their distinct rules in first-seen order. */
  readonly excludedCount: number;
  readonly excludedRules: readonly SeriesExclusionRule[];
}

export interface CardMessages {
  readonly sourceLabel: string;
  readonly topicDisplay: string;
  readonly smartLinkLabel: string;
  readonly viewerLinkLabel: string;
  readonly inProgressSummary: string;
  readonly inProgressDetail: string;
  readonly likelyHighSummary: (probability: string) => string;
  readonly likelyLowSummary: (probability: string) => string;
  /** Summary of a result without probability, by the reason it has none. */
  readonly featuresOnlySummary: Readonly<Record<NoProbabilityReason, string>>;
  readonly probabilityLine: (probability: string, threshold: string, atOrAbove: boolean) => string;
  /** Prognosis line when the model card carries no hazard-ratio evidence. */
  readonly highRiskContext: string;
  /** Prognosis line from the model card's hazard-ratio evidence: its description and estimate. */
  readonly hazardRatioLine: (description: string, estimate: string, cohort: string) => string;
  readonly noProbability: Readonly<Record<NoProbabilityReason, string>>;
  readonly featureTableHeader: readonly [feature: string, region: string, value: string];
  readonly regionNames: Readonly<Record<'tumour' | 'peri', string>>;
  readonly modelLine: (title: string, version: string) => string;
  readonly studyLine: (studyInstanceUid: string) => string;
  /** Line naming the analysed CT series, the reason for it and the series the rules excluded. */
  readonly seriesLine: (facts: SeriesLineFacts) => string;
  readonly citationLine: (citation: string) => string;
  readonly decisionSupportNote: string;
  readonly failureSummary: Readonly<Record<FailureKind, string>>;
  readonly failureDetail: Readonly<Record<FailureKind, string>>;
  /** When a failed analysis runs again, given `jobs.retryFailedAfterMs` in whole minutes. */
  readonly retryLine: (minutes: number) => string;
  readonly failureCodeLine: (code: string) => string;
  /** Card shown when the study's stored analysis was computed for another patient record. */
  readonly patientConflictSummary: string;
  readonly patientConflictDetail: string;
  /** First line of a result shown for an older study while the newest one is analysed; dates as given. */
  readonly olderStudyLine: (resultStudyDate: string, newestStudyDate: string) => string;
  /** Stands for the date of a study without `started`. */
  readonly unknownStudyDate: string;
  /** Display text of each override reason, shown by the EHR when a clinician dismisses a card. */
  readonly overrideReasons: Readonly<Record<OverrideReasonCode, string>>;
}

const en: CardMessages = {
  sourceLabel: 'NQO1 CDS · BR-RO radiomics model',
  topicDisplay: 'NQO1 expression risk',
  smartLinkLabel: 'Open the NQO1 analysis',
  viewerLinkLabel: 'View the study in the image viewer',
  inProgressSummary: 'NQO1 risk: analysis of the liver CT in progress',
  inProgressDetail:
    'The arterial-phase CT of this patient is being analysed for the risk of high NQO1 expression. ' +
    'Reopen the chart in a few minutes to see the result.',
  likelyHighSummary: (probability) => `NQO1 expression likely high (probability ${probability})`,
  likelyLowSummary: (probability) => `NQO1 expression likely low (probability ${probability})`,
  featuresOnlySummary: {
    uncalibrated: 'NQO1 radiomic features measured; a probability needs site calibration',
    'coefficients-missing': 'NQO1 radiomic features measured; a probability needs the model coefficients',
  },
  probabilityLine: (probability, threshold, atOrAbove) =>
    `Probability of high NQO1 expression: **${probability}** (threshold ${threshold}), ` +
    `${atOrAbove ? 'at or above' : 'below'} the threshold.`,
  highRiskContext:
    'High NQO1 expression is an independent risk factor for worse overall survival in hepatocellular carcinoma.',
  hazardRatioLine: (description, estimate, cohort) => `${description} (${estimate}; ${cohort})`,
  noProbability: {
    uncalibrated:
      'A probability needs site calibration: the publication does not state how the features were scaled, ' +
      'so no probability is shown until this hospital calibrates the model on its own cohort.',
    'coefficients-missing':
      'No probability is shown because the model card lacks the coefficient of at least one feature; ' +
      'hospital IT can fit them on labelled local cases with nqo1-cds calibrate --cohort.',
  },
  featureTableHeader: ['Feature', 'Region', 'Value'],
  regionNames: { tumour: 'Tumour', peri: 'Tumour with margin' },
  modelLine: (title, version) => `Model: ${title}, version ${version}.`,
  studyLine: (studyInstanceUid) => `Study Instance UID: \`${studyInstanceUid}\``,
  seriesLine: (facts) => {
    const name = [facts.seriesNumber ?? '', facts.description === '' ? '' : `\`${facts.description}\``]
      .filter((part) => part !== '')
      .join(' ');
    const images = facts.instanceCount === null ? '' : `, ${facts.instanceCount} images`;
    const reason = {
      'arterial-phase-description': 'its description marks the arterial phase',
      'acquisition-delay': 'it was acquired within the arterial window after contrast injection',
      'most-instances': 'no series is marked as arterial phase, and it has the most images',
      requested: 'a user requested it in place of the automatic choice',
    }[facts.reason];
    const rules = facts.excludedRules
      .map(
        (rule) =>
          ({
            'non-contrast-description': 'described as non-contrast',
            'no-contrast-agent': 'no contrast agent recorded',
            'slice-thickness': 'slice thickness',
            'convolution-kernel': 'reconstruction kernel',
          })[rule],
      )
      .join(', ');
    const excluded =
      facts.excludedCount === 0 ? '' : ` Excluded by the series rules: ${facts.excludedCount} (${rules}).`;
    return (
      `CT series analysed: ${name === '' ? 'unnamed' : name}${images}, ` +
      `${facts.ctSeriesCount === 1 ? 'the only CT series' : `one of ${facts.ctSeriesCount} CT series`} in the study. ` +
      `Reason: ${reason}.${excluded}`
    );
  },
  citationLine: (citation) => `Source: ${citation}`,
  decisionSupportNote: 'This estimate supports, and does not replace, pathology and clinical judgement.',
  failureSummary: {
    segmentation: 'NQO1 risk not available: the liver CT has no usable tumour segmentation',
    series: 'NQO1 risk not available: no usable arterial-phase CT series',
    model: 'NQO1 risk not available: the model could not score this study',
    'images-unavailable': 'NQO1 risk not available: the CT images could not be retrieved from PACS',
    'write-back': 'NQO1 risk not available: the result could not be written to the chart',
    unavailable: 'NQO1 risk not available: the analysis failed',
  },
  failureDetail: {
    segmentation:
      'The analysis needs a segmentation of the tumour on the arterial-phase CT. Ask radiology to segment ' +
      'the lesion (DICOM SEG or RT Structure Set).',
    series:
      'The analysis needs an arterial-phase contrast-enhanced CT series with regular slice spacing. ' +
      'Check that the study in PACS contains that series.',
    model:
      'The features or the model card did not allow scoring. Hospital IT can find the details in the service log.',
    'images-unavailable':
      'The images of this study could not be retrieved from PACS: the image server did not respond, or ' +
      'returned fewer images than the study lists. If this persists, contact hospital IT.',
    'write-back':
      'The analysis finished, but its result could not be written to the patient chart because the FHIR ' +
      'server did not accept it. If this persists, contact hospital IT.',
    unavailable: 'An internal error occurred during the analysis. If this persists, contact hospital IT.',
  },
  retryLine: (minutes) =>
    `The analysis runs again when the chart is opened ${minutes} minute${minutes === 1 ? '' : 's'} or more after this failure.`,
  failureCodeLine: (code) => `Error code for hospital IT: \`${code}\``,
  patientConflictSummary: 'NQO1 risk not shown: this CT study is linked to more than one patient record',
  patientConflictDetail:
    'The Study Instance UID of this CT study is also linked to another patient record, so no result is ' +
    'shown here. Hospital IT must check which patient the study belongs to in PACS and in the EHR.',
  olderStudyLine: (resultStudyDate, newestStudyDate) =>
    `**This result is for an older study (${resultStudyDate}); the newest study (${newestStudyDate}) is being analysed.**`,
  unknownStudyDate: 'date not recorded',
  overrideReasons: {
    'segmentation-incorrect': 'Tumour segmentation is incorrect',
    'wrong-series-or-phase': 'Wrong CT series or contrast phase',
    'not-relevant-to-patient': 'Not relevant to this patient',
    'already-known': 'Already known',
  },
};

const zhCN: CardMessages = {
  sourceLabel: 'NQO1 CDS · BR-RO 影像组学模型',
  topicDisplay: 'NQO1 表达风险',
  smartLinkLabel: '查看 NQO1 分析详情',
  viewerLinkLabel: '在影像浏览器中查看该检查',
  inProgressSummary: 'NQO1 风险：正在分析肝脏 CT',
  inProgressDetail: '正在分析该患者的动脉期 CT，以评估 NQO1 高表达的风险。请几分钟后重新打开病历查看结果。',
  likelyHighSummary: (probability) => `NQO1 可能高表达（概率 ${probability}）`,
  likelyLowSummary: (probability) => `NQO1 可能低表达（概率 ${probability}）`,
  featuresOnlySummary: {
    uncalibrated: '已测得 NQO1 影像组学特征；需本院校准后才能给出概率',
    'coefficients-missing': '已测得 NQO1 影像组学特征；需填入模型系数后才能给出概率',
  },
  probabilityLine: (probability, threshold, atOrAbove) =>
    `NQO1 高表达概率：**${probability}**（阈值 ${threshold}），${atOrAbove ? '达到或高于' : '低于'}阈值。`,
  highRiskContext: 'NQO1 高表达是肝细胞癌总生存较差的独立危险因素。',
  hazardRatioLine: (description, estimate, cohort) => `${description}（${estimate}；${cohort}）`,
  noProbability: {
    uncalibrated:
      '需本院校准后才能给出概率：原文未说明特征的标准化方法，因此在本院用自有病例校准模型之前不显示概率。',
    'coefficients-missing':
      '模型卡缺少至少一个特征的系数，因此不显示概率；信息科可用 nqo1-cds calibrate --cohort 在本院有标签的病例上拟合系数。',
  },
  featureTableHeader: ['特征', '区域', '数值'],
  regionNames: { tumour: '肿瘤', peri: '肿瘤及外扩边缘' },
  modelLine: (title, version) => `模型：${title}，版本 ${version}。`,
  studyLine: (studyInstanceUid) => `检查实例 UID：\`${studyInstanceUid}\``,
  seriesLine: (facts) => {
    const name = [facts.seriesNumber ?? '', facts.description === '' ? '' : `\`${facts.description}\``]
      .filter((part) => part !== '')
      .join(' ');
    const images = facts.instanceCount === null ? '' : `，${facts.instanceCount} 幅图像`;
    const reason = {
      'arterial-phase-description': '序列描述标明为动脉期',
      'acquisition-delay': '采集时间处于注射对比剂后的动脉期时间窗内',
      'most-instances': '没有序列标明为动脉期，且该序列图像最多',
      requested: '用户指定了该序列，取代自动选择',
    }[facts.reason];
    const rules = facts.excludedRules
      .map(
        (rule) =>
          ({
            'non-contrast-description': '描述为平扫',
            'no-contrast-agent': '未记录对比剂',
            'slice-thickness': '层厚',
            'convolution-kernel': '重建卷积核',
          })[rule],
      )
      .join('、');
    const excluded =
      facts.excludedCount === 0 ? '' : `按序列规则排除 ${facts.excludedCount} 个（${rules}）。`;
    return (
      `分析的 CT 序列：${name === '' ? '未命名' : name}${images}，` +
      `${facts.ctSeriesCount === 1 ? '为本检查唯一的 CT 序列' : `为本检查 ${facts.ctSeriesCount} 个 CT 序列之一`}。` +
      `原因：${reason}。${excluded}`
    );
  },
  citationLine: (citation) => `来源：${citation}`,
  decisionSupportNote: '本结果仅辅助而不替代病理诊断和临床判断。',
  failureSummary: {
    segmentation: 'NQO1 风险暂无法评估：肝脏 CT 缺少可用的肿瘤分割',
    series: 'NQO1 风险暂无法评估：缺少可用的动脉期 CT 序列',
    model: 'NQO1 风险暂无法评估：模型无法为该检查评分',
    'images-unavailable': 'NQO1 风险暂无法评估：无法从 PACS 获取 CT 图像',
    'write-back': 'NQO1 风险暂无法评估：结果无法写入病历',
    unavailable: 'NQO1 风险暂无法评估：分析失败',
  },
  failureDetail: {
    segmentation: '分析需要动脉期 CT 上的肿瘤分割。请放射科勾画病灶（DICOM SEG 或 RT 结构集）。',
    series: '分析需要层间距规则的动脉期增强 CT 序列。请确认 PACS 中的该检查包含此序列。',
    model: '特征或模型卡不支持评分，信息科可在服务日志中查看详情。',
    'images-unavailable':
      '无法从 PACS 获取该检查的图像：影像服务器未响应，或返回的图像少于检查所列数量。如持续出现，请联系信息科。',
    'write-back': '分析已完成，但 FHIR 服务器未接受结果，因此无法写入患者病历。如持续出现，请联系信息科。',
    unavailable: '分析过程中发生内部错误。如持续出现，请联系信息科。',
  },
  retryLine: (minutes) => `本次失败 ${minutes} 分钟或更久之后再次打开病历时，将重新分析。`,
  failureCodeLine: (code) => `供信息科参考的错误代码：\`${code}\``,
  patientConflictSummary: 'NQO1 风险未显示：该 CT 检查关联了多个患者记录',
  patientConflictDetail:
    '该 CT 检查的检查实例 UID 同时关联了另一名患者的记录，因此此处不显示结果。' +
    '请信息科在 PACS 和电子病历中核实该检查属于哪位患者。',
  olderStudyLine: (resultStudyDate, newestStudyDate) =>
    `**此结果来自较早的检查（${resultStudyDate}）；最新的检查（${newestStudyDate}）正在分析中。**`,
  unknownStudyDate: '日期未记录',
  overrideReasons: {
    'segmentation-incorrect': '肿瘤分割不正确',
    'wrong-series-or-phase': 'CT 序列或增强期相选择错误',
    'not-relevant-to-patient': '与该患者无关',
    'already-known': '已知悉',
  },
};

export const CARD_MESSAGES: Readonly<Record<Locale, CardMessages>> = { en, 'zh-CN': zhCN };

/**
 * Language tags offered to `Accept-Language` negotiation and the locale each one selects. Express
 * (negotiator 1.1) matches a requested tag to an offered one only when the tags are equal or the
 * first subtag of one is the whole other tag. So `zh-Hans-CN` does not match `zh-Hans`, and the
 * script-and-region tags of Simplified Chinese are listed one by one. `zh` matches `zh-CN`, while
 * `zh-TW` and `zh-Hant` match none.
 */
const OFFERED_LANGUAGES: Readonly<Record<string, Locale>> = {
  en: 'en',
  'zh-CN': 'zh-CN',
  'zh-SG': 'zh-CN',
  'zh-Hans': 'zh-CN',
  'zh-Hans-CN': 'zh-CN',
  'zh-Hans-SG': 'zh-CN',
  'zh-Hans-MY': 'zh-CN',
  'zh-Hans-HK': 'zh-CN',
  'zh-Hans-MO': 'zh-CN',
};

/**
 * Picks the card locale: the `Accept-Language` choice when the header names a supported language,
 * else the configured default. `accepts` is Express's `req.acceptsLanguages`.
 */
export function negotiateLocale(
  acceptLanguage: string | undefined,
  accepts: (languages: string[]) => string | false,
  fallback: Locale,
): Locale {
  if (acceptLanguage === undefined || acceptLanguage.trim() === '' || acceptLanguage.trim() === '*')
    return fallback;
  const choice = accepts(Object.keys(OFFERED_LANGUAGES));
  return choice === false ? fallback : (OFFERED_LANGUAGES[choice] ?? fallback);
}
