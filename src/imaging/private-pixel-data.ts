/**
 * Rejection of pixels stored in a vendor's private element instead of Pixel Data (7FE0,0010).
 */

import { Nqo1Error } from '../errors.js';

/**
 * Private elements in which some CT scanners store compressed pixels instead of Pixel Data, keyed by
 * the dcmjs tag, with their private creator.
 */
const PRIVATE_PIXEL_ELEMENTS: ReadonlyMap<string, string> = new Map([['07A1100A', 'ELSCINT1']]);

/** Rejects a file with no Pixel Data whose pixels sit in a known private compressed element. */
export function rejectPrivatePixelData(dict: unknown, context: string): void {
  if (!isRecord(dict)) return;
  for (const [tag, creator] of PRIVATE_PIXEL_ELEMENTS) {
    if (dict[tag] === undefined || privateCreatorOf(dict, tag) !== creator) continue;
    const element = `(${tag.slice(0, 4)},${tag.slice(4)})`;
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: the file has no Pixel Data (7FE0,0010). Its pixels are stored only in the private element ` +
        `${element} of creator ${creator}, in a vendor compression that no DICOM transfer syntax describes. ` +
        'Export the series from the scanner or PACS as standard DICOM (uncompressed or a standard compressed ' +
        'transfer syntax), for example with the vendor tool that decompresses the private pixel data.',
      { details: { privateElement: element, privateCreator: creator } },
    );
  }
}

/** Reads the private creator that reserves the block of `tag`, e.g. (07A1,0010) for (07A1,100A). */
function privateCreatorOf(dict: Readonly<Record<string, unknown>>, tag: string): string | null {
  const element = dict[`${tag.slice(0, 4)}00${tag.slice(4, 6)}`];
  const value = isRecord(element) && Array.isArray(element.Value) ? (element.Value[0] as unknown) : null;
  return typeof value === 'string' ? value.trim() : null;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
