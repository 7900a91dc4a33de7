/**
 * Reading a secret named by a configuration key (such as `operations.metricsTokenEnv`): from the
 * environment variable itself, or from the file that the variable `<NAME>_FILE` names, as container
 * platforms mount secrets (Docker and Kubernetes secret files). Configuration files never contain
 * the secret.
 */

import { readFileSync } from 'node:fs';

import { Nqo1Error } from './errors.js';

/**
 * Returns the secret of the variable `name`, or the contents of the file named by `<name>_FILE`
 * with trailing line breaks removed.
 *
 * @param key - Configuration key that named the variable, quoted in errors.
 * @throws Nqo1Error `ERR_CONFIG_INVALID` naming `key` when neither is set, both are set, the file
 *   cannot be read or the secret is empty.
 */
export function readSecretEnv(
  name: string,
  key: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const value = env[name];
  const file = env[`${name}_FILE`];
  const hasValue = value !== undefined && value !== '';
  const hasFile = file !== undefined && file !== '';

  if (hasValue && hasFile) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `${key} names ${name}, and both ${name} and ${name}_FILE are set; keep only one of them.`,
    );
  }
  if (hasValue) return checkedSecret(value, name, key);
  if (!hasFile) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `${key} names ${name}, but neither ${name} nor ${name}_FILE is set; set one of them, or remove ${key}.`,
    );
  }

  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  } catch (error) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `${key} names ${name}, and ${name}_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      { cause: error },
    );
  }
  if (secret === '') {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `${key} names ${name}, and the file ${file} in ${name}_FILE is empty.`,
    );
  }
  return checkedSecret(secret, `${name}_FILE`, key);
}

/**
 * Returns a secret that can travel as a bearer token (RFC 6750 §2.1 allows no spaces), or throws: a
 * secret with spaces or control characters could never be presented, so every request would fail.
 * The message names the variable, never the value.
 */
function checkedSecret(secret: string, source: string, key: string): string {
  if (/^[\x21-\x7e]+$/.test(secret)) return secret;
  throw new Nqo1Error(
    'ERR_CONFIG_INVALID',
    `${key} names a secret whose value in ${source} contains spaces, control or non-ASCII characters; ` +
      'set a token of visible ASCII characters only, without a trailing space.',
  );
}
