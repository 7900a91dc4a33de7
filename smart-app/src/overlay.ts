/**
 * The region pictures of an analysis: axial CT slices through the tumour with the tumour outline
 * and the peritumoral ring, drawn by the service from the masks the features used. A range input
 * scrolls through the slices with the mouse or the arrow keys.
 */

import type { Messages } from './messages.js';
import { fetchOverlayList, fetchOverlaySlice, type OverlaySliceInfo } from './service-api.js';

/** The analysis whose pictures are shown, and the token that proves access to it. */
export interface OverlaySource {
  readonly analysisId: string;
  readonly fhirServer: string;
  readonly accessToken: string;
}

/**
 * Appends the region section to `container` when the analysis has pictures. Nothing is appended
 * when the list is empty or the service has no overlay route (404), because a result without
 * pictures is still complete. Any other failed list request appends a notice naming its HTTP status.
 */
export async function appendOverlay(
  container: HTMLElement,
  source: OverlaySource,
  messages: Messages,
): Promise<void> {
  const listed = await fetchOverlayList(source.analysisId, source.fhirServer, source.accessToken);
  if (!listed.ok && listed.status !== 404) {
    // The pictures serve to check the result, so a failed list is reported rather than hidden.
    const notice = document.createElement('section');
    notice.id = 'overlay';
    const text = document.createElement('p');
    text.textContent = messages.overlayUnavailable(listed.status);
    notice.append(text);
    container.append(notice);
    return;
  }
  if (!listed.ok || listed.body.slices.length === 0) return;
  const slices = listed.body.slices;

  const section = document.createElement('section');
  section.id = 'overlay';
  const heading = document.createElement('h2');
  heading.textContent = messages.overlayHeading;
  const image = document.createElement('img');
  image.className = 'overlay-image';
  const caption = document.createElement('p');
  caption.id = 'overlay-caption';
  caption.setAttribute('aria-live', 'polite');

  const label = document.createElement('label');
  label.textContent = `${messages.overlaySliderLabel} `;
  const slider = document.createElement('input');
  slider.type = 'range';
  slider.id = 'overlay-slider';
  slider.min = '0';
  slider.max = String(slices.length - 1);
  // Start at the slice with the most tumour, where a wrong lesion is easiest to see.
  slider.value = String(largestTumourSlice(slices));
  label.append(slider);

  section.append(heading, label, image, caption);
  container.append(section);

  let objectUrl: string | undefined;
  // Each request gets a number. A reply that arrives after a newer request was sent is dropped, so
  // the picture matches the slider even when the replies arrive out of order.
  let latestRequest = 0;
  const show = async (position: number): Promise<void> => {
    const slice = slices[position]!;
    const request = ++latestRequest;
    const picture = await fetchOverlaySlice(
      source.analysisId,
      slice.sliceIndex,
      source.fhirServer,
      source.accessToken,
    );
    if (request !== latestRequest) return;
    if (objectUrl !== undefined) URL.revokeObjectURL(objectUrl);
    objectUrl = undefined;
    if (!picture.ok) {
      image.removeAttribute('src');
      caption.textContent = messages.overlayUnavailable(picture.status);
      return;
    }

    objectUrl = URL.createObjectURL(picture.body);
    image.src = objectUrl;
    image.width = slice.widthPx;
    image.height = slice.heightPx;
    image.alt = messages.overlayAlt(position + 1, slices.length);
    image.dataset.sliceIndex = String(slice.sliceIndex);
    caption.textContent = messages.overlayCaption(
      position + 1,
      slices.length,
      slice.tumourVoxelCount,
      slice.window.levelHu,
      slice.window.widthHu,
    );
  };

  slider.addEventListener('input', () => {
    void show(Number(slider.value));
  });
  await show(Number(slider.value));
}

function largestTumourSlice(slices: readonly OverlaySliceInfo[]): number {
  let best = 0;
  for (let i = 1; i < slices.length; i++) {
    if (slices[i]!.tumourVoxelCount > slices[best]!.tumourVoxelCount) best = i;
  }
  return best;
}
