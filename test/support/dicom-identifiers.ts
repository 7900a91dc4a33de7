/**
 * The patient identifiers in the headers of DICOM test files, which the service reads from PACS and
 * must never log, for the log checks of the integration tests.
 */
import dcmjs from 'dcmjs';

import { readArrayBuffer } from './shared-data.js';

/**
 * Reads the patient name, ID, birth date and other IDs from the headers of DICOM files, which the
 * analysis reads from PACS and must never log. Returns each distinct string value.
 */
export async function dicomPatientIdentifiers(files: readonly string[]): Promise<string[]> {
  const values = new Set<string>();
  for (const file of files) {
    const message = dcmjs.data.DicomMessage.readFile(await readArrayBuffer(file)) as { dict: unknown };
    const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict) as Record<string, unknown>;
    for (const keyword of ['PatientName', 'PatientID', 'PatientBirthDate', 'OtherPatientIDs']) {
      for (const value of stringLeaves(dataset[keyword])) values.add(value.trim());
    }
  }
  values.delete('');
  return [...values];
}

/** Collects the strings in a dcmjs value: a string, an array of them, or a PN object of components. */
function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringLeaves);
  return [];
}

/** Escapes the characters that have a meaning in a regular expression, to match `text` literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
