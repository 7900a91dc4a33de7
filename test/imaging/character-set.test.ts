/**
 * Specific Character Set with ISO 2022 code extensions: files that dcmjs alone cannot read, decoded
 * against the examples of DICOM PS3.5 annexes H (Japanese) and I (Korean).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { characterSetFallback, decodeIso2022 } from '../../src/imaging/character-set.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import { dataset, part10, shortElement } from './build-dicom.js';
import { requireElement, walkRawDicom } from './raw-dicom.js';

const ENCODINGS = join(SHARED_DATA_DIR, 'dicom/orthanc-tests/Encodings');
const EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const PATIENT_NAME = 0x00100010;
const SPECIFIC_CHARACTER_SET = 0x00080005;

function fileBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Returns the raw bytes of one top-level element, straight from the file. */
function rawValue(bytes: Uint8Array, tag: number): Uint8Array {
  const element = requireElement(walkRawDicom(bytes), tag);
  return bytes.subarray(element.valueOffset, element.valueOffset + element.length);
}

/** Encodes one short element whose value is given as bytes, padded with a space to even length. */
function bytesElement(group: number, element: number, vr: string, value: readonly number[]): Uint8Array {
  const padded = value.length % 2 === 0 ? value : [...value, 0x20];
  const bytes = new Uint8Array(8 + padded.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, element, true);
  bytes.set(new TextEncoder().encode(vr), 4);
  view.setUint16(6, padded.length, true);
  bytes.set(padded, 8);
  return bytes;
}

describe('ISO 2022 character sets', () => {
  it.each([
    // PS3.5 annex H.3.1: ISO 2022 IR 87 in G0 after the default repertoire.
    ['SCSH31', 'Yamada^Tarou=山田^太郎=やまだ^たろう'],
    // PS3.5 annex H.3.2: ISO 2022 IR 13 (half-width katakana in G1) with ISO 2022 IR 87.
    ['SCSH32', 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'],
    // PS3.5 annex I.2: ISO 2022 IR 149 (KS X 1001) in G1.
    ['SCSI2', 'Hong^Gildong=洪^吉洞=홍^길동'],
  ])('decodes the person name of %s', (name, expected) => {
    const bytes = fileBytes(join(ENCODINGS, 'DavidClunie', name));
    const terms = new TextDecoder('latin1')
      .decode(rawValue(bytes, SPECIFIC_CHARACTER_SET))
      .split('\\')
      .map((term) => term.trim());

    const text = decodeIso2022(rawValue(bytes, PATIENT_NAME), terms[0]).trim();

    expect(text).toBe(expected);
  });

  it.each(['SCSH31', 'SCSH32', 'SCSI2'])('reads %s, which dcmjs alone rejects', (name) => {
    const bytes = fileBytes(join(ENCODINGS, 'DavidClunie', name));

    const file = readDicomFile(bytes.slice().buffer, name);

    expect(file.dataset.string('SOPInstanceUID')).toMatch(/^[0-9.]+$/);
    expect(file.dataset.string('Modality')).toBe('OT');
  });

  it('decodes a GB 2312 series description through readDicomFile', () => {
    // "动脉期" (arterial phase) in GB 2312, designated into G1 by ESC $ ) A (ISO 2022 IR 58).
    const description = [0x1b, 0x24, 0x29, 0x41, 0xb6, 0xaf, 0xc2, 0xf6, 0xc6, 0xda];
    const file = part10(
      EXPLICIT_LITTLE_ENDIAN,
      dataset(
        shortElement(0x0008, 0x0005, 'CS', '\\ISO 2022 IR 58'),
        shortElement(0x0008, 0x0060, 'CS', 'CT'),
        bytesElement(0x0008, 0x103e, 'LO', description),
      ),
    );

    const parsed = readDicomFile(file, 'generated file');

    expect(parsed.dataset.string('SeriesDescription')).toBe('动脉期');
    expect(parsed.dataset.string('Modality')).toBe('CT');
  });

  it('leaves single character sets to dcmjs', () => {
    // SCSX2 is GB18030, one defined term without code extensions.
    const bytes = fileBytes(join(ENCODINGS, 'DavidClunie', 'SCSX2'));

    expect(characterSetFallback(bytes, EXPLICIT_LITTLE_ENDIAN)).toBeNull();
  });

  it('keeps an unknown escape sequence visible', () => {
    // ESC $ ( D designates JIS X 0212, which this decoder does not map.
    const bytes = Uint8Array.from([0x41, 0x1b, 0x24, 0x28, 0x44, 0x42]);

    expect(decodeIso2022(bytes)).toContain('\uFFFD');
  });

  it('restores the initial set at a person name delimiter', () => {
    // Latin-1 é (0xE9) after "^": G1 must be ISO 2022 IR 100 again after GB 2312 was designated.
    const bytes = Uint8Array.from([0x1b, 0x24, 0x29, 0x41, 0xb6, 0xaf, 0x5e, 0xe9]);

    expect(decodeIso2022(bytes, 'ISO 2022 IR 100')).toBe('动^é');
  });
});
