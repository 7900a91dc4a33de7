/**
 * The segments of a DICOM SEG (SegmentSequence) and the choice of the one to read.
 *
 * @see DICOM PS3.3 section C.8.20.2 (Segmentation Image module, Segment Description macro).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import type { DicomItem } from './dicom-dataset.js';

/** Choice of the segment to read. With neither field, the SEG must contain exactly one segment. */
export interface SegmentSelection {
  readonly segmentNumber?: number;
  /** Compared with SegmentLabel ignoring case and surrounding spaces. */
  readonly segmentLabel?: string;
}

export interface SegmentDescription {
  readonly number: number;
  readonly label: string | null;
}

/**
 * Returns the SegmentNumber to read. Without a selection, a SEG with several segments is an error
 * rather than a silent choice of segment 1, because reading the liver instead of the tumour would
 * give plausible but wrong features.
 *
 * @throws Nqo1Error ERR_SEGMENT_SELECTION listing the segments when none or several match;
 *   ERR_SEG_MALFORMED when the SEG describes no segment.
 */
export function selectSegment(dataset: DicomItem, selection: SegmentSelection, labelMap = false): number {
  const segments = describeSegments(dataset, labelMap);
  if (segments.length === 0) {
    throw new Nqo1Error(
      'ERR_SEG_MALFORMED',
      'SEG file: SegmentSequence is empty, so the object describes no segment. Export the segmentation again.',
    );
  }

  let candidates = segments;
  if (selection.segmentNumber !== undefined) {
    candidates = candidates.filter((segment) => segment.number === selection.segmentNumber);
  }
  if (selection.segmentLabel !== undefined) {
    const requested = normaliseLabel(selection.segmentLabel);
    candidates = candidates.filter(
      (segment) => segment.label !== null && normaliseLabel(segment.label) === requested,
    );
  }

  const chosen = candidates[0];
  if (candidates.length === 1 && chosen !== undefined) return chosen.number;

  const listed = listSegments(segments);
  const problem = describeMismatch(selection, candidates.length);
  throw new Nqo1Error(
    'ERR_SEGMENT_SELECTION',
    `SEG file: ${problem}. The SEG holds segments ${listed}; choose one by segment number or label (--segment on the command line).`,
    { details: { segments: segments.map((segment) => segment.number) } },
  );
}

/**
 * Returns the segments of SegmentSequence. In a label map, segment 0 is the background (the value
 * of unlabelled pixels), so it is left out.
 */
export function describeSegments(dataset: DicomItem, labelMap: boolean): readonly SegmentDescription[] {
  return dataset
    .sequence('SegmentSequence')
    .map((item): SegmentDescription => ({
      number: item.requireNumber('SegmentNumber'),
      label: item.string('SegmentLabel'),
    }))
    .filter((segment) => !labelMap || segment.number !== 0);
}

/** Formats segments as `1 "Liver", 2 "Tumour"` for messages. */
export function listSegments(segments: readonly SegmentDescription[]): string {
  return segments.map((segment) => `${segment.number} "${truncateInput(segment.label ?? '')}"`).join(', ');
}

function normaliseLabel(label: string): string {
  return label.trim().toLowerCase();
}

function describeMismatch(selection: SegmentSelection, matches: number): string {
  const parts: string[] = [];
  if (selection.segmentNumber !== undefined) parts.push(`segment number ${selection.segmentNumber}`);
  if (selection.segmentLabel !== undefined) parts.push(`label "${truncateInput(selection.segmentLabel)}"`);
  if (parts.length === 0) return `no segment was chosen and the SEG holds ${matches} segments`;
  return matches === 0
    ? `no segment matches ${parts.join(' and ')}`
    : `${matches} segments match ${parts.join(' and ')}`;
}
