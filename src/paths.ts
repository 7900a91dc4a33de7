/**
 * Locations inside the installed product. Source files run from `src/` under Vitest and from
 * `dist/src/` when built, so paths are resolved from the package root rather than from this file.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(folder, 'package.json')) && existsSync(join(folder, 'config'))) return folder;
    const parent = dirname(folder);
    if (parent === folder)
      throw new Error('package root of nqo1-cds not found above ' + fileURLToPath(import.meta.url));
    folder = parent;
  }
}

/** Absolute path of the product's root folder (the one holding package.json and config/). */
export const PACKAGE_ROOT = findPackageRoot();

/** Returns an absolute path inside the product's root folder. */
export function packagePath(...parts: readonly string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
