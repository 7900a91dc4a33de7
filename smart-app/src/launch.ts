/**
 * `launch.html`: starts the SMART launch, with PKCE S256 and a random `state` that fhirclient
 * checks when the authorization server returns to `index.html`.
 * - EHR launch: the EHR opens this page with `iss` (its FHIR base) and `launch`. fhirclient discovers
 *   the authorization server from `iss` and sends `launch` with the scopes of {@link SMART_SCOPE}.
 * - Standalone launch: the page is opened without `launch`, e.g. from a bookmark, with an `iss`
 *   query parameter or else the configured `smartApp.standaloneFhirBaseUrl`. The scopes of
 *   {@link STANDALONE_SCOPE} ask the authorization server to have the user pick the patient.
 *   Without either FHIR base the page shows what hospital IT must configure.
 *
 * Either way `iss` must be under the service's `fhir.allowedBaseUrls` (`fhir-base-check.ts`), or the
 * page shows why it does not start, because the service would reject the app's requests anyway.
 *
 * A radiology viewer may add `studyInstanceUid`, which is stored for `index.html` (`launch-context.ts`).
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html#launch-app-ehr-launch
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html#launch-app-standalone-launch
 */

import { isFhirBaseAllowed } from './fhir-base-check.js';
import { fhirClient } from './fhirclient.js';
import { dicomUid, rememberLaunchStudyUid } from './launch-context.js';
import { messagesFor, resolveLocale } from './messages.js';
import { SMART_SCOPE, STANDALONE_SCOPE } from './launch-scope.js';
import { fetchAppSettings } from './service-api.js';

/** Replaces the page with one of the launch page's screens, in the browser's language. */
function showLaunchScreen(
  key: 'launchFailed' | 'standaloneNotConfigured' | 'fhirServerNotAllowed' | 'invalidStudyUid',
): void {
  const messages = messagesFor(resolveLocale(navigator.language));
  document.documentElement.lang = resolveLocale(navigator.language);
  const main = document.getElementById('content')!;
  main.dataset.screen = key;
  const title = document.createElement('h2');
  title.textContent = messages[key].title;
  const body = document.createElement('p');
  body.textContent = messages[key].body;
  main.replaceChildren(title, body);
}

/**
 * Query parameters that fhirclient 2.6 would take from the page's URL over the app's own settings:
 * `fhirServiceUrl` starts a session against that server without authorisation, and `patientId` and
 * `clientId` replace the launch's patient and the registered client. A SMART launch sends none of them.
 */
const OVERRIDING_PARAMETERS = ['fhirServiceUrl', 'patientId', 'clientId'] as const;

async function launch(): Promise<void> {
  const query = new URLSearchParams(window.location.search);
  const overriding = OVERRIDING_PARAMETERS.filter((name) => query.has(name));
  if (overriding.length > 0) {
    console.warn(`launch.html does not accept the parameters ${overriding.join(', ')}`);
    showLaunchScreen('launchFailed');
    return;
  }
  // A viewer that sends a malformed UID would otherwise get the patient's newest study without a word.
  if (query.has('studyInstanceUid') && dicomUid(query.get('studyInstanceUid')) === undefined) {
    showLaunchScreen('invalidStudyUid');
    return;
  }
  rememberLaunchStudyUid(query);
  const settings = await fetchAppSettings();
  if (!settings.ok) throw new Error(`config.json responded with HTTP ${settings.status}`);
  const allowed = Array.isArray(settings.body.fhirBaseUrls) ? settings.body.fhirBaseUrls : [];

  if (query.has('launch')) {
    const ehrIss = query.get('iss');
    if (ehrIss !== null && !isFhirBaseAllowed(ehrIss, allowed)) {
      showLaunchScreen('fhirServerNotAllowed');
      return;
    }
    await fhirClient().oauth2.authorize({
      clientId: settings.body.clientId,
      scope: SMART_SCOPE,
      redirectUri: 'index.html',
      pkceMode: 'required',
      // Inside an EHR iframe the launch finishes in the iframe: index.html then reads the code there.
      completeInTarget: true,
    });
    return;
  }

  const iss = query.get('iss') ?? settings.body.standaloneFhirBaseUrl;
  if (iss === undefined || iss === '') {
    showLaunchScreen('standaloneNotConfigured');
    return;
  }
  if (!isFhirBaseAllowed(iss, allowed)) {
    showLaunchScreen('fhirServerNotAllowed');
    return;
  }
  await fhirClient().oauth2.authorize({
    clientId: settings.body.clientId,
    scope: STANDALONE_SCOPE,
    redirectUri: 'index.html',
    pkceMode: 'required',
    iss,
    completeInTarget: true,
  });
}

launch().catch((error: unknown) => {
  console.error('SMART launch failed', error);
  showLaunchScreen('launchFailed');
});
