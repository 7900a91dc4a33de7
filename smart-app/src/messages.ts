/**
 * Every text the app shows, in English and Simplified Chinese, and the choice of language from a
 * BCP 47 tag.
 */

import { PENDING_POLL_LIMIT_MS, PENDING_POLL_MS } from './polling.js';

export type Locale = 'en' | 'zh-CN';

const POLL_SECONDS = PENDING_POLL_MS / 1000;
const POLL_LIMIT_MINUTES = PENDING_POLL_LIMIT_MS / 60_000;

/** A screen that replaces the result: a title and one or more paragraphs. */
export interface ScreenText {
  readonly title: string;
  readonly body: string;
}

export interface Messages {
  readonly appTitle: string;
  readonly loading: string;
  /** Label of the button that switches to the other language, written in that language. */
  readonly otherLanguage: string;
  readonly probabilityHeading: string;
  readonly probabilityLabel: string;
  readonly thresholdLabel: string;
  readonly probabilityChartLabel: (probability: string, threshold: string) => string;
  readonly classHigh: string;
  readonly classLow: string;
  readonly calibrated: (modelVersion: string) => string;
  /** Calibration cohort line: the cohort's description, its size and the date. */
  readonly calibrationCohort: (description: string, caseCount: number, date: string) => string;
  readonly syntheticCohort: string;
  readonly featuresHeading: string;
  readonly featureColumn: string;
  readonly regionColumn: string;
  readonly valueColumn: string;
  readonly contributionColumn: string;
  readonly contributionChartLabel: string;
  readonly regionTumour: string;
  readonly regionPeri: (dilationMm: number) => string;
  readonly seriesHeading: string;
  readonly openImages: string;
  readonly overlayHeading: string;
  readonly overlaySliderLabel: string;
  readonly overlayCaption: (
    position: number,
    count: number,
    tumourVoxels: number,
    levelHu: number,
    widthHu: number,
  ) => string;
  readonly overlayAlt: (position: number, count: number) => string;
  readonly overlayUnavailable: (status: number) => string;
  readonly seriesReason: Readonly<Record<string, string>>;
  readonly seriesLine: (description: string, seriesNumber: string) => string;
  readonly evidenceHeading: string;
  readonly aucDevelopment: string;
  readonly aucExternal: string;
  readonly confidenceInterval: (level: number) => string;
  readonly hazardRatioHeading: string;
  readonly hazardRatioChartLabel: string;
  readonly intendedUseHeading: string;
  readonly limitationsHeading: string;
  readonly citationHeading: string;
  readonly modelCardUnavailable: (status: number) => string;
  readonly sessionExpired: ScreenText;
  readonly missingPatient: ScreenText;
  readonly pending: ScreenText;
  readonly failed: (code: string) => ScreenText;
  readonly uncalibrated: ScreenText;
  readonly coefficientsMissing: ScreenText;
  readonly notFound: ScreenText;
  readonly forbidden: ScreenText;
  readonly otherPatient: ScreenText;
  readonly serviceError: (status: number) => ScreenText;
  readonly launchFailed: ScreenText;
  readonly scaledColumn: string;
  readonly scaledNotStored: string;
  /** A series named in a sentence, from its SeriesNumber and SeriesDescription. */
  readonly seriesName: (description: string, seriesNumber: string) => string;
  readonly seriesChoiceLegend: string;
  readonly seriesDescriptionColumn: string;
  readonly seriesNumberColumn: string;
  readonly seriesImagesColumn: string;
  readonly seriesThicknessColumn: string;
  readonly seriesKernelColumn: string;
  readonly seriesOutcomeColumn: string;
  readonly seriesOutcome: Readonly<Record<'chosen' | 'ranked' | 'excluded', string>>;
  /** Key on which a ranked series lost to the series ranked just above it. */
  readonly seriesRankedRule: Readonly<Record<string, string>>;
  /** Rule that excluded a series; `pattern` is the configured pattern that matched, when known. */
  readonly seriesExcludedRule: (rule: string, pattern: string | undefined) => string;
  readonly seriesCandidatesUnavailable: string;
  readonly analyseSeries: string;
  readonly analyseSeriesHint: string;
  readonly confirmAnalysisTitle: string;
  readonly confirmAnalysisBody: (series: string) => string;
  readonly confirmExcludedSeries: (rule: string) => string;
  readonly confirmAnalysis: string;
  readonly cancel: string;
  /** Why `POST /api/analyses` failed, from the HTTP status (0: no response) and the error code. */
  readonly analysisRequestFailed: (status: number, code: string | undefined) => string;
  readonly requestedPending: (series: string) => ScreenText;
  readonly requestedResultLabel: (series: string) => string;
  readonly requestedSeriesInvalid: string;
  readonly requestedSegmentationMissing: string;
  readonly backToAutomatic: string;
  /** A standalone launch (no `iss`, no `launch`) on a service without `smartApp.standaloneFhirBaseUrl`. */
  readonly standaloneNotConfigured: ScreenText;
  /** A launch without an analysis id found no stored analysis of the patient's studies. */
  readonly noEligibleStudy: ScreenText;
  /** A launch whose `iss` is not under the service's `fhir.allowedBaseUrls`. */
  readonly fhirServerNotAllowed: ScreenText;
  /** A viewer launch whose `studyInstanceUid` is not a DICOM UID. */
  readonly invalidStudyUid: ScreenText;
  readonly serviceUnreachable: ScreenText;
  readonly serviceMalformed: ScreenText;
  readonly connectionBlocked: ScreenText;
  /** Shown when an analysis is still pending or running after the app stopped reading it again. */
  readonly stillRunning: (minutes: number) => ScreenText;
  readonly checkAgain: string;
  /** Label before the action of a failure, e.g. "What to do:". */
  readonly failureActionLabel: string;
  /** Summary of the disclosure that contains the failure code and the service's English message. */
  readonly technicalDetails: string;
}

