/**
 * How the app reads an analysis that is still pending or running: again every
 * {@link PENDING_POLL_MS}, until {@link PENDING_POLL_LIMIT_MS} after the first pending response. Then
 * it stops and offers a "check again" button, so a stuck analysis does not poll the service for as
 * long as the page stays open.
 */

/** Wait between two reads of a pending or running analysis, in milliseconds. */
export const PENDING_POLL_MS = 10_000;

/** Time after the first pending response when the app stops reading again, in milliseconds. */
export const PENDING_POLL_LIMIT_MS = 30 * 60_000;
