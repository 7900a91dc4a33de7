/** An in-memory PACS holding the dcmqi ct-3slice study and its liver SEG, for the study analyser. */
import type { DicomJsonDataset } from '../../../src/dicomweb/client.js';
import type { StudySource } from '../../../src/jobs/analyse-study.js';
import { CT_3SLICE } from '../../support/shared-data.js';

/** Builds a QIDO-RS series result. */
export function seriesResult(
  uid: string,
  modality: string,
  description: string,
  count: number,
): DicomJsonDataset {
  return {
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: [modality] },
    '0008103E': { vr: 'LO', Value: [description] },
    '00201209': { vr: 'IS', Value: [count] },
    '00080020': { vr: 'DA', Value: ['20030417'] },
  };
}

/** Builds an in-memory PACS containing the ct-3slice study, optionally without its SEG. */
export function fakePacs(
  ctFiles: ArrayBuffer[],
  segFile: ArrayBuffer | null,
): StudySource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    searchSeries: (study) => {
      calls.push(`qido ${study}`);
      const series = [seriesResult(CT_3SLICE.ctSeriesInstanceUid, 'CT', '', 3)];
      if (segFile !== null)
        series.push(seriesResult(CT_3SLICE.segSeriesInstanceUid, 'SEG', 'Liver Segmentation', 1));
      return Promise.resolve(series);
    },
    // The acquisition attributes of ct-3slice/01.dcm, as a QIDO-RS server that honours includefield returns them.
    searchInstances: (_study, series) => {
      calls.push(`qido instances ${series}`);
      return Promise.resolve([
        {
          '00080018': { vr: 'UI', Value: ['1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1'] },
          '00180050': { vr: 'DS', Value: [1.25] },
          '00181210': { vr: 'SH', Value: ['STANDARD'] },
          '00080032': { vr: 'TM', Value: ['105028'] },
        },
      ]);
    },
    retrieveInstanceMetadata: (_study, series) => {
      calls.push(`instance metadata ${series}`);
      return Promise.reject(new Error('the QIDO-RS result already holds the attributes'));
    },
    retrieveSeriesMetadata: (_study, series) => {
      calls.push(`metadata ${series}`);
      return Promise.resolve([
        {
          '0020000E': { vr: 'UI', Value: [CT_3SLICE.segSeriesInstanceUid] },
          '00080018': { vr: 'UI', Value: [CT_3SLICE.segSopInstanceUid] },
          '00081115': {
            vr: 'SQ',
            Value: [{ '0020000E': { vr: 'UI', Value: [CT_3SLICE.ctSeriesInstanceUid] } }],
          },
        },
      ]);
    },
    // Fresh buffers on each call, as from HTTP: the worker threads detach the CT files they receive.
    retrieveSeriesInstances: (_study, series) => {
      calls.push(`wado series ${series}`);
      return Promise.resolve(ctFiles.map((file) => file.slice(0)));
    },
    retrieveInstance: (_study, _series, sop) => {
      calls.push(`wado instance ${sop}`);
      if (segFile === null) return Promise.reject(new Error('no SEG stored'));
      return Promise.resolve(segFile.slice(0));
    },
  };
}
