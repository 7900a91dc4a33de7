/**
 * Child process of `nqo1-cds extract --batch`: extracts the cases its parent sends, one at a time,
 * and sends back the record or the error of each. Messages use the `advanced` serialisation, so
 * Maps and NaN arrive intact.
 */
import { describeError } from '../errors.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';
import { serveChildJobs } from './child-pool.js';
import {
  extractCase,
  type CaseOutcome,
  type ExtractCaseInput,
  type FeatureSelection,
} from './extract-case.js';

/** A case sent to a worker: what to read, the settings and the enabled features. */
export interface WorkerRequest {
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

serveChildJobs(import.meta.url, (request: WorkerRequest) =>
  runCase(request.input, request.settings, request.features),
);
