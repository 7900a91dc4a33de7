/**
 * Starts Debian's Chromium (`apt-get install chromium`) through `playwright-core` for the SMART app
 * tests. Playwright's own browser downloads are not used, so the tests need no network.
 */
import { existsSync } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

/** Path of the browser installed by the Debian package `chromium`. */
export const CHROMIUM_BINARY = '/usr/bin/chromium';

/**
 * Decides whether a test file that needs Chromium runs. Returns null when Chromium is installed.
 * When it is missing, it throws under `CI=true`, because CI installs Chromium and a skip there would
 * hide a broken set-up. Elsewhere it prints why and returns the reason, for `describe.skipIf`.
 *
 * @param suite - Name of the test suite, for the message.
 */
export function chromiumSkipReason(suite: string): string | null {
  if (existsSync(CHROMIUM_BINARY)) return null;
  const reason = `Chromium is not installed (missing ${CHROMIUM_BINARY}); install the Debian package "chromium".`;
  if (process.env.CI === 'true') throw new Error(`${suite} needs Chromium under CI: ${reason}`);
  console.warn(`Skipping ${suite}: ${reason}`);
  return reason;
}

/**
 * Launches headless Chromium. Every host but 127.0.0.1 resolves to "not found", so pages reach only
 * the loopback servers the tests start. Chromium's sandbox needs user
 * namespaces that a root user in a container lacks, so it is turned off only for root.
 */
export async function launchChromium(): Promise<Browser> {
  const args = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return await chromium.launch({ executablePath: CHROMIUM_BINARY, headless: true, args });
}
