/**
 * The `--params` option of `nqo1-cds extract`: turns a pyradiomics parameter file (YAML) into engine
 * settings and the enabled features, which the rest of the command takes.
 */
import { readInputFile } from '../imaging/input-file.js';
import { loadPyradiomicsParams } from '../radiomics/params-yaml.js';
import { DEFAULT_RADIOMICS_SETTINGS, type RadiomicsSettings } from '../radiomics/settings.js';
import type { FeatureSelection } from './extract-case.js';

/** Settings and enabled features of `extract`, read from a parameter file. */
export interface ExtractParams {
  readonly settings: RadiomicsSettings;
  /** Enabled classes and features; undefined (no parameter file) enables every registered feature. */
  readonly features?: FeatureSelection;
}

/** Settings for extraction, with the label of `--label` applied on top. */
export function extractSettings(base: RadiomicsSettings, label: number | undefined): RadiomicsSettings {
  return label === undefined ? base : { ...base, label };
}

/**
 * Reads a pyradiomics parameter file: its settings and its `featureClass` section (absent means
 * every class). Without a file, returns the pyradiomics code defaults and every feature.
 *
 * @throws Nqo1Error ERR_NOT_FOUND when the file cannot be read; ERR_SETTINGS_INVALID for a file
 *   that breaks the parameter schema or asks for what the engine does not compute.
 */
export async function loadParams(path: string | undefined): Promise<ExtractParams> {
  if (path === undefined) return { settings: DEFAULT_RADIOMICS_SETTINGS };
  const text = new TextDecoder().decode(
    await readInputFile(path, `parameter file ${path}`, MAX_PARAMETER_FILE_BYTES),
  );
  const params = loadPyradiomicsParams(text);
  return { settings: params.settings, features: params.featureClasses };
}

/** Largest parameter file read: 1 MiB, far above any pyradiomics parameter file. */
const MAX_PARAMETER_FILE_BYTES = 2 ** 20;
