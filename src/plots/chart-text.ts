/**
 * Text of the evaluation charts in English and Simplified Chinese: titles, axis titles, legend
 * entries and the PNG renderer's warnings. Numbers keep ASCII digits in both languages, and p-values
 * are written with a capital P in both, as Chinese medical journals print them.
 */

/** Language of the chart text; the same values as the command line's `--lang`. */
export type ChartLocale = 'en' | 'zh-CN';

const CHART_TEXT = {
  en: {
    rocTitle: 'ROC curve',
    rocAxisX: '1 − specificity',
    rocAxisY: 'Sensitivity',
    rocModel: 'Model, AUC {auc} (95% CI {lower}–{upper})',
    rocChance: 'Chance (AUC 0.5)',
    calibrationTitle: 'Calibration',
    calibrationAxisX: 'Predicted probability',
    calibrationAxisY: 'Observed proportion',
    calibrationModel: 'Model ({groups} groups, {cases} cases)',
    calibrationIdeal: 'Ideal calibration',
    hosmerLemeshow: 'Hosmer–Lemeshow χ² = {statistic}, P {pValue}',
    decisionTitle: 'Decision curve',
    decisionAxisX: 'Threshold probability',
    decisionAxisY: 'Net benefit',
    decisionModel: 'Model',
    decisionTreatAll: 'Treat all',
    decisionTreatNone: 'Treat none',
    survivalTitle: 'Kaplan–Meier survival by predicted class',
    survivalAxisX: 'Time (days)',
    survivalAxisY: 'Survival probability',
    survivalBand: 'Shaded: 95% CI',
    logRank: 'Log-rank P {pValue}',
    hazardRatio: 'HR {value} (95% CI {lower}–{upper})',
    predictedHigh: 'Predicted high NQO1',
    predictedLow: 'Predicted low NQO1',
    fontMissing:
      'No installed font has Latin letters, so the PNG shows its text as empty boxes or leaves it out. Install the Debian package fonts-wqy-microhei, which covers Latin and Chinese text, or pass font files in fontFiles.',
    cjkFontMissing:
      'No installed font has Chinese characters, so the PNG shows them as empty boxes or leaves them out. Install the Debian package fonts-wqy-microhei (or fonts-noto-cjk), or pass a CJK font file in fontFiles.',
  },
  'zh-CN': {
    rocTitle: 'ROC 曲线',
    rocAxisX: '1 − 特异度',
    rocAxisY: '灵敏度',
    rocModel: '模型，AUC {auc}（95% CI {lower}–{upper}）',
    rocChance: '随机判断（AUC 0.5）',
    calibrationTitle: '校准曲线',
    calibrationAxisX: '预测概率',
    calibrationAxisY: '实际观察比例',
    calibrationModel: '模型（{groups} 组，共 {cases} 例）',
    calibrationIdeal: '理想校准',
    hosmerLemeshow: 'Hosmer–Lemeshow 检验 χ² = {statistic}，P {pValue}',
    decisionTitle: '决策曲线',
    decisionAxisX: '阈值概率',
    decisionAxisY: '净获益',
    decisionModel: '模型',
    decisionTreatAll: '全部干预',
    decisionTreatNone: '均不干预',
    survivalTitle: '按预测分组的 Kaplan–Meier 生存曲线',
    survivalAxisX: '时间（天）',
    survivalAxisY: '生存概率',
    survivalBand: '阴影：95% CI',
    logRank: 'Log-rank 检验 P {pValue}',
    hazardRatio: 'HR {value}（95% CI {lower}–{upper}）',
    predictedHigh: '预测 NQO1 高表达',
    predictedLow: '预测 NQO1 低表达',
    fontMissing:
      '系统中没有含西文字母的字体，PNG 中的文字将显示为方框或缺失。请安装 Debian 软件包 fonts-wqy-microhei（同时包含西文和中文字符），或通过 fontFiles 传入字体文件。',
    cjkFontMissing:
      '系统中没有含中文字符的字体，PNG 中的中文将显示为方框或缺失。请安装 Debian 软件包 fonts-wqy-microhei（或 fonts-noto-cjk），或通过 fontFiles 传入中文字体文件。',
  },
} as const satisfies Record<ChartLocale, Record<string, string>>;

export type ChartTextKey = keyof (typeof CHART_TEXT)['en'];

/** Returns the chart text in the locale with `{name}` placeholders replaced. */
export function chartText(
  locale: ChartLocale,
  key: ChartTextKey,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return CHART_TEXT[locale][key].replace(/\{(\w+)\}/g, (placeholder, name: string) =>
    name in values ? String(values[name]) : placeholder,
  );
}

/**
 * Formats a p-value with its relation sign, for a "P {pValue}" template: "= 0.034", or "< 0.001"
 * below 0.001, where three decimals would print a misleading zero.
 */
export function formatPValue(pValue: number): string {
  return pValue < 0.001 ? '< 0.001' : `= ${pValue.toFixed(3)}`;
}
