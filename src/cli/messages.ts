/**
 * Text the command line prints for people, in English and Simplified Chinese. The language comes
 * from `--lang`, else from LC_ALL, LC_MESSAGES or LANG (a value starting with `zh` selects zh-CN).
 * JSON output and log lines stay in English.
 */
export type Locale = 'en' | 'zh-CN';

const MESSAGES = {
  en: {
    modelLine: 'Model',
    seriesLine: 'Series',
    regionLine: 'Regions',
    regionValue: 'tumour {tumour} voxels, tumour + {dilation} mm {peri} voxels, spacing {spacing} mm',
    featuresTitle: 'Features',
    probabilityLine: 'Probability of {positive}',
    classHigh: 'likely high NQO1 expression',
    classLow: 'likely low NQO1 expression',
    thresholdLine: 'threshold {threshold}',
    uncalibrated:
      'No probability: this model card has no site calibration. Run `nqo1-cds calibrate` on local cases first.',
    coefficientsMissing:
      'No probability: the model card lacks published coefficients for some features. Fit them on local cases with nqo1 classes: nqo1-cds calibrate --cohort.',
    calibrationProgress: '[{index}/{count}] {name}: {status} ({seconds} s)',
    calibrationWritten: 'Site card written to {path} ({count} cases, z-score with sample SD).',
    cohortInterrupted:
      'Interrupted. The features computed so far are kept in the features file; run the same command again to go on.',
    evaluationAuc: 'AUC {auc} (95% CI {lower}–{upper}, DeLong), {cases} cases, {positives} with high NQO1.',
    evaluationThreshold:
      'At threshold {threshold}: accuracy {accuracy}, sensitivity {sensitivity}, specificity {specificity}.',
    evaluationHosmerLemeshow: 'Hosmer–Lemeshow: statistic {statistic}, p = {p}.',
    evaluationHosmerLemeshowMissing:
      'Hosmer–Lemeshow and the calibration picture were not computed: {reason}',
    evaluationWrittenNoPictures:
      'Evaluation written to {path}/evaluation.json; the cohort allowed no picture.',
    calibrateRecalibrateIgnored:
      '--recalibrate adjusts the coefficients a card has; this card has none, so they were fitted instead and no recalibration was added.',
    calibrateFewEvents:
      'The fit has {smaller} cases of its smaller class for {features} features (fewer than {minimum} per feature), so its coefficients are likely to overfit this cohort. Evaluate it on other cases before clinical use.',
    calibrateApparent:
      'The coefficients were fitted on {count} labelled cases of this cohort; an evaluation on the same cases reports apparent (optimistic) performance.',
    calibrateSkipped: '{count} failed cases were left out (--skip-failed): {list}.',
    evaluateApparent:
      "The card's coefficients were fitted on {count} site cases; if this cohort contains them, the figures are apparent performance and overstate how the model does on new patients.",
    evaluateSynthetic: 'The card was calibrated on a synthetic cohort: not for clinical use.',
    evaluationDeLong:
      'DeLong test, this model against the comparison model: AUC {aucA} − {aucB} = {difference}, p = {p}.',
    evaluationLogRank:
      'Overall survival, predicted high vs low: log-rank p = {p} ({cases} cases, {events} deaths).',
    evaluationHazardRatio: 'Cox hazard ratio, predicted high vs low: {hr} (95% CI {lower}–{upper}), p = {p}.',
    evaluationWritten: 'Evaluation written to {path} ({count} files: evaluation.json and the pictures).',
    refitWritten:
      'Refitted card written to {path}: {features}, fitted on {cases} labelled cases. For research; evaluate it on other cases.',
    demoTitle: 'NQO1 CDS demo',
    demoSynthetic:
      'SYNTHETIC DEMONSTRATION: the CT, the segmentation and the calibration cohort are generated phantoms. Not for clinical use.',
    demoStudy: 'Synthetic study written to {path} ({slices} CT slices and a DICOM SEG).',
    demoCohort: 'Synthetic calibration cohort: {count} phantom cases.',
    demoCardTitle: 'Card the EHR would show',
    demoResult: 'Result JSON written to {path}.',
    extractProgress: '[{index}/{count}] {name}: {status} ({seconds} s elapsed)',
    extractOk: 'done',
    extractReused: 'kept from the earlier run',
    extractFailed: 'failed, {code}',
    extractSummary: 'Extracted {ok} of {count} cases ({failed} failed). Results written to {path}.',
    extractInterrupted:
      'Interrupted: {path} holds the rows of the first {written} of {count} cases. Run the same command with --resume to extract the rest.',
    errorPrefix: 'Error',
    warningPrefix: 'Warning',
  },
  'zh-CN': {
    modelLine: '模型',
    seriesLine: '序列',
    regionLine: '区域',
    regionValue: '肿瘤 {tumour} 体素，肿瘤外扩 {dilation} mm 共 {peri} 体素，体素间距 {spacing} mm',
    featuresTitle: '特征',
    probabilityLine: '{positive}的概率',
    classHigh: 'NQO1 可能高表达',
    classLow: 'NQO1 可能低表达',
    thresholdLine: '阈值 {threshold}',
    uncalibrated: '无概率：该模型卡尚未进行本院校准。请先用本院病例运行 `nqo1-cds calibrate`。',
    coefficientsMissing:
      '无概率：模型卡缺少部分特征的已发表系数。请用 nqo1-cds calibrate --cohort 在本院有 nqo1 分类的病例上拟合系数。',
    calibrationProgress: '[{index}/{count}] {name}：{status}（{seconds} 秒）',
    calibrationWritten: '本院模型卡已写入 {path}（{count} 例，z 分数标准化，样本标准差）。',
    cohortInterrupted: '已中断。已计算的特征保存在特征文件中；重新运行同一命令即可继续。',
    evaluationAuc:
      'AUC {auc}（95% CI {lower}–{upper}，DeLong 法），共 {cases} 例，其中 NQO1 高表达 {positives} 例。',
    evaluationThreshold:
      '阈值 {threshold} 时：准确率 {accuracy}，灵敏度 {sensitivity}，特异度 {specificity}。',
    evaluationHosmerLemeshow: 'Hosmer–Lemeshow 检验：统计量 {statistic}，p = {p}。',
    evaluationHosmerLemeshowMissing: '未计算 Hosmer–Lemeshow 检验及校准曲线图：{reason}',
    evaluationWrittenNoPictures: '评估结果已写入 {path}/evaluation.json；该队列无法生成任何图片。',
    calibrateRecalibrateIgnored:
      '--recalibrate 用于调整模型卡已有的系数；此模型卡没有系数，因此改为拟合系数，未添加再校准。',
    calibrateFewEvents:
      '拟合中较少一类只有 {smaller} 例，却有 {features} 个特征（每个特征少于 {minimum} 例），系数很可能对本队列过拟合。用于临床前请在其他病例上评估。',
    calibrateApparent:
      '系数由本队列 {count} 例有标签病例拟合；在同一批病例上的评估只反映表观（偏乐观的）性能。',
    calibrateSkipped: '已排除 {count} 例失败病例（--skip-failed）：{list}。',
    evaluateApparent:
      '模型卡的系数由本院 {count} 例拟合；若本队列包含这些病例，结果为表观性能，会高估模型在新患者中的表现。',
    evaluateSynthetic: '模型卡基于合成队列校准：不得用于临床。',
    evaluationDeLong: '本模型与对照模型的 DeLong 检验：AUC {aucA} − {aucB} = {difference}，p = {p}。',
    evaluationLogRank: '预测高表达与低表达的总生存期：log-rank p = {p}（{cases} 例，{events} 例死亡）。',
    evaluationHazardRatio: 'Cox 风险比（预测高表达 vs 低表达）：{hr}（95% CI {lower}–{upper}），p = {p}。',
    evaluationWritten: '评估结果已写入 {path}（{count} 个文件：evaluation.json 及图片）。',
    refitWritten:
      '重新建模的模型卡已写入 {path}：{features}，基于 {cases} 例有标签病例拟合。仅供科研；请在其他病例上评估。',
    demoTitle: 'NQO1 CDS 演示',
    demoSynthetic: '合成演示：CT、分割和校准队列均为生成的体模数据，不得用于临床。',
    demoStudy: '合成检查已写入 {path}（{slices} 层 CT 及一个 DICOM SEG）。',
    demoCohort: '合成校准队列：{count} 例体模。',
    demoCardTitle: 'EHR 中将显示的卡片',
    demoResult: '结果 JSON 已写入 {path}。',
    extractProgress: '[{index}/{count}] {name}：{status}（已用 {seconds} 秒）',
    extractOk: '完成',
    extractReused: '沿用上次结果',
    extractFailed: '失败，{code}',
    extractSummary: '已提取 {count} 例中的 {ok} 例（{failed} 例失败）。结果已写入 {path}。',
    extractInterrupted:
      '已中断：{path} 中保存了 {count} 例中前 {written} 例的结果。加上 --resume 重新运行同一命令即可提取其余病例。',
    errorPrefix: '错误',
    warningPrefix: '警告',
  },
} as const satisfies Record<Locale, Record<string, string>>;

export type MessageKey = keyof (typeof MESSAGES)['en'];

/** Picks the locale from an explicit option or the POSIX locale variables. */
export function resolveLocale(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Locale {
  const value = option ?? env.LC_ALL ?? env.LC_MESSAGES ?? env.LANG ?? '';
  return value.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** Returns the message in the locale with `{name}` placeholders replaced. */
export function message(
  locale: Locale,
  key: MessageKey,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return MESSAGES[locale][key].replace(/\{(\w+)\}/g, (placeholder, name: string) =>
    name in values ? String(values[name]) : placeholder,
  );
}
