/**
 * Environment overrides of single configuration keys, applied after the site file. Every key has
 * a variable named `NQO1_` + its path in upper snake case, with sections joined by `_`:
 * `fhir.timeoutMs` is `NQO1_FHIR_TIMEOUT_MS`, `series.sliceThicknessMm.max` is
 * `NQO1_SERIES_SLICE_THICKNESS_MM_MAX`. The short names of the first releases (`NQO1_HOST`,
 * `NQO1_PORT`, …) still work.
 *
 * A value is read by the type of its key: a number, `true` or `false`, a JSON array or object for
 * lists and `auth.issuers`, and text otherwise. A value of the wrong form is passed on as text, so
 * the schema rejects it with the key path. Secrets have no key (`secret-env.ts`).
 */

import { Nqo1Error } from '../errors.js';

/** Type of a key's value, which decides how the text of its variable is converted. */
type ValueKind = 'string' | 'number' | 'boolean' | 'json';

/** Every configuration key that a variable can set, with the kind of its value. */
export const ENV_OVERRIDABLE_KEYS: Readonly<Record<string, ValueKind>> = {
  'server.host': 'string',
  'server.port': 'number',
  'server.publicUrl': 'string',
  'server.corsOrigins': 'json',
  'server.role': 'string',
  'auth.issuers': 'json',
  'auth.maxTokenAgeSeconds': 'number',
  'auth.clockToleranceSeconds': 'number',
  'dicomweb.baseUrl': 'string',
  'dicomweb.allowedBaseUrls': 'json',
  'dicomweb.timeoutMs': 'number',
  'dicomweb.retries': 'number',
  'dicomweb.retryFirstDelayMs': 'number',
  'dicomweb.maxResponseBytes': 'number',
  'dicomweb.ctRetrieval': 'string',
  'imaging.maxSeriesInstances': 'number',
  'imaging.maxVolumeVoxels': 'number',
  'imaging.resampleIrregular': 'boolean',
  'imaging.maskToleranceMm': 'number',
  'imaging.fractionalThreshold': 'number',
  'series.arterialPhasePatterns': 'json',
  'series.requireContrast': 'boolean',
  'series.nonContrastPatterns': 'json',
  'series.sliceThicknessMm.min': 'number',
  'series.sliceThicknessMm.max': 'number',
  'series.convolutionKernel.allowPatterns': 'json',
  'series.convolutionKernel.denyPatterns': 'json',
  'series.arterialDelaySeconds.min': 'number',
  'series.arterialDelaySeconds.max': 'number',
  'fhir.baseUrl': 'string',
  'fhir.allowedBaseUrls': 'json',
  'fhir.timeoutMs': 'number',
  'fhir.bearerTokenEnv': 'string',
  'jobs.retryFailedAfterMs': 'number',
  'jobs.retryWriteBackAfterMs': 'number',
  'jobs.workerThreads': 'number',
  'jobs.workerConcurrency': 'number',
  'jobs.jobTimeoutSeconds': 'number',
  'jobs.pollIntervalMs': 'number',
  'notifications.tokenEnv': 'string',
  'notifications.pollIntervalSeconds': 'number',
  'notifications.pollLookbackDays': 'number',
  'operations.metricsTokenEnv': 'string',
  'operations.readinessTimeoutMs': 'number',
  'operations.readinessCacheMs': 'number',
  'store.engine': 'string',
  'store.sqlitePath': 'string',
  'store.postgresUrlEnv': 'string',
  'store.postgresPoolSize': 'number',
  'model.cardPath': 'string',
  locale: 'string',
  smartAppUrl: 'string',
  'smartApp.clientId': 'string',
  'smartApp.standaloneFhirBaseUrl': 'string',
  'smartApp.frameAncestors': 'json',
  'smartApp.authorizationServerOrigins': 'json',
  viewerUrlTemplate: 'string',
};

/** Short variable names of the first releases, kept so existing deployments keep working. */
export const LEGACY_ENV_NAMES: Readonly<Record<string, string>> = {
  NQO1_HOST: 'server.host',
  NQO1_PORT: 'server.port',
  NQO1_PUBLIC_URL: 'server.publicUrl',
  NQO1_SQLITE_PATH: 'store.sqlitePath',
  NQO1_MODEL_CARD: 'model.cardPath',
  NQO1_LOCALE: 'locale',
};

