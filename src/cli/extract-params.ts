/**
 * The `--params` seam of `nqo1-cds extract`: turns a pyradiomics parameter file (YAML) into engine
 * settings. Everything else in the command takes the returned settings, so a YAML loader plugs in
 * here alone.
 */
import { Nqo1Error } from '../errors.js';
import { DEFAULT_RADIOMICS_SETTINGS, type RadiomicsSettings } from '../radiomics/settings.js';

/** Settings for extraction, with the label of `--label` applied on top. */
export function extractSettings(base: RadiomicsSettings, label: number | undefined): RadiomicsSettings {
  return label === undefined ? base : { ...base, label };
}

/**
 * Reads a pyradiomics parameter file, or returns the pyradiomics code defaults without one.
 *
 * LIMITATION: no YAML reader is installed and the pyradiomics parameter-file loader is being written
 * in parallel, so a given file is rejected with ERR_NOT_IMPLEMENTED. Fix: call that loader here
 * (path → RadiomicsSettings) once it lands; nothing else in the command changes.
 *
 * @throws Nqo1Error ERR_NOT_IMPLEMENTED whenever `path` is given.
 */
export function loadParams(path: string | undefined): Promise<RadiomicsSettings> {
  if (path === undefined) return Promise.resolve(DEFAULT_RADIOMICS_SETTINGS);
  return Promise.reject(
    new Nqo1Error(
      'ERR_NOT_IMPLEMENTED',
      `Parameter file ${path} cannot be read yet: this release has no pyradiomics YAML reader. Run without ` +
        '--params to use the pyradiomics defaults (binWidth 25, voxelArrayShift 0, label from --label).',
      { details: { params: path } },
    ),
  );
}