const EN: Messages = {
  appTitle: 'NQO1 expression risk',
  loading: 'Loading the analysis…',
  otherLanguage: '中文',
  probabilityHeading: 'Probability of high NQO1 expression',
  probabilityLabel: 'Probability',
  thresholdLabel: 'Threshold',
  probabilityChartLabel: (probability, threshold) =>
    `Probability ${probability} against the threshold ${threshold}`,
  classHigh: 'Likely high NQO1 expression',
  classLow: 'Likely low NQO1 expression',
  calibrated: (modelVersion) => `The model is calibrated for this site (model version ${modelVersion}).`,
  calibrationCohort: (description, caseCount, date) =>
    `Calibrated on ${caseCount} cases on ${date}: ${description}`,
  syntheticCohort:
    'This calibration comes from generated demonstration data. The probability is not for clinical use.',
  featuresHeading: 'Radiomic features',
  featureColumn: 'Feature',
  regionColumn: 'Region',
  valueColumn: 'Value',
  contributionColumn: 'Contribution (log-odds)',
  contributionChartLabel:
    'Bar chart of each feature’s contribution: bars to the right raise the probability, bars to the left lower it',
  regionTumour: 'Tumour',
  regionPeri: (dilationMm) => `Peritumoral ring (${dilationMm} mm)`,
  seriesHeading: 'CT series analysed',
  openImages: 'Open images in the viewer',
  overlayHeading: 'Regions on the CT',
  overlaySliderLabel: 'Slice',
  overlayCaption: (position, count, tumourVoxels, levelHu, widthHu) =>
    `Slice ${position} of ${count}: ${tumourVoxels} tumour voxels; window level ${levelHu} HU, width ${widthHu} HU. ` +
    'The tumour outline and the peritumoral ring are drawn from the masks the features used.',
  overlayAlt: (position, count) =>
    `Axial CT slice ${position} of ${count} with the tumour outline and the peritumoral ring`,
  overlayUnavailable: (status) => `The region picture could not be loaded (HTTP ${status}).`,
  seriesReason: {
    'arterial-phase-description': 'Chosen because its description names the arterial phase.',
    'acquisition-delay': 'Chosen because it was acquired within the arterial delay after contrast injection.',
    'most-instances': 'Chosen because no series was marked arterial and it has the most images.',
    requested: 'Chosen by a user in this app.',
  },
  seriesLine: (description, seriesNumber) => `Series ${seriesNumber}: ${description}`,
  evidenceHeading: 'Evidence from the model card',
  aucDevelopment: 'AUC, development cohort',
  aucExternal: 'AUC, external validation cohort',
  confidenceInterval: (level) => `${Math.round(level * 100)} % CI`,
  hazardRatioHeading: 'Hazard ratio for overall survival, high against low NQO1 expression',
  hazardRatioChartLabel: 'Forest plot of the hazard ratios with their confidence intervals',
  intendedUseHeading: 'Intended use',
  limitationsHeading: 'Limitations',
  citationHeading: 'Source',
  modelCardUnavailable: (status) =>
    `The model card could not be loaded (HTTP ${status}), so its evidence is not shown.`,
  sessionExpired: {
    title: 'Session expired',
    body: 'The sign-in of this app has expired or is missing. Open the app again from the EHR.',
  },
  missingPatient: {
    title: 'No patient selected',
    body: "The EHR launched the app without a patient. Open the app from a patient's record.",
  },
  pending: {
    title: 'Analysis in progress',
    body: `The CT study is still being analysed. This page checks again every ${POLL_SECONDS} seconds, for up to ${POLL_LIMIT_MINUTES} minutes.`,
  },
  failed: (code) => ({
    title: 'Analysis failed',
    body: `The service could not analyse this study (${code}).`,
  }),
  uncalibrated: {
    title: 'No probability: the model is not calibrated for this site',
    body:
      'The features below were computed, but the model card has no site scaling, so no probability ' +
      'or class is shown. The site must calibrate the model on its own cohort first.',
  },
  coefficientsMissing: {
    title: 'No probability: the model card lacks coefficients',
    body:
      'The features below were computed, but the model card has no coefficient for every feature, ' +
      'so no probability or class is shown.',
  },
  notFound: {
    title: 'Analysis not found',
    body: 'The service has no analysis with this id. Open the app again from the current NQO1 card.',
  },
  forbidden: {
    title: 'Access denied',
    body: "Your FHIR access does not include this patient's imaging study.",
  },
  otherPatient: {
    title: 'Result of another patient',
    body:
      'This analysis belongs to another patient than the record the app was opened from, so it is not ' +
      "shown. Open the app from the NQO1 card in that patient's record.",
  },
  serviceError: (status) => ({
    title: 'The service could not return the analysis',
    body: `The service responded with HTTP ${status}. Try again later; if it persists, tell hospital IT.`,
  }),
  launchFailed: {
    title: 'The app could not start',
    body: 'The SMART launch failed. Open the app from the EHR, which passes the FHIR server and launch context.',
  },
  scaledColumn: 'Scaled value (z)',
  scaledNotStored:
    'Scaled values are shown as a dash because this result was stored before the service recorded them. ' +
    'Each contribution is the coefficient times the scaled value.',
  seriesName: (description, seriesNumber) => `series ${seriesNumber} (${description})`,
  seriesChoiceLegend: 'CT series of the study',
  seriesDescriptionColumn: 'Description',
  seriesNumberColumn: 'Series number',
  seriesImagesColumn: 'Images',
  seriesThicknessColumn: 'Slice thickness',
  seriesKernelColumn: 'Kernel',
  seriesOutcomeColumn: 'Outcome of the series rules',
  seriesOutcome: { chosen: 'Analysed', ranked: 'Ranked lower', excluded: 'Excluded' },
  seriesRankedRule: {
    'arterial-phase-description': 'The series above it has a description that names the arterial phase.',
    'acquisition-delay':
      'The series above it was acquired within the arterial delay after contrast injection.',
    'instance-count': 'The series above it has more images.',
    'series-number': 'Same number of images; the series above it has a lower series number.',
    'series-instance-uid': 'Equal on every other rule; ordered by Series Instance UID.',
  },
  seriesExcludedRule: (rule, pattern) => {
    const matched = pattern === undefined ? '' : ` (pattern ${pattern})`;
    switch (rule) {
      case 'non-contrast-description':
        return `Its description names a phase without contrast${matched}.`;
      case 'no-contrast-agent':
        return 'It records no contrast agent, although another CT series of the study does.';
      case 'slice-thickness':
        return 'Its slice thickness is outside the range the site configured.';
      case 'convolution-kernel':
        return `Its convolution kernel is not one the site allows${matched}.`;
      default:
        return `Excluded by the rule ${rule}.`;
    }
  },
  seriesCandidatesUnavailable:
    'The list of CT series is not available for this result, because it was stored before the service ' +
    'recorded the series it considered, so another series cannot be chosen here.',
  analyseSeries: 'Analyse this series',
  analyseSeriesHint: 'Select another series in the table to analyse it instead.',
  confirmAnalysisTitle: 'Analyse another series?',
  confirmAnalysisBody: (series) =>
    `The service will analyse ${series} with the same model. It needs a tumour segmentation (SEG or ` +
    'RTSTRUCT) that references this series, and reports a failure without one. This page shows the result when it is done. ' +
    'The automatic result stays as it is, and the new result is not written to the chart.',
  confirmExcludedSeries: (rule) =>
    `The series rules excluded this series: ${rule} The result may not be valid.`,
  confirmAnalysis: 'Start the analysis',
  cancel: 'Cancel',
  analysisRequestFailed: (status, code) => {
    if (code === 'ERR_REQUESTED_SERIES_INVALID')
      return 'The service rejected the series: it is not a CT series of this study. Choose another series.';
    switch (status) {
      case 0:
        return 'The service could not be reached. Check the network connection and try again.';
      case 400:
        return `The service rejected the request as invalid (${code ?? 'HTTP 400'}). Open the app again from the EHR; if it persists, tell hospital IT.`;
      case 401:
        return 'Your sign-in has expired. Open the app again from the EHR.';
      case 403:
        return "Your FHIR access does not include this patient's imaging study, so the service may not analyse it for you.";
      case 409:
        return 'The study is linked to more than one patient record, so nothing was analysed. Ask hospital IT to check which patient it belongs to.';
      case 502:
        return 'The service could not check your access with the FHIR server. Try again in a minute.';
      case 504:
        return 'The FHIR server did not respond in time. Try again in a minute.';
      default:
        return `The service responded with HTTP ${status}. Try again later; if it persists, tell hospital IT.`;
    }
  },
  requestedPending: (series) => ({
    title: 'Analysing the series you requested',
    body: `The service is analysing ${series}. This page checks again every 3 seconds.`,
  }),
  requestedResultLabel: (series) =>
    `Result for the series you requested, ${series}, in place of the automatic choice.`,
  requestedSeriesInvalid:
    'The requested series is not a CT series of this study, or the PACS no longer has it. Go back to the ' +
    'automatic result and choose another series.',
  requestedSegmentationMissing:
    'No tumour segmentation (SEG or RTSTRUCT) in the study references the requested series, so its features ' +
    'cannot be computed. Segment the tumour on this series and store the segmentation in the study, or go ' +
    'back to the automatic result.',
  backToAutomatic: 'Back to the automatic result',
  standaloneNotConfigured: {
    title: 'Standalone launch is not set up',
    body:
      'The app was opened outside the EHR, without a FHIR server to connect to. Open it from the EHR, ' +
      'or ask hospital IT to set smartApp.standaloneFhirBaseUrl in the NQO1 CDS configuration to the ' +
      "EHR's FHIR base URL, which must also be listed in fhir.allowedBaseUrls.",
  },
  noEligibleStudy: {
    title: 'No analysed CT study',
    body:
      'The service has no NQO1 analysis of a CT study of this patient that your access covers. An ' +
      "analysis starts when the patient's record is opened in the EHR and a CT study with a tumour " +
      'segmentation is found. Open the app again from the NQO1 card once it shows a result.',
  },
  fhirServerNotAllowed: {
    title: 'FHIR server not allowed',
    body:
      'The app was opened for a FHIR server that this NQO1 CDS service does not accept, so it did not ' +
      'sign in there. Open the app from the EHR. If the EHR opened it, ask hospital IT to add the ' +
      "EHR's FHIR base URL to fhir.allowedBaseUrls.",
  },
  invalidStudyUid: {
    title: 'Invalid study UID from the image viewer',
    body:
      'The image viewer opened the app with a study UID that is not a DICOM UID (digits and dots, at most ' +
      '64 characters), so the app cannot tell which study to show. Open the app again from the study in ' +
      'the viewer; if this repeats, ask hospital IT to check the viewer button.',
  },
  serviceUnreachable: {
    title: 'The NQO1 service cannot be reached',
    body: 'The app got no response from the NQO1 service. Try again in a few minutes; if it persists, tell hospital IT.',
  },
  serviceMalformed: {
    title: 'The service sent an unreadable response',
    body:
      'The NQO1 service answered, but not with the analysis this app expects. A proxy may have answered ' +
      'in its place. Try again later; if it persists, tell hospital IT.',
  },
  stillRunning: (minutes) => ({
    title: 'Analysis still running',
    body:
      `The analysis has not finished after ${minutes} minutes, so this page stopped checking. It may still ` +
      'finish: check again later, or tell hospital IT if it never does.',
  }),
  connectionBlocked: {
    title: 'The browser blocked the sign-in',
    body:
      "The app's security policy does not allow the EHR's sign-in server, so the browser blocked the " +
      "token request. Tell hospital IT to add that server's origin to the setting " +
      'smartApp.authorizationServerOrigins.',
  },
  checkAgain: 'Check again',
  failureActionLabel: 'What to do:',
  technicalDetails: 'Technical details for hospital IT',
};

