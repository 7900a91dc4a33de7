/**
 * A generated arterial-phase study held in memory, and an in-memory PACS that serves it to the study
 * analyser without a network. The study is the demo phantom (`src/cli/demo/phantom.ts`) on a 512 × 512
 * grid of 0.78 × 0.78 × 1.25 mm voxels with a 40 mm radius tumour. The demo's dcmjs writers write it as
 * single-frame CT instances and one binary SEG.
 */
import { renderPhantom } from '../src/cli/demo/phantom.js';
import { newUid, writeCtSeries, writeTumourSeg } from '../src/cli/demo/write-dicom.js';
import type { DicomJsonDataset } from '../src/dicomweb/client.js';
import { readDicomFile } from '../src/imaging/dicom-dataset.js';
import type { Grid } from '../src/imaging/volume.js';
import type { StudySource } from '../src/jobs/analyse-study.js';

export interface GeneratedStudy {
  readonly studyInstanceUid: string;
  readonly ctSeriesInstanceUid: string;
  readonly segSeriesInstanceUid: string;
  readonly segSopInstanceUid: string;
  /** CT instances in slice order, with the WADO-RS metadata of each. */
  readonly ctFiles: readonly ArrayBuffer[];
  readonly ctMetadata: readonly DicomJsonDataset[];
  readonly segFile: ArrayBuffer;
}

/**
 * Renders and writes a study of `sliceCount` slices, centred on the origin. Positions are written
 * as literals rounded to 0.001 mm, so that ImagePositionPatient fits its 16-character DS.
 */
export function generateStudy(sliceCount: number): GeneratedStudy {
  const grid: Grid = {
    dimensions: [512, 512, sliceCount],
    spacingMm: [0.78, 0.78, 1.25],
    originMm: [-199.29, -199.29, -Math.round(((sliceCount - 1) * 1.25 * 1000) / 2) / 1000],
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
  const { image, tumour } = renderPhantom(grid, {
    seed: 40,
    tumourRadiusMm: 40,
    tumourMeanHu: 120,
    heterogeneityHu: 30,
    noiseSdHu: 12,
  });
  const study = {
    studyInstanceUid: newUid(),
    frameOfReferenceUid: newUid(),
    studyDate: '20261205',
    accessionNumber: 'BENCHLOOP',
  };
  const series = writeCtSeries(image, study);
  const segBytes = writeTumourSeg(tumour, study, series);
  const segFile = segBytes.slice().buffer;
  const segDataset = readDicomFile(segFile, 'generated SEG').dataset;

  const ctMetadata = series.sopInstanceUids.map((uid, k): DicomJsonDataset => ({
    '00080018': { vr: 'UI', Value: [uid] },
    '00200032': { vr: 'DS', Value: [grid.originMm[0], grid.originMm[1], grid.originMm[2] + k * 1.25] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
  }));
  return {
    studyInstanceUid: study.studyInstanceUid,
    ctSeriesInstanceUid: series.seriesInstanceUid,
    segSeriesInstanceUid: segDataset.requireString('SeriesInstanceUID'),
    segSopInstanceUid: segDataset.requireString('SOPInstanceUID'),
    ctFiles: series.files.map((bytes) => bytes.slice().buffer),
    ctMetadata,
    segFile,
  };
}

/** Resolves with `value` after a turn of the event loop, as a network response arrives. */
function later<T>(value: T): Promise<T> {
  return new Promise((resolve) => {
    setImmediate(() => {
      resolve(value);
    });
  });
}

/**
 * Serves `study` as the analyser's DICOMweb source. Each response arrives after a turn of the event
 * loop, as from a network. Each retrieval returns fresh copies of the files, as an HTTP client does,
 * because the worker threads detach the buffers they receive.
 */
export function inMemoryPacs(study: GeneratedStudy): StudySource {
  const bySop = new Map(
    study.ctMetadata.map((item, index) => [item['00080018']?.Value?.[0], study.ctFiles[index]!]),
  );
  const seriesResult = (uid: string, modality: string, count: number): DicomJsonDataset => ({
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: [modality] },
    '0008103E': { vr: 'LO', Value: [modality === 'CT' ? 'Arterial phase' : 'Tumour'] },
    '00201209': { vr: 'IS', Value: [count] },
  });
  return {
    searchSeries: () =>
      later([
        seriesResult(study.ctSeriesInstanceUid, 'CT', study.ctFiles.length),
        seriesResult(study.segSeriesInstanceUid, 'SEG', 1),
      ]),
    searchInstances: () => later([]),
    retrieveInstanceMetadata: () => Promise.reject(new Error('no instance metadata in the generated PACS')),
    retrieveSeriesMetadata: (_study, seriesUid) => {
      if (seriesUid === study.ctSeriesInstanceUid) return later([...study.ctMetadata]);
      return later([
        {
          '0020000E': { vr: 'UI', Value: [study.segSeriesInstanceUid] },
          '00080018': { vr: 'UI', Value: [study.segSopInstanceUid] },
          '00080060': { vr: 'CS', Value: ['SEG'] },
          '00081115': { vr: 'SQ', Value: [{ '0020000E': { vr: 'UI', Value: [study.ctSeriesInstanceUid] } }] },
        },
      ]);
    },
    // One copy per turn of the event loop, as the parts of a multipart response arrive.
    retrieveSeriesInstances: async () => {
      const copies: ArrayBuffer[] = [];
      for (const file of study.ctFiles) copies.push(await later(file.slice(0)));
      return copies;
    },
    retrieveInstance: (_study, _series, sop) => {
      if (sop === study.segSopInstanceUid) return later(study.segFile.slice(0));
      const file = bySop.get(sop);
      if (file === undefined) return Promise.reject(new Error(`no instance ${sop} in the generated PACS`));
      return later(file.slice(0));
    },
  };
}
