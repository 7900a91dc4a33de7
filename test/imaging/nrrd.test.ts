/** NRRD reader: real files from the shared data folder and small files built in the test. */

import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { maskFromLabelVolume, MAX_NRRD_VOXELS, readNrrd } from '../../src/imaging/nrrd.js';
import { countLabel } from '../../src/imaging/volume.js';

const DATA = new URL('../../../shared/data/', import.meta.url);

function readData(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, DATA)));
}

/** Builds an NRRD file from header lines and a payload. */
function nrrd(headerLines: readonly string[], payload: Uint8Array | string): Uint8Array {
  const header = new TextEncoder().encode(`NRRD0004\n${headerLines.join('\n')}\n\n`);
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const bytes = new Uint8Array(header.length + body.length);
  bytes.set(header);
  bytes.set(body, header.length);
  return bytes;
}

const GEOMETRY = [
  'dimension: 3',
  'sizes: 2 1 2',
  'space: left-posterior-superior',
  'space directions: (2,0,0) (0,3,0) (0,0,4)',
  'space origin: (10,20,30)',
];

/** Returns the ERR_NRRD_MALFORMED error `bytes` raise, with its field. */
function malformedField(bytes: Uint8Array): string {
  try {
    readNrrd(bytes);
  } catch (error) {
    if (isNqo1Error(error, 'ERR_NRRD_MALFORMED')) return String(error.details.field);
    throw error;
  }
  throw new Error('expected ERR_NRRD_MALFORMED');
}

describe('readNrrd on shared data', () => {
  it('brain1 image header', () => {
    const volume = readNrrd(readData('radiomics/pyradiomics/brain1_image.nrrd'));
    expect(volume.type).toBe('int16');
    expect(volume.grid.dimensions).toEqual([256, 256, 25]);
    expect(volume.grid.spacingMm[0]).toBeCloseTo(0.78125, 12);
    expect(volume.grid.spacingMm[1]).toBeCloseTo(0.78125, 12);
    expect(volume.grid.spacingMm[2]).toBeCloseTo(6.5, 12);
    expect(volume.grid.originMm).toEqual([-99.609374999999986, 99.609374999999986, -77.999999999999957]);
    // The second space direction points along −y (anterior) in LPS.
    expect(volume.grid.axes).toEqual([
      [1, 0, 0],
      [0, -1, 0],
      [0, 0, 1],
    ]);
    expect(volume.voxels).toHaveLength(256 * 256 * 25);
  });

  it('liver segmentation gzip int16 label map', () => {
    const bytes = readData('dicom/dcmqi/segmentations/liver_seg.nrrd');
    const volume = readNrrd(bytes);
    expect(volume.type).toBe('int16');
    expect(volume.grid.dimensions).toEqual([512, 512, 3]);
    const labelOne = countLabel(maskFromLabelVolume(volume, 1));

    // Independent count: find the blank line that ends the header, gunzip the rest, read int16 LE.
    const headerEnd = Buffer.from(bytes).indexOf('\n\n') + 2;
    const raw = gunzipSync(bytes.subarray(headerEnd));
    let expected = 0;
    for (let offset = 0; offset < raw.length; offset += 2) if (raw.readInt16LE(offset) === 1) expected++;

    expect(raw.length).toBe(512 * 512 * 3 * 2);
    expect(expected).toBeGreaterThan(0);
    expect(labelOne).toBe(expected);
  });
});

describe('readNrrd encodings and spaces', () => {
  it('raw big-endian int16', () => {
    const payload = new Uint8Array(8);
    const view = new DataView(payload.buffer);
    [-1000, 0, 300, 32767].forEach((value, index) => {
      view.setInt16(2 * index, value, false);
    });
    const volume = readNrrd(nrrd(['type: short', ...GEOMETRY, 'endian: big', 'encoding: raw'], payload));
    expect(Array.from(volume.voxels)).toEqual([-1000, 0, 300, 32767]);
    expect(volume.grid.spacingMm).toEqual([2, 3, 4]);
    expect(volume.grid.originMm).toEqual([10, 20, 30]);
  });

  it('gzip little-endian double', () => {
    const payload = new Uint8Array(new Float64Array([0.5, -2.25, 1e-3, 7]).buffer);
    const volume = readNrrd(
      nrrd(['type: double', ...GEOMETRY, 'endian: little', 'encoding: gzip'], gzipSync(payload)),
    );
    expect(Array.from(volume.voxels)).toEqual([0.5, -2.25, 1e-3, 7]);
  });

  it('ascii uint8 without endian', () => {
    const volume = readNrrd(nrrd(['type: uchar', ...GEOMETRY, 'encoding: ascii'], '0 1\n2 255\n'));
    expect(volume.type).toBe('uint8');
    expect(Array.from(volume.voxels)).toEqual([0, 1, 2, 255]);
  });

  it('RAS is converted to LPS', () => {
    const lines = GEOMETRY.map((line) =>
      line.startsWith('space:') ? 'space: right-anterior-superior' : line,
    ).map((line) =>
      line.startsWith('space directions') ? 'space directions: (-2,0,0) (0,-3,0) (0,0,4)' : line,
    );
    const volume = readNrrd(nrrd(['type: uint8', ...lines, 'encoding: ascii'], '1 2 3 4'));
    // RAS (x, y, z) is LPS (−x, −y, z): axes (−1,0,0) and (0,−1,0) in RAS are +x and +y in LPS.
    expect(volume.grid.axes[0]).toEqual([1, 0, 0]);
    expect(volume.grid.axes[1]).toEqual([0, 1, 0]);
    expect(volume.grid.originMm).toEqual([-10, -20, 30]);
  });

  it('oblique direction is normalised', () => {
    const lines = GEOMETRY.map((line) =>
      line.startsWith('space directions') ? 'space directions: (3,4,0) (0,0,2) (0,1,0)' : line,
    );
    const volume = readNrrd(nrrd(['type: int8', ...lines, 'encoding: ascii'], '-1 -2 -3 -4'));
    expect(volume.grid.spacingMm).toEqual([5, 2, 1]);
    expect(volume.grid.axes[0]).toEqual([0.6, 0.8, 0]);
  });

  it('mask helper truncates like a UInt32 cast', () => {
    const volume = readNrrd(nrrd(['type: float', ...GEOMETRY, 'encoding: ascii'], '1.0 1.7 0.004 2'));
    expect(Array.from(maskFromLabelVolume(volume, 1).voxels)).toEqual([1, 1, 0, 0]);
  });
});

