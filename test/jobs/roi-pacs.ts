/**
 * An in-memory PACS for the ROI-first retrieval tests: QIDO-RS series, WADO-RS metadata built from
 * the stored CT files, and retrieval of the series or of single instances, with every request and
 * every byte sent counted.
 */
import dcmjs from 'dcmjs';

import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import type { StudySource } from '../../src/jobs/analyse-study.js';
import { movedCopyOfSlice } from '../imaging/build-dicom.js';

/** Where the stored files belong. */
export interface RoiStudy {
  readonly ctSeriesInstanceUid: string;
  readonly segSeriesInstanceUid: string;
  readonly segSopInstanceUid: string;
  /** Modality of the segmentation series in QIDO-RS; default SEG. */
  readonly segModality?: 'SEG' | 'RTSTRUCT';
}

/** What the analyser asked for, and the CT bytes sent. */
export interface PacsTraffic {
  readonly calls: string[];
  ctBytesSent: number;
}

type RawDataset = Record<string, { vr: string; Value?: unknown[] }>;

/** Builds the metadata WADO-RS gives for one CT file: its UID, position and orientation as DICOM JSON. */
export function ctInstanceMetadata(file: ArrayBuffer): DicomJsonDataset {
  const { dict } = dcmjs.data.DicomMessage.readFile(file.slice(0)) as { dict: RawDataset };
  const attribute = (tag: string): DicomJsonDataset[string] => ({
    vr: dict[tag]?.vr ?? 'UN',
    Value: dict[tag]?.Value ?? [],
  });
  return {
    '00080018': attribute('00080018'),
    '00200032': attribute('00200032'),
    '00200037': attribute('00200037'),
  };
}

/** Builds the WADO-RS metadata of one CT file with its acquisition attributes, as the series rules read it. */
export function ctAcquisitionMetadata(file: ArrayBuffer): DicomJsonDataset {
  const { dict } = dcmjs.data.DicomMessage.readFile(file.slice(0)) as { dict: RawDataset };
  const tags = ['00080018', '00080031', '00080032', '00180010', '00180050', '00181210', '00181042'];
  return Object.fromEntries(
    tags
      .filter((tag) => dict[tag] !== undefined)
      .map((tag) => [tag, { vr: dict[tag]!.vr, Value: dict[tag]!.Value ?? [] }]),
  );
}

/** Serves CT files and one SEG or RTSTRUCT under the UIDs of `study`; `ctMetadata` defaults to that of the files. */
export function roiPacs(
  study: RoiStudy,
  ctFiles: readonly ArrayBuffer[],
  segFile: ArrayBuffer,
  ctMetadata: readonly DicomJsonDataset[] = ctFiles.map(ctInstanceMetadata),
): StudySource & { traffic: PacsTraffic } {
  const traffic: PacsTraffic = { calls: [], ctBytesSent: 0 };
  const bySop = new Map(
    ctFiles.map((file) => [String(ctInstanceMetadata(file)['00080018']?.Value?.[0]), file]),
  );
  const series = (uid: string, modality: string, count: number): DicomJsonDataset => ({
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: [modality] },
    '00201209': { vr: 'IS', Value: [count] },
  });
  const sent = (files: readonly ArrayBuffer[]): void => {
    traffic.ctBytesSent += files.reduce((sum, file) => sum + file.byteLength, 0);
  };
  return {
    traffic,
    searchSeries: () =>
      Promise.resolve([
        series(study.ctSeriesInstanceUid, 'CT', ctFiles.length),
        series(study.segSeriesInstanceUid, study.segModality ?? 'SEG', 1),
      ]),
    // Like Orthanc 1.10 given a percent-encoded includefield list: the SOP Instance UID only.
    searchInstances: (_study, seriesUid) => {
      traffic.calls.push(`qido instances ${seriesUid}`);
      const first = ctMetadata[0];
      if (seriesUid !== study.ctSeriesInstanceUid || first === undefined) return Promise.resolve([]);
      return Promise.resolve([{ '00080018': first['00080018']! }]);
    },
    retrieveInstanceMetadata: (_study, seriesUid, sop) => {
      traffic.calls.push(`instance metadata ${seriesUid}`);
      const file = bySop.get(sop);
      if (file === undefined) return Promise.reject(new Error(`no instance ${sop}`));
      return Promise.resolve(ctAcquisitionMetadata(file));
    },
    retrieveSeriesMetadata: (_study, seriesUid) => {
      traffic.calls.push(`metadata ${seriesUid}`);
      if (seriesUid === study.ctSeriesInstanceUid) return Promise.resolve([...ctMetadata]);
      return Promise.resolve([
        {
          '0020000E': { vr: 'UI', Value: [study.segSeriesInstanceUid] },
          '00080018': { vr: 'UI', Value: [study.segSopInstanceUid] },
          '00081115': {
            vr: 'SQ',
            Value: [{ '0020000E': { vr: 'UI', Value: [study.ctSeriesInstanceUid] } }],
          },
        },
      ]);
    },
    retrieveSeriesInstances: (_study, seriesUid) => {
      traffic.calls.push(`wado series ${seriesUid}`);
      sent(ctFiles);
      return Promise.resolve([...ctFiles]);
    },
    retrieveInstance: (_study, _series, sop) => {
      if (sop === study.segSopInstanceUid) {
        traffic.calls.push('wado seg');
        return Promise.resolve(segFile);
      }
      traffic.calls.push(`wado instance ${sop}`);
      const file = bySop.get(sop);
      if (file === undefined) return Promise.reject(new Error(`no instance ${sop}`));
      sent([file]);
      return Promise.resolve(file);
    },
  };
}

/**
 * Widens the three ct-3slice files (z −128.69 … −126.69 mm, 1 mm apart; 01.dcm on top, 03.dcm at
 * the bottom) with `perSide` moved copies of the top slice above and of the bottom slice below, 1 mm
 * apart, named 2.25.9100n above and 2.25.9200n below. The liver SEG still covers the middle three.
 */
export function widenCt3Slice(realCt: readonly ArrayBuffer[], perSide: number): ArrayBuffer[] {
  const [top, , bottom] = realCt as [ArrayBuffer, ArrayBuffer, ArrayBuffer];
  const added = Array.from({ length: perSide }, (_unused, index) => [
    movedCopyOfSlice(top, `2.25.9100${index + 1}`, [-235.199997, -226.800003, -126.690002 + index + 1]),
    movedCopyOfSlice(bottom, `2.25.9200${index + 1}`, [-235.199997, -226.800003, -128.690002 - index - 1]),
  ]).flat();
  return [...realCt, ...added];
}

/**
 * Widens the two rt-utils CT slices (ct_1.dcm at z = 60 mm, ct_2.dcm at z = 65 mm) with `perSide`
 * moved copies 5 mm apart, of ct_1 below (2.25.9300n) and of ct_2 above (2.25.9400n). The rt.dcm
 * contours lie at z = 60 mm.
 */
export function widenRtUtils(ct1: ArrayBuffer, ct2: ArrayBuffer, perSide: number): ArrayBuffer[] {
  const added = Array.from({ length: perSide }, (_unused, index) => [
    movedCopyOfSlice(ct1, `2.25.9300${index + 1}`, [-125, -125, 60 - 5 * (index + 1)]),
    movedCopyOfSlice(ct2, `2.25.9400${index + 1}`, [-125, -125, 65 + 5 * (index + 1)]),
  ]).flat();
  return [ct1, ct2, ...added];
}
