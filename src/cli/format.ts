/** Human-readable rendering of a score result for the terminal. */
import type { ModelCard } from '../model/card.js';
import type { ScoreResult } from '../model/result.js';
import { message, type Locale } from './messages.js';

/** Formats a number with 6 significant digits, in plain or exponent form as fits. */
export function formatValue(value: number): string {
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)
    ? value.toExponential(5)
    : value.toPrecision(6);
}

/** Renders the result as lines of text in the given locale. */
export function formatScoreSummary(result: ScoreResult, card: ModelCard, locale: Locale): string {
  const provenance = result.provenance;
  const colon = locale === 'zh-CN' ? '：' : ': ';
  const lines = [
    `${message(locale, 'modelLine')}${colon}${card.title[locale]} (${result.model.id} ${result.model.version})`,
    `${message(locale, 'seriesLine')}${colon}${provenance.seriesInstanceUid ?? '-'}`,
    `${message(locale, 'regionLine')}${colon}${message(locale, 'regionValue', {
      tumour: provenance.tumourVoxelCount,
      peri: provenance.periVoxelCount,
      dilation: provenance.dilationMm,
      spacing: provenance.spacingMm.map((value) => value.toFixed(3)).join(' × '),
    })}`,
    '',
    `${message(locale, 'featuresTitle')}${colon.trim()}`,
  ];
  // Input warnings stay in English, like error details, because they quote DICOM keywords and paths.
  const warnings = (provenance.warnings ?? []).map(
    (warning) => `${message(locale, 'warningPrefix')}${colon}${warning}`,
  );
  if (warnings.length > 0) lines.splice(lines.length - 2, 0, ...warnings);

  const width = Math.max(...Object.keys(result.features).map((name) => name.length));
  for (const [name, value] of Object.entries(result.features)) {
    const contribution = result.contributions?.[name];
    const term =
      contribution === undefined ? '' : `   β·z = ${contribution >= 0 ? '+' : ''}${contribution.toFixed(3)}`;
    lines.push(`  ${name.padEnd(width)}  ${formatValue(value).padStart(14)}${term}`);
  }
  lines.push('');

  if (result.probability !== null && result.class !== null) {
    const verdict = message(locale, result.class === 'high' ? 'classHigh' : 'classLow');
    lines.push(
      `${message(locale, 'probabilityLine', { positive: card.positiveClass[locale] })}${colon}${result.probability.toFixed(3)} ` +
        `(${message(locale, 'thresholdLine', { threshold: result.threshold })}) → ${verdict}`,
    );
  } else {
    lines.push(
      message(
        locale,
        result.probabilityUnavailableReason === 'coefficients-missing'
          ? 'coefficientsMissing'
          : 'uncalibrated',
      ),
    );
  }
  return lines.join('\n');
}
