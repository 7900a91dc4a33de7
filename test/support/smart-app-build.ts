/**
 * Compiles the SMART app into dist/smart-app for the browser tests, so they never serve an outdated
 * build, and copies the fhirclient build there when `npm run build` has not. An existing copy is
 * left alone because another test file may be serving it.
 *
 * Several test files build the app, and vitest may run them in parallel processes. tsc truncates
 * and rewrites every output, so a build while another file's browser loads the app could serve it
 * a half-written script. The build therefore runs under a lock, and is skipped when a stamp written
 * after the last build of these tests is newer than every source file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { packagePath } from '../../src/paths.js';

/** Folder whose atomic creation takes the lock, removed when the build ends. */
const LOCK_DIR = packagePath('dist', '.smart-app-build.lock');

/** File written after each build, whose modification time shows whether the sources changed since. */
const BUILD_STAMP = packagePath('dist', 'smart-app', '.test-build-stamp');

/** A lock older than this is taken over, because its process died without removing it. */
const STALE_LOCK_MS = 120_000;

/** Pause between two attempts to take the lock. */
const LOCK_POLL_MS = 100;

/**
 * Runs `tsc -p smart-app/tsconfig.json` unless the build is current, and the vendor copy script when
 * its output is missing.
 */
export function buildSmartApp(): void {
  acquireLock();
  try {
    if (!isBuildCurrent()) {
      const require = createRequire(import.meta.url);
      const tsc = require.resolve('typescript/bin/tsc');
      execFileSync(process.execPath, [tsc, '-p', packagePath('smart-app', 'tsconfig.json')], {
        stdio: 'inherit',
      });
      writeFileSync(BUILD_STAMP, `${new Date().toISOString()}\n`);
    }
    if (!existsSync(packagePath('dist', 'smart-app', 'vendor', 'fhir-client.js'))) {
      execFileSync(process.execPath, ['--import', 'tsx', packagePath('scripts', 'smart-app-vendor.ts')], {
        stdio: 'inherit',
      });
    }
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Waits until this process holds the build lock, taking over a stale one. */
function acquireLock(): void {
  mkdirSync(path.dirname(LOCK_DIR), { recursive: true });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const lockedAt = statSync(LOCK_DIR, { throwIfNoEntry: false })?.mtimeMs;
    if (lockedAt !== undefined && Date.now() - lockedAt > STALE_LOCK_MS) {
      rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    Atomics.wait(pause, 0, 0, LOCK_POLL_MS);
  }
}

/** Checks whether the app's entry script exists and the stamp is newer than its sources and both tsconfig files. */
function isBuildCurrent(): boolean {
  const builtAt = statSync(BUILD_STAMP, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined || !existsSync(packagePath('dist', 'smart-app', 'main.js'))) return false;

  const sourceDir = packagePath('smart-app', 'src');
  const inputs = [packagePath('smart-app', 'tsconfig.json'), packagePath('tsconfig.json')];
  const entries = readdirSync(sourceDir, { recursive: true, withFileTypes: true });
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.isFile()) inputs.push(path.join(entry.parentPath, entry.name));
  }
  for (let i = 0; i < inputs.length; i++) {
    if (statSync(inputs[i]!).mtimeMs >= builtAt) return false;
  }
  return true;
}
