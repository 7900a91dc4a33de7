/** The CDS card for a result, built by the CDS service's own card builder and rendered as text. */
import { buildResultCard } from '../../cds-services/nqo1-risk/cards.js';
import type { ModelCard } from '../model/card.js';
import type { ScoreResult } from '../model/result.js';
import type { Locale } from './messages.js';

/** App URL shown in the demo card's link; the demo starts no server. */
const DEMO_APP_URL = 'http://127.0.0.1:8080/smart-app/';

/** Renders the card that the EHR would show for `result`, as plain text with its Markdown detail. */
export function renderCardText(result: ScoreResult, card: ModelCard, locale: Locale): string {
  const cdsCard = buildResultCard(
    {
      studyInstanceUid: result.provenance.studyInstanceUid ?? 'unknown',
      modelCard: card,
      locale,
      smartAppUrl: DEMO_APP_URL,
    },
    result,
    'demo',
  );
  const lines = [`[${cdsCard.indicator.toUpperCase()}] ${cdsCard.summary}`];
  if (cdsCard.detail !== undefined) lines.push('', cdsCard.detail);
  lines.push(
    '',
    `${cdsCard.source.label}${cdsCard.source.url === undefined ? '' : ` <${cdsCard.source.url}>`}`,
  );
  for (const link of cdsCard.links ?? []) lines.push(`→ ${link.label}: ${link.url}`);
  return lines.join('\n');
}
