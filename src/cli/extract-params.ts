/**
 * The `--params` option of `nqo1-cds extract`: turns a pyradiomics parameter file (YAML) into engine
 * settings, which the rest of the command takes.
 */
import { readInputFile } from '../imaging/input-file.js';
import { loadPyradiomicsParams } from '../radiomics/params-yaml.js';
import { DEFAULT_RADIOMICS_SETTINGS, type RadiomicsSettings } from '../radiomics/settings.js';

/** Settings for extraction, with the label of `--label` applied on top. */
export function extractSettings(base: RadiomicsSettings, label: number | undefined): RadiomicsSettings {
  return label === undefined ? base : { ...base, label };
}

/**
 * Reads a pyradiomics parameter file, or returns the pyradiomics code defaults without one.
 *
 * LIMITATION: only the file's settings are used; its `featureClass` section does not narrow the
 * features, so every registered feature is computed, because the output columns are fixed for a
 * batch. Passing the enabled classes to `extractCase` and `recordKeys` would lift this.
 *
 * @throws Nqo1Error ERR_NOT_FOUND when the file cannot be read; ERR_SETTINGS_INVALID for a file
 *   that breaks the parameter schema or asks for what the engine does not compute.
 */
export async function loadParams(path: string | undefined): Promise<RadiomicsSettings> {
  if (path === undefined) return DEFAULT_RADIOMICS_SETTINGS;
  const text = new TextDecoder().decode(
    await readInputFile(path, `parameter file ${path}`, MAX_PARAMETER_FILE_BYTES),
  );
  return loadPyradiomicsParams(text).settings;
}

/** Largest parameter file read: 1 MiB, far above any pyradiomics parameter file. */
const MAX_PARAMETER_FILE_BYTES = 2 ** 20;
