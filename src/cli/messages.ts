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
      'No probability: the model card lacks published coefficients for some features. Enter them in the card first.',
    calibrationProgress: '[{index}/{count}] {name}: {status} ({seconds} s)',
    calibrationWritten: 'Site card written to {path} ({count} cases, z-score with sample SD).',
    demoTitle: 'NQO1 CDS demo',
    demoSynthetic:
      'SYNTHETIC DEMONSTRATION: the CT, the segmentation and the calibration cohort are generated phantoms. Not for clinical use.',
    demoStudy: 'Synthetic study written to {path} ({slices} CT slices and a DICOM SEG).',
    demoCohort: 'Synthetic calibration cohort: {count} phantom cases.',
    demoCardTitle: 'Card the EHR would show',
    demoResult: 'Result JSON written to {path}.',
    extractProgress: '[{index}/{count}] {name}: {status} ({seconds} s)',
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
    coefficientsMissing: '无概率：模型卡缺少部分特征的已发表系数。请先在模型卡中填入系数。',
    calibrationProgress: '[{index}/{count}] {name}：{status}（{seconds} 秒）',
    calibrationWritten: '本院模型卡已写入 {path}（{count} 例，z 分数标准化，样本标准差）。',
    demoTitle: 'NQO1 CDS 演示',
    demoSynthetic: '合成演示：CT、分割和校准队列均为生成的体模数据，不得用于临床。',
    demoStudy: '合成检查已写入 {path}（{slices} 层 CT 及一个 DICOM SEG）。',
    demoCohort: '合成校准队列：{count} 例体模。',
    demoCardTitle: 'EHR 中将显示的卡片',
    demoResult: '结果 JSON 已写入 {path}。',
    extractProgress: '[{index}/{count}] {name}：{status}（{seconds} 秒）',
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
