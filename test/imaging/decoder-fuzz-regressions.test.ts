/**
 * Inputs that fuzzing found to crash, exhaust memory or hang a decoder, rebuilt from the real seed
 * files with the mutation primitives, and checks of the element length walk that rejects them.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { isNqo1Error, type Nqo1Error } from '../../src/errors.js';
import { readCtSeries } from '../../src/imaging/ct-series.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { checkElementLengths } from '../../src/imaging/element-lengths.js';
import { fileMetaEnd } from '../../src/imaging/file-meta.js';
import { readSegMask } from '../../src/imaging/seg.js';
import { FUZZ_SEEDS, TargetCache, readSeedFile, seedNamed } from '../support/fuzz/decoder-targets.js';
import { indexDicomElements, UNDEFINED_LENGTH } from '../support/fuzz/dicom-elements.js';
import { requireRecord, spliceBytes, writeLength, writeVr } from '../support/fuzz/mutation-primitives.js';

const MAX_INFLATED_BYTES = 256 * 1024 ** 2;

function nqo1ErrorOf(action: () => unknown): Nqo1Error {
  try {
    action();
  } catch (error) {
    if (isNqo1Error(error)) return error;
    throw new Error(`expected an Nqo1Error, got ${String(error)}`);
  }
  throw new Error('expected an error, but the call succeeded');
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

describe('fuzzing regressions', () => {
  it('rejects an explicit VR damaged to UN', () => {
    // Found by seed 1, input 27: CodeMeaning (LO, 2-byte length) re-labelled UN, so its first four
    // value characters are read as a 4-byte length of about 1.9 GB. dcmjs 0.51.1 allocated that
    // much and then ended Node with a fatal V8 error while decoding it as Latin-1 text.
    const seed = seedNamed('seg-labelmap-noppv');
    const original = readSeedFile(seed.file);
    const record = requireRecord(original, 0x00080104);
    const damaged = writeVr(original, record, 'UN');
    const declared = new DataView(damaged.buffer).getUint32(record.offset + 8, true);
    expect(declared).toBeGreaterThan(damaged.length);

    const series = new TargetCache().series(seed.series!);
    const started = performance.now();
    const error = nqo1ErrorOf(() => readSegMask(arrayBufferOf(damaged), series, { segmentNumber: 1 }));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain(
      `element (0008,0104) at byte ${record.offset} declares a value of ${declared} bytes, but only ` +
        `${damaged.length - record.offset} bytes remain`,
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects a sequence length beyond the file', () => {
    // Found by seed 2, input 846: a sequence of undefined length given the file length instead.
    const original = readSeedFile(seedNamed('ct-jpeg-ls-near').file);
    const sequence = requireRecord(original, 0x00089215);
    expect(sequence.valueLength).toBe(UNDEFINED_LENGTH);
    const damaged = writeLength(original, sequence, original.length);

    const error = nqo1ErrorOf(() => readCtSeries([arrayBufferOf(damaged)]));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain(
      `element (0008,9215) at byte ${sequence.offset} declares a value of ${original.length} bytes`,
    );
  });

  it('rejects a truncated JPEG-LS frame at once', () => {
    // Found by seed 2, input 846: the 49,370-byte JPEG-LS fragment cut to 17,406 bytes. CharLS
    // spent 15 s on it before failing; the missing EOI marker now rejects it before decoding.
    const original = readSeedFile(seedNamed('ct-jpeg-ls-near').file);
    const fragment = indexDicomElements(original).records.filter((record) => record.kind === 'fragment')[1]!;
    expect(fragment.valueLength).toBe(49370);
    const keep = 17406;
    const cut = spliceBytes(
      original,
      fragment.valueOffset + keep,
      fragment.valueLength - keep,
      new Uint8Array(0),
    );
    const damaged = writeLength(cut, fragment, keep);

    const started = performance.now();
    const error = nqo1ErrorOf(() => readCtSeries([arrayBufferOf(damaged)]));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain('the codestream lacks its end of image marker (FFD9)');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects a JPEG 2000 size before decoding', () => {
    // Found by seed 1, input 5354: Ysiz in the SIZ segment of the first JPEG 2000 frame changed
    // from 512 to 16,712,192. OpenJPEG raised the peak RSS by 289 MiB before it failed.
    const seed = seedNamed('seg-liver-j2k');
    const original = readSeedFile(seed.file);
    const fragment = indexDicomElements(original).records.filter((record) => record.kind === 'fragment')[1]!;
    const damaged = original.slice();
    const ysizOffset = fragment.valueOffset + 12;
    const view = new DataView(damaged.buffer);
    expect(view.getUint16(fragment.valueOffset)).toBe(0xff4f);
    expect(view.getUint32(ysizOffset)).toBe(512);
    view.setUint32(ysizOffset, 16712192);

    const series = new TargetCache().series(seed.series!);
    const rssBefore = process.resourceUsage().maxRSS;
    const error = nqo1ErrorOf(() => readSegMask(arrayBufferOf(damaged), series));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain(
      'the JPEG 2000 header (SIZ) of a frame declares 512 × 16712192 pixels with 1 components, ' +
        'but the DICOM header declares 512 × 512 with 1 sample',
    );
    expect((process.resourceUsage().maxRSS - rssBefore) / 1024).toBeLessThan(64);
  });

  it('rejects a fragment of undefined length', () => {
    const original = readSeedFile(seedNamed('ct-j2k-lossy').file);
    const fragment = indexDicomElements(original).records.filter((record) => record.kind === 'fragment')[1]!;
    const damaged = writeLength(original, fragment, UNDEFINED_LENGTH);

    const error = nqo1ErrorOf(() => readDicomFile(arrayBufferOf(damaged), 'Image file'));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain(
      `element (FFFE,E000) at byte ${fragment.offset} declares a value of undefined length`,
    );
  });

  it('rejects a native Pixel Data length near 4 GiB', () => {
    const original = readSeedFile(seedNamed('ct-small').file);
    const pixelData = requireRecord(original, 0x7fe00010);
    const damaged = writeLength(original, pixelData, 0xfffffff0);

    const error = nqo1ErrorOf(() => readCtSeries([arrayBufferOf(damaged)]));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain(
      `element (7FE0,0010) at byte ${pixelData.offset} declares a value of 4294967280 bytes`,
    );
    expect(error.details.remainingBytes).toBe(original.length - pixelData.offset);
  });

  it('checks the inflated dataset of a deflated file', () => {
    // A Deflated Explicit VR Little Endian CT: give the first sequence of the inflated dataset a
    // length past its end, and deflate it again.
    const original = readSeedFile(seedNamed('ct-deflated').file);
    const metaEnd = fileMetaEnd(original);
    const inflated = new Uint8Array(inflateRawSync(original.subarray(metaEnd)));
    const view = new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength);
    let sequenceOffset = -1;
    for (let offset = 0; offset + 12 <= inflated.length; offset++) {
      if (
        inflated[offset + 4] === 0x53 &&
        inflated[offset + 5] === 0x51 &&
        view.getUint16(offset + 6) === 0
      ) {
        sequenceOffset = offset;
        break;
      }
    }
    expect(sequenceOffset).toBeGreaterThan(0);
    view.setUint32(sequenceOffset + 8, inflated.length, true);
    const file = spliceBytes(
      original,
      metaEnd,
      original.length - metaEnd,
      new Uint8Array(deflateRawSync(inflated)),
    );

    const error = nqo1ErrorOf(() => readDicomFile(arrayBufferOf(file), 'Image file'));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain('Image file (inflated dataset): the file is truncated or corrupt');
    expect(error.details.offset).toBe(sequenceOffset);
  });

  it('accepts every unmutated seed file', () => {
    for (const seed of FUZZ_SEEDS) {
      const bytes = readSeedFile(seed.file);
      expect(() => {
        checkElementLengths(bytes, seed.name, MAX_INFLATED_BYTES);
      }, seed.name).not.toThrow();
    }
  });
});