describe('readNrrd malformed headers', () => {
  const valid = ['type: uint8', ...GEOMETRY, 'encoding: ascii'];
  const without = (prefix: string): string[] => valid.filter((line) => !line.startsWith(prefix));

  it('bad magic', () => {
    const bytes = nrrd(valid, '1 2 3 4');
    bytes.set(new TextEncoder().encode('NRRX'), 0);
    expect(malformedField(bytes)).toBe('magic');
  });

  it('missing sizes', () => {
    expect(malformedField(nrrd(without('sizes'), '1 2 3 4'))).toBe('sizes');
  });

  it('missing type', () => {
    expect(malformedField(nrrd(without('type'), '1 2 3 4'))).toBe('type');
  });

  it('unknown type', () => {
    expect(malformedField(nrrd(['type: quaternion', ...valid.slice(1)], '1 2 3 4'))).toBe('type');
  });

  it('dimension other than 3', () => {
    const lines = valid.map((line) => (line === 'dimension: 3' ? 'dimension: 2' : line));
    expect(malformedField(nrrd(lines, '1 2 3 4'))).toBe('dimension');
  });

  it('unsupported encoding', () => {
    const lines = valid.map((line) => (line.startsWith('encoding') ? 'encoding: bzip2' : line));
    expect(malformedField(nrrd(lines, '1 2 3 4'))).toBe('encoding');
  });

  it('unsupported space', () => {
    const lines = valid.map((line) => (line.startsWith('space:') ? 'space: scanner-xyz' : line));
    expect(malformedField(nrrd(lines, '1 2 3 4'))).toBe('space');
  });

  it('bad space directions', () => {
    const lines = valid.map((line) =>
      line.startsWith('space directions') ? 'space directions: (1,0,0) (0,1,0)' : line,
    );
    expect(malformedField(nrrd(lines, '1 2 3 4'))).toBe('space directions');
  });

  it('missing endian for int16 raw', () => {
    const lines = ['type: int16', ...GEOMETRY, 'encoding: raw'];
    expect(malformedField(nrrd(lines, new Uint8Array(8)))).toBe('endian');
  });

  it('truncated raw data', () => {
    const lines = ['type: int16', ...GEOMETRY, 'endian: little', 'encoding: raw'];
    expect(malformedField(nrrd(lines, new Uint8Array(6)))).toBe('sizes');
  });

  it('corrupt gzip data', () => {
    const lines = ['type: uint8', ...GEOMETRY, 'encoding: gzip'];
    expect(malformedField(nrrd(lines, new Uint8Array([1, 2, 3, 4])))).toBe('encoding');
  });

  it('detached data file', () => {
    expect(malformedField(nrrd([...valid, 'data file: volume.raw'], ''))).toBe('data file');
  });
});

describe('readNrrd gzip size limit', () => {
  /** Returns the ERR_NRRD_MALFORMED error `bytes` raise. */
  function malformedError(bytes: Uint8Array): Error {
    try {
      readNrrd(bytes);
    } catch (error) {
      if (isNqo1Error(error, 'ERR_NRRD_MALFORMED')) return error;
      throw error;
    }
    throw new Error('expected ERR_NRRD_MALFORMED');
  }

  it('rejects data larger than declared', () => {
    // sizes 2 1 2 of uint8 declare 4 bytes; 8 MiB of zeros gzip to about 8 KiB.
    const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024));
    const error = malformedError(nrrd(['type: uint8', ...GEOMETRY, 'encoding: gzip'], bomb));
    expect(error.message).toContain('more than the 4 bytes that sizes and type declare');
    expect(isNqo1Error(error) && error.details.declaredBytes).toBe(4);
  });

  it('rejects a header declaring too many voxels', () => {
    // 1024³ voxels would take 8 GiB once decoded; the reader stops at the header.
    const lines = GEOMETRY.map((line) => (line.startsWith('sizes:') ? 'sizes: 1024 1024 1024' : line));
    const error = malformedError(
      nrrd(['type: uint8', ...lines, 'encoding: gzip'], gzipSync(new Uint8Array(16))),
    );
    expect(error.message).toContain(`declare 1073741824 voxels, more than the ${MAX_NRRD_VOXELS}`);
  });

  it('accepts data of exactly the declared size', () => {
    const lines = ['type: uint8', ...GEOMETRY, 'encoding: gzip'];
    const volume = readNrrd(nrrd(lines, gzipSync(new Uint8Array([1, 2, 3, 4]))));
    expect([...volume.voxels]).toEqual([1, 2, 3, 4]);
  });
});
