/**
 * `launch.html`: starts the SMART EHR launch. The EHR opens this page with `iss` (its FHIR base) and
 * `launch`. `fhirclient` discovers the authorization server from `iss`, and redirects the browser to
 * it with PKCE S256 and a random `state`.
 *
 * LIMITATION: only the EHR launch is supported. A standalone launch (no `iss`) needs a configured
 * FHIR base and a patient picker, which are not built; the page then shows the launch-failed text.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html#launch-app-ehr-launch
 */

import { fhirClient } from './fhirclient.js';
import { messagesFor, resolveLocale } from './messages.js';
import { SMART_SCOPE } from './launch-scope.js';
import { fetchAppSettings } from './service-api.js';

function showLaunchFailure(): void {
  const messages = messagesFor(resolveLocale(navigator.language));
  const main = document.getElementById('content')!;
  main.dataset.screen = 'launchFailed';
  const title = document.createElement('h2');
  title.textContent = messages.launchFailed.title;
  const body = document.createElement('p');
  body.textContent = messages.launchFailed.body;
  main.replaceChildren(title, body);
}

async function launch(): Promise<void> {
  const settings = await fetchAppSettings();
  if (!settings.ok) throw new Error(`config.json responded with HTTP ${settings.status}`);

  await fhirClient().oauth2.authorize({
    clientId: settings.body.clientId,
    scope: SMART_SCOPE,
    redirectUri: 'index.html',
    pkceMode: 'required',
    // Inside an EHR iframe the launch finishes in the iframe: index.html then reads the code there.
    completeInTarget: true,
  });
}

launch().catch((error: unknown) => {
  console.error('SMART launch failed', error);
  showLaunchFailure();
});