const ZH_CN: Messages = {
  appTitle: 'NQO1 表达风险',
  loading: '正在加载分析结果…',
  otherLanguage: 'English',
  probabilityHeading: 'NQO1 高表达概率',
  probabilityLabel: '概率',
  thresholdLabel: '阈值',
  probabilityChartLabel: (probability, threshold) => `概率 ${probability}，阈值 ${threshold}`,
  classHigh: '可能为 NQO1 高表达',
  classLow: '可能为 NQO1 低表达',
  calibrated: (modelVersion) => `模型已按本院校准（模型版本 ${modelVersion}）。`,
  calibrationCohort: (description, caseCount, date) =>
    `于 ${date} 以 ${caseCount} 例病例校准：${description}`,
  syntheticCohort: '此校准来自生成的演示数据，所得概率不可用于临床。',
  featuresHeading: '影像组学特征',
  featureColumn: '特征',
  regionColumn: '区域',
  valueColumn: '数值',
  contributionColumn: '贡献（对数几率）',
  contributionChartLabel: '各特征贡献的条形图：向右的条提高概率，向左的条降低概率',
  regionTumour: '肿瘤',
  regionPeri: (dilationMm) => `瘤周环（${dilationMm} mm）`,
  seriesHeading: '分析的 CT 序列',
  openImages: '在阅片器中打开图像',
  overlayHeading: 'CT 上的分析区域',
  overlaySliderLabel: '层面',
  overlayCaption: (position, count, tumourVoxels, levelHu, widthHu) =>
    `第 ${position} / ${count} 层：肿瘤体素 ${tumourVoxels} 个；窗位 ${levelHu} HU，窗宽 ${widthHu} HU。` +
    '肿瘤轮廓和瘤周环取自特征计算所用的掩膜。',
  overlayAlt: (position, count) => `第 ${position} / ${count} 层轴位 CT，显示肿瘤轮廓和瘤周环`,
  overlayUnavailable: (status) => `无法加载区域图像（HTTP ${status}）。`,
  seriesReason: {
    'arterial-phase-description': '选择原因：序列描述注明为动脉期。',
    'acquisition-delay': '选择原因：采集时间位于注射对比剂后的动脉期延迟窗口内。',
    'most-instances': '选择原因：没有序列标注为动脉期，该序列图像最多。',
    requested: '由用户在本应用中选择。',
  },
  seriesLine: (description, seriesNumber) => `序列 ${seriesNumber}：${description}`,
  evidenceHeading: '模型卡中的证据',
  aucDevelopment: 'AUC（建模队列）',
  aucExternal: 'AUC（外部验证队列）',
  confidenceInterval: (level) => `${Math.round(level * 100)}% 置信区间`,
  hazardRatioHeading: '总生存期风险比（NQO1 高表达对比低表达）',
  hazardRatioChartLabel: '风险比及其置信区间的森林图',
  intendedUseHeading: '预期用途',
  limitationsHeading: '局限性',
  citationHeading: '来源',
  modelCardUnavailable: (status) => `无法加载模型卡（HTTP ${status}），因此未显示其证据。`,
  sessionExpired: {
    title: '会话已过期',
    body: '本应用的登录已过期或不存在。请从 EHR 重新打开本应用。',
  },
  missingPatient: {
    title: '未选择患者',
    body: 'EHR 启动本应用时未指定患者。请从患者病历中打开本应用。',
  },
  pending: {
    title: '分析进行中',
    body: `该 CT 检查仍在分析中。本页面每 ${POLL_SECONDS} 秒自动重新查询，最长 ${POLL_LIMIT_MINUTES} 分钟。`,
  },
  failed: (code) => ({
    title: '分析失败',
    body: `服务无法分析该检查（${code}）。`,
  }),
  uncalibrated: {
    title: '无概率：模型尚未按本院校准',
    body: '已计算下列特征，但模型卡不含本院的标准化参数，因此不显示概率和分类。须先用本院病例完成校准。',
  },
  coefficientsMissing: {
    title: '无概率：模型卡缺少系数',
    body: '已计算下列特征，但模型卡并非每个特征都有系数，因此不显示概率和分类。',
  },
  notFound: {
    title: '未找到分析',
    body: '服务中没有该编号的分析。请从当前的 NQO1 卡片重新打开本应用。',
  },
  forbidden: {
    title: '无访问权限',
    body: '您的 FHIR 访问权限不包括该患者的影像检查。',
  },
  otherPatient: {
    title: '其他患者的结果',
    body: '该分析属于另一位患者，而非打开本应用时所在的病历，因此不予显示。请从该患者病历中的 NQO1 卡片打开本应用。',
  },
  serviceError: (status) => ({
    title: '服务无法返回分析结果',
    body: `服务返回 HTTP ${status}。请稍后重试；如持续出现，请联系医院信息科。`,
  }),
  launchFailed: {
    title: '应用无法启动',
    body: 'SMART 启动失败。请从 EHR 打开本应用，EHR 会传递 FHIR 服务器和启动上下文。',
  },
  scaledColumn: '标准化值（z）',
  scaledNotStored:
    '标准化值显示为短横线，因为该结果保存于服务开始记录标准化值之前。每项贡献等于系数乘以标准化值。',
  seriesName: (description, seriesNumber) => `序列 ${seriesNumber}（${description}）`,
  seriesChoiceLegend: '该检查的 CT 序列',
  seriesDescriptionColumn: '描述',
  seriesNumberColumn: '序列号',
  seriesImagesColumn: '图像数',
  seriesThicknessColumn: '层厚',
  seriesKernelColumn: '重建核',
  seriesOutcomeColumn: '序列规则的结果',
  seriesOutcome: { chosen: '已分析', ranked: '排序靠后', excluded: '已排除' },
  seriesRankedRule: {
    'arterial-phase-description': '排在其前的序列描述注明为动脉期。',
    'acquisition-delay': '排在其前的序列采集时间位于注射对比剂后的动脉期延迟窗口内。',
    'instance-count': '排在其前的序列图像更多。',
    'series-number': '图像数相同；排在其前的序列序列号更小。',
    'series-instance-uid': '其他规则均相同；按序列实例 UID 排序。',
  },
  seriesExcludedRule: (rule, pattern) => {
    const matched = pattern === undefined ? '' : `（匹配模式 ${pattern}）`;
    switch (rule) {
      case 'non-contrast-description':
        return `序列描述注明为非增强期相${matched}。`;
      case 'no-contrast-agent':
        return '该序列未记录对比剂，而该检查的其他 CT 序列记录了对比剂。';
      case 'slice-thickness':
        return '层厚不在本院配置的范围内。';
      case 'convolution-kernel':
        return `重建核不在本院允许的范围内${matched}。`;
      default:
        return `被规则 ${rule} 排除。`;
    }
  },
  seriesCandidatesUnavailable:
    '该结果没有 CT 序列列表，因为它保存于服务开始记录候选序列之前，因此无法在此选择其他序列。',
  analyseSeries: '分析此序列',
  analyseSeriesHint: '在表格中选择另一个序列即可改为分析该序列。',
  confirmAnalysisTitle: '分析另一个序列？',
  confirmAnalysisBody: (series) =>
    `服务将使用同一模型分析${series}。分析需要引用该序列的肿瘤分割（SEG 或 RTSTRUCT），没有则报告失败。分析完成后本页面显示结果。自动分析结果保持不变，新结果不会写入病历。`,
  confirmExcludedSeries: (rule) => `序列规则已排除此序列：${rule}结果可能无效。`,
  confirmAnalysis: '开始分析',
  cancel: '取消',
  analysisRequestFailed: (status, code) => {
    if (code === 'ERR_REQUESTED_SERIES_INVALID')
      return '服务拒绝了该序列：它不是该检查中的 CT 序列。请选择其他序列。';
    switch (status) {
      case 0:
        return '无法连接服务。请检查网络连接后重试。';
      case 400:
        return `服务认为该请求无效（${code ?? 'HTTP 400'}）。请从 EHR 重新打开本应用；如持续出现，请联系医院信息科。`;
      case 401:
        return '您的登录已过期。请从 EHR 重新打开本应用。';
      case 403:
        return '您的 FHIR 访问权限不包括该患者的影像检查，因此服务不能为您分析。';
      case 409:
        return '该检查关联了不止一份患者病历，因此未进行分析。请联系医院信息科核实检查所属患者。';
      case 502:
        return '服务无法通过 FHIR 服务器核实您的访问权限。请一分钟后重试。';
      case 504:
        return 'FHIR 服务器未及时响应。请一分钟后重试。';
      default:
        return `服务返回 HTTP ${status}。请稍后重试；如持续出现，请联系医院信息科。`;
    }
  },
  requestedPending: (series) => ({
    title: '正在分析您选择的序列',
    body: `服务正在分析${series}。本页面每 3 秒自动重新查询。`,
  }),
  requestedResultLabel: (series) => `此为您选择的${series}的结果，而非自动选择的序列。`,
  requestedSeriesInvalid:
    '所请求的序列不是该检查中的 CT 序列，或 PACS 中已无该序列。请返回自动分析结果并选择其他序列。',
  requestedSegmentationMissing:
    '该检查中没有引用所请求序列的肿瘤分割（SEG 或 RTSTRUCT），因此无法计算其特征。请在该序列上分割肿瘤并将分割存入该检查，或返回自动分析结果。',
  backToAutomatic: '返回自动分析结果',
  standaloneNotConfigured: {
    title: '未配置独立启动',
    body:
      '本应用在 EHR 之外打开，没有可连接的 FHIR 服务器。请从 EHR 打开本应用，或请医院信息科在 NQO1 CDS ' +
      '配置中将 smartApp.standaloneFhirBaseUrl 设为 EHR 的 FHIR 基础 URL，该 URL 也须列于 fhir.allowedBaseUrls 中。',
  },
  noEligibleStudy: {
    title: '无已分析的 CT 检查',
    body:
      '服务中没有您有权访问的该患者 CT 检查的 NQO1 分析。在 EHR 中打开患者病历并找到带肿瘤分割的 CT 检查时，' +
      '分析会自动开始。待 NQO1 卡片显示结果后，请从卡片重新打开本应用。',
  },
  fhirServerNotAllowed: {
    title: 'FHIR 服务器未获允许',
    body:
      '本应用被要求连接一个本 NQO1 CDS 服务不接受的 FHIR 服务器，因此未在该服务器登录。请从 EHR 打开本应用。' +
      '如果正是 EHR 打开的，请医院信息科将 EHR 的 FHIR 基础 URL 加入 fhir.allowedBaseUrls。',
  },
  invalidStudyUid: {
    title: '影像浏览器传来的检查 UID 无效',
    body: '影像浏览器打开本应用时传来的检查 UID 不是 DICOM UID（仅含数字和点，最多 64 个字符），本应用无法确定要显示的检查。请从浏览器中的该检查重新打开本应用；如反复出现，请医院信息科检查浏览器按钮。',
  },
  serviceUnreachable: {
    title: '无法连接 NQO1 服务',
    body: '本应用未收到 NQO1 服务的响应。请几分钟后重试；如持续出现，请联系医院信息科。',
  },
  serviceMalformed: {
    title: '服务返回了无法读取的响应',
    body: 'NQO1 服务有响应，但不是本应用所需的分析结果，可能是代理服务器代为响应。请稍后重试；如持续出现，请联系医院信息科。',
  },
  stillRunning: (minutes) => ({
    title: '分析仍在进行',
    body: `分析在 ${minutes} 分钟后仍未完成，本页面已停止自动查询。分析可能仍会完成：请稍后再次查询；如始终未完成，请联系医院信息科。`,
  }),
  connectionBlocked: {
    title: '浏览器阻止了登录',
    body: '本应用的安全策略未允许 EHR 的登录服务器，因此浏览器阻止了令牌请求。请联系医院信息科，将该服务器的源添加到设置项 smartApp.authorizationServerOrigins 中。',
  },
  checkAgain: '再次查询',
  failureActionLabel: '处理办法：',
  technicalDetails: '供医院信息科参考的技术细节',
};

/** Returns the messages of `locale`. */
export function messagesFor(locale: Locale): Messages {
  return locale === 'zh-CN' ? ZH_CN : EN;
}

/**
 * Returns `zh-CN` for a tag of Simplified Chinese (`zh`, `zh-CN`, `zh-SG`, any `zh-Hans-*`), and `en`
 * for any other tag, including Traditional Chinese (`zh-Hant`, `zh-TW`, `zh-HK`, `zh-MO`), or none.
 */
export function resolveLocale(tag: string | undefined): Locale {
  if (tag === undefined) return 'en';
  const parts = tag.toLowerCase().split(/[-_]/);
  if (parts[0] !== 'zh') return 'en';
  if (parts.includes('hans')) return 'zh-CN';
  if (parts.includes('hant') || parts.includes('tw') || parts.includes('hk') || parts.includes('mo'))
    return 'en';
  return 'zh-CN';
}
