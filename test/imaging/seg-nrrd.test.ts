/** 3D Slicer .seg.nrrd segments on the slicerio chest CT. */

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { readNrrd, readNrrdLayers } from '../../src/imaging/nrrd.js';
import { isSlicerSegmentation, maskFromSegNrrd, readSlicerSegments } from '../../src/imaging/seg-nrrd.js';
import { countLabel } from '../../src/imaging/volume.js';

const SLICERIO = new URL('../../../shared/data/dicom/slicerio/', import.meta.url);

function readData(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, SLICERIO)));
}

/** Gunzips the data after the blank line that ends the header: the raw uint8 samples. */
function rawSamples(bytes: Uint8Array): Buffer {
  const headerEnd = Buffer.from(bytes).indexOf('\n\n') + 2;
  return gunzipSync(bytes.subarray(headerEnd));
}

function errorOf(action: () => unknown): { code: string; message: string } {
  try {
    action();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected an error');
}

const CT_GRID = readNrrd(readData('CTChest4.nrrd')).grid;
const VOXELS = 128 * 128 * 34;

describe('Segmentation.seg.nrrd (one layer, 7 segments)', () => {
  const bytes = readData('Segmentation.seg.nrrd');
  const volume = readNrrdLayers(bytes);
  const raw = rawSamples(bytes);

  it('lists the segments', () => {
    expect(isSlicerSegmentation(volume)).toBe(true);
    expect(volume.layers).toBe(1);
    expect(raw.length).toBe(VOXELS);
    const segments = readSlicerSegments(volume.keyValues);
    expect(segments.map((segment) => segment.name)).toEqual([
      'ribs',
      'cervical vertebral column',
      'thoracic vertebral column',
      'lumbar vertebral column',
      'right lung',
      'left lung',
      'tissue',
    ]);
    expect(segments.map((segment) => segment.labelValue)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7])('counts the voxels of label %i', (label) => {
    const mask = maskFromSegNrrd(volume, CT_GRID, { idOrName: `Segment_${label}` });
    let expected = 0;
    for (const value of raw) if (value === label) expected++;
    expect(expected).toBeGreaterThan(0);
    expect(countLabel(mask)).toBe(expected);
  });

  it('selects by name ignoring case', () => {
    const byName = maskFromSegNrrd(volume, CT_GRID, { idOrName: 'Right Lung' });
    const byLabel = maskFromSegNrrd(volume, CT_GRID, { labelValue: 5 });
    expect(countLabel(byName)).toBe(countLabel(byLabel));
  });

  it('lists the segments when none is chosen', () => {
    const error = errorOf(() => maskFromSegNrrd(volume, CT_GRID));
    expect(error.code).toBe('ERR_SEGMENT_SELECTION');
    expect(error.message).toContain('"right lung" (ID Segment_5, layer 0, label 5)');
  });

  it('rejects an unknown name', () => {
    expect(errorOf(() => maskFromSegNrrd(volume, CT_GRID, { idOrName: 'liver' })).message).toContain(
      'no segment matches ID or name "liver"',
    );
  });
});

describe('SegmentationOverlapping.seg.nrrd (two layers, 8 segments)', () => {
  const bytes = readData('SegmentationOverlapping.seg.nrrd');
  const volume = readNrrdLayers(bytes);
  const raw = rawSamples(bytes);
  const segments = readSlicerSegments(volume.keyValues);

  it('reads the layer axis', () => {
    expect(volume.layers).toBe(2);
    expect(volume.grid).toEqual(CT_GRID);
    expect(raw.length).toBe(2 * VOXELS);
    expect(segments).toHaveLength(8);
    expect(segments[7]).toMatchObject({ name: 'overlapping sphere', layer: 1, labelValue: 1 });
  });

  it('counts each segment in its layer', () => {
    for (const segment of segments) {
      const mask = maskFromSegNrrd(volume, CT_GRID, { idOrName: segment.id });
      let expected = 0;
      for (let index = 0; index < VOXELS; index++)
        if (raw[segment.layer + 2 * index] === segment.labelValue) expected++;
      expect(expected).toBeGreaterThan(0);
      expect(countLabel(mask)).toBe(expected);
    }
  });

  it('lets overlapping segments share voxels', () => {
    // The sphere (layer 1, label 1) overlaps the left lung (layer 0, label 6): 8723 voxels by the
    // raw samples, where sample 2n is layer 0 and sample 2n + 1 layer 1 of voxel n.
    const sphere = maskFromSegNrrd(volume, CT_GRID, { idOrName: 'overlapping sphere' });
    const leftLung = maskFromSegNrrd(volume, CT_GRID, { idOrName: 'left lung' });
    let expected = 0;
    let both = 0;
    let firstShared = -1;
    for (let index = 0; index < VOXELS; index++) {
      if (raw[2 * index] === 6 && raw[2 * index + 1] === 1) expected++;
      if (leftLung.voxels[index] === 1 && sphere.voxels[index] === 1) {
        both++;
        if (firstShared < 0) firstShared = index;
      }
    }
    expect(expected).toBe(8723);
    expect(both).toBe(expected);
    expect(sphere.voxels[firstShared]).toBe(1);
    expect(leftLung.voxels[firstShared]).toBe(1);
  });

  it('needs the name when label values repeat across layers', () => {
    expect(errorOf(() => maskFromSegNrrd(volume, CT_GRID, { labelValue: 1 })).message).toContain(
      '2 segments match label value 1',
    );
  });

  it('is rejected by the 3-D reader', () => {
    expect(errorOf(() => readNrrd(bytes)).code).toBe('ERR_NRRD_MALFORMED');
  });
});

describe('readNrrdLayers on built files', () => {
  function layered(kinds: string, directions: string): Uint8Array {
    const header = [
      'NRRD0004',
      'type: uint8',
      'dimension: 4',
      'space: left-posterior-superior',
      'sizes: 2 2 1 1',
      `space directions: ${directions}`,
      `kinds: ${kinds}`,
      'encoding: raw',
      'Segment0_ID:=a',
      '',
      '',
    ].join('\n');
    const bytes = new Uint8Array(header.length + 4);
    bytes.set(new TextEncoder().encode(header));
    bytes.set([1, 2, 3, 4], header.length);
    return bytes;
  }

  it('puts the layer axis fastest', () => {
    const volume = readNrrdLayers(layered('list domain domain domain', 'none (1,0,0) (0,1,0) (0,0,1)'));
    expect(volume.layers).toBe(2);
    expect(volume.grid.dimensions).toEqual([2, 1, 1]);
    expect([...volume.voxels]).toEqual([1, 2, 3, 4]);
    expect(volume.keyValues.get('Segment0_ID')).toBe('a');
  });

  it('rejects a spatial first axis', () => {
    expect(
      errorOf(() => readNrrdLayers(layered('domain domain domain domain', 'none (1,0,0) (0,1,0) (0,0,1)')))
        .code,
    ).toBe('ERR_NRRD_MALFORMED');
    expect(
      errorOf(() => readNrrdLayers(layered('list domain domain domain', '(1,0,0) (1,0,0) (0,1,0) (0,0,1)')))
        .message,
    ).toContain('must have direction "none"');
  });
});