/** Returns the variable name of a key path: `fhir.timeoutMs` → `NQO1_FHIR_TIMEOUT_MS`. */
export function envNameOf(keyPath: string): string {
  const snake = keyPath
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_');
  return `NQO1_${snake}`;
}

/** One override found in the environment. */
export interface EnvOverride {
  readonly variable: string;
  readonly keyPath: readonly string[];
  readonly value: unknown;
}

/**
 * Lists the overrides set in `env`, legacy names first, so that the scheme's name wins when both
 * name one key.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` naming the variable and key when a list or object value is
 *   not JSON, or when a legacy name and the scheme's name both set one key to different values.
 */
export function readEnvOverrides(env: Readonly<Record<string, string | undefined>>): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  const setBy = new Map<string, { variable: string; text: string }>();

  const add = (variable: string, keyPath: string): void => {
    const raw = env[variable];
    if (raw !== undefined && raw !== '' && raw.trim() === '') {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `${variable} sets ${keyPath}, but its value is only spaces; give a value, or unset it to keep the default.`,
      );
    }
    const text = nonEmpty(raw);
    if (text === undefined) return;

    const earlier = setBy.get(keyPath);
    if (earlier !== undefined && earlier.text !== text) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `Both ${earlier.variable} and ${variable} set ${keyPath}, to different values; unset ${earlier.variable}.`,
      );
    }
    setBy.set(keyPath, { variable, text });
    overrides.push({
      variable,
      keyPath: keyPath.split('.'),
      value: parseValue(text, ENV_OVERRIDABLE_KEYS[keyPath] ?? 'string', variable, keyPath),
    });
  };

  for (const [variable, keyPath] of Object.entries(LEGACY_ENV_NAMES)) add(variable, keyPath);
  for (const keyPath of Object.keys(ENV_OVERRIDABLE_KEYS)) add(envNameOf(keyPath), keyPath);
  return overrides;
}

function parseValue(text: string, kind: ValueKind, variable: string, keyPath: string): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      return text;
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Nqo1Error(
          'ERR_CONFIG_INVALID',
          `${variable} sets ${keyPath}, but its value is not JSON; write a JSON array such as ` +
            `["https://pacs.example/dicom-web"], or an object for auth.issuers.`,
        );
      }
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Rejects a set `NQO1_*` variable that no setting reads, such as a misspelt `NQO1_FIHR_BASE_URL`,
 * which would otherwise leave the default in place without a word. A variable is read when it is a
 * setting's name (or a legacy one), `NQO1_CONFIG`, `NQO1_DEBUG`, or a secret that a `…Env` setting
 * names, with or without `_FILE`.
 *
 * @param secretVariables - The variables that the configuration's `…Env` settings name.
 * @throws Nqo1Error `ERR_CONFIG_INVALID` naming each unread variable, and the closest setting's name.
 */
export function checkUnreadEnvNames(
  env: Readonly<Record<string, string | undefined>>,
  secretVariables: readonly string[],
): void {
  // NQO1_DEBUG makes the command line print stack traces (`src/cli/main.ts`).
  const known = new Set<string>(['NQO1_CONFIG', 'NQO1_DEBUG', ...Object.keys(LEGACY_ENV_NAMES)]);
  for (const keyPath of Object.keys(ENV_OVERRIDABLE_KEYS)) known.add(envNameOf(keyPath));
  for (const name of secretVariables) {
    known.add(name);
    known.add(`${name}_FILE`);
  }

  const unread = Object.keys(env)
    .filter((name) => name.startsWith('NQO1_') && env[name] !== undefined && env[name] !== '')
    .filter((name) => !known.has(name))
    .sort();
  if (unread.length === 0) return;

  const lines = unread.map((name) => {
    const closest = closestName(name, known);
    return closest === undefined ? name : `${name} (did you mean ${closest}?)`;
  });
  throw new Nqo1Error(
    'ERR_CONFIG_INVALID',
    `No setting reads the environment variable(s) ${lines.join(', ')}; correct the spelling, or unset them.`,
  );
}

/** Returns the known name within edit distance 3 of `name`, the closest one first, or undefined. */
function closestName(name: string, known: ReadonlySet<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
