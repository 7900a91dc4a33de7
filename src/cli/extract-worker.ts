/**
 * Child process of `nqo1-cds extract --batch`: extracts the cases its parent sends, one at a time,
 * and sends back the record or the error of each. Messages use the `advanced` serialisation, so
 * Maps and NaN arrive intact.
 */
import { describeError } from '../errors.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';
import {
  extractCase,
  type CaseOutcome,
  type ExtractCaseInput,
  type FeatureSelection,
} from './extract-case.js';

/** A case sent to a worker: its position in the batch, what to read, the settings and the enabled features. */
export interface WorkerRequest {
  readonly index: number;
  readonly input: ExtractCaseInput;
  readonly settings: RadiomicsSettings;
  readonly features?: FeatureSelection;
}

/** Extracts one case and describes the outcome without throwing. */
export async function runCase(
  input: ExtractCaseInput,
  settings: RadiomicsSettings,
  features?: FeatureSelection,
): Promise<CaseOutcome> {
  try {
    const { record, warnings } = await extractCase(input, settings, features);
    return { ok: true, record, warnings };
  } catch (error) {
    const { code, message } = describeError(error);
    return { ok: false, code, message };
  }
}

if (process.send !== undefined) {
  // When the batch process stops (Ctrl-C, a signal), the channel closes: this worker ends quietly
  // instead of failing on a write to the closed channel.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (request: WorkerRequest) => {
    void runCase(request.input, request.settings, request.features).then((outcome) => {
      if (!process.connected) return;
      process.send?.({ index: request.index, outcome }, (error: Error | null) => {
        if (error !== null) process.exit(0);
      });
    });
  });
}
