import { describe, expect, test } from 'vitest';

import {
  classifyStudiesPrefetch,
  readStudyInstanceUid,
  scanCtStudies,
  selectNewestCtStudy,
} from '../../cds-services/nqo1-risk/prefetch.js';
import { imagingStudy, PATIENT_ID, searchsetBundle } from '../support/cds-fixtures.js';

describe('selectNewestCtStudy', () => {
  test('picks the newest study with a CT series', () => {
    const bundle = searchsetBundle([
      imagingStudy({ id: 'a', uid: '1.1', started: '2025-01-01T00:00:00Z' }),
      imagingStudy({ id: 'b', uid: '1.2', started: '2026-01-01T00:00:00Z', seriesModalities: ['SEG', 'CT'] }),
      imagingStudy({ id: 'c', uid: '1.3', started: '2026-06-01T00:00:00Z', seriesModalities: ['US'] }),
    ]);

    expect(selectNewestCtStudy(bundle, PATIENT_ID)).toEqual({ imagingStudyId: 'b', studyInstanceUid: '1.2' });
  });

  test('puts studies without started last', () => {
    const bundle = searchsetBundle([
      imagingStudy({ id: 'undated', uid: '1.1' }),
      imagingStudy({ id: 'dated', uid: '1.2', started: '2020-01-01' }),
    ]);
    expect(selectNewestCtStudy(bundle, PATIENT_ID)?.imagingStudyId).toBe('dated');
  });

  test('skips studies of another patient', () => {
    const bundle = searchsetBundle([imagingStudy({ id: 'x', uid: '1.1', patientId: 'someone-else' })]);
    expect(selectNewestCtStudy(bundle, PATIENT_ID)).toBeUndefined();
  });

  test('accepts an absolute subject reference', () => {
    const study = {
      ...imagingStudy({ id: 'x', uid: '1.1' }),
      subject: { reference: `https://ehr.test/fhir/Patient/${PATIENT_ID}` },
    };
    expect(selectNewestCtStudy(searchsetBundle([study]), PATIENT_ID)?.imagingStudyId).toBe('x');
  });

  test('skips cancelled and entered-in-error studies', () => {
    const bundle = searchsetBundle([
      imagingStudy({ id: 'x', uid: '1.1', status: 'cancelled', started: '2026-01-01' }),
      imagingStudy({ id: 'y', uid: '1.2', status: 'entered-in-error', started: '2026-01-02' }),
      imagingStudy({ id: 'z', uid: '1.3', started: '2020-01-01' }),
    ]);
    expect(selectNewestCtStudy(bundle, PATIENT_ID)?.imagingStudyId).toBe('z');
  });

  test('reads an R5 CodeableConcept modality', () => {
    const study = {
      ...imagingStudy({ id: 'r5', uid: '1.1' }),
      series: [
        {
          uid: '1.1.1',
          modality: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }] },
        },
      ],
    };
    expect(selectNewestCtStudy(searchsetBundle([study]), PATIENT_ID)?.imagingStudyId).toBe('r5');
  });

  test('skips other resource types in the bundle', () => {
    const bundle = searchsetBundle([
      { resourceType: 'OperationOutcome', issue: [] },
      imagingStudy({ id: 'ok', uid: '1.1' }),
    ]);
    expect(selectNewestCtStudy(bundle, PATIENT_ID)?.imagingStudyId).toBe('ok');
  });

  test('returns undefined for an empty bundle', () => {
    expect(selectNewestCtStudy({ resourceType: 'Bundle', type: 'searchset' }, PATIENT_ID)).toBeUndefined();
  });

  test('rejects a prefetch that is not a Bundle', () => {
    expect(() => selectNewestCtStudy({ resourceType: 'Patient' }, PATIENT_ID)).toThrow(
      /prefetch.studies is not a FHIR Bundle/,
    );
  });
});

describe('scanCtStudies', () => {
  test('counts skipped studies by reason', () => {
    const bundle = searchsetBundle([
      imagingStudy({ id: 'injected', uid: "1.2.3' OR 1=1" }),
      imagingStudy({ id: 'too-long', uid: `1.${'2'.repeat(70)}` }),
      imagingStudy({ id: 'other', uid: '1.4', patientId: 'someone-else' }),
      imagingStudy({ id: 'mr', uid: '1.5', seriesModalities: ['MR'] }),
      imagingStudy({ id: 'gone', uid: '1.6', status: 'entered-in-error' }),
      { resourceType: 'ImagingStudy', status: 'available' },
      { resourceType: 'OperationOutcome', issue: [] },
    ]);
    const scan = scanCtStudies(bundle, PATIENT_ID);

    expect(scan.study).toBeUndefined();
    expect(scan.skipped).toEqual({
      'invalid-study-uid': 2,
      'other-patient': 1,
      'no-ct-series': 1,
      'inactive-status': 1,
      'invalid-imaging-study': 1,
    });
  });

  test('lists every usable study newest first, with its start time', () => {
    const bundle = searchsetBundle([
      imagingStudy({ id: 'undated', uid: '1.9' }),
      imagingStudy({ id: 'old', uid: '1.1', started: '2024-01-01' }),
      imagingStudy({ id: 'new', uid: '1.2', started: '2026-05-01T08:30:00+08:00' }),
      imagingStudy({ id: 'mr', uid: '1.3', started: '2026-09-01', seriesModalities: ['MR'] }),
    ]);
    const scan = scanCtStudies(bundle, PATIENT_ID);

    expect(scan.candidates).toEqual([
      { imagingStudyId: 'new', studyInstanceUid: '1.2', started: '2026-05-01T08:30:00+08:00' },
      { imagingStudyId: 'old', studyInstanceUid: '1.1', started: '2024-01-01' },
      { imagingStudyId: 'undated', studyInstanceUid: '1.9' },
    ]);
    expect(scan.study).toBe(scan.candidates[0]);
  });

  test('counts nothing for a clean bundle', () => {
    const scan = scanCtStudies(searchsetBundle([imagingStudy({ id: 'a', uid: '1.1' })]), PATIENT_ID);

    expect(scan.study?.studyInstanceUid).toBe('1.1');
    expect(scan.skipped).toEqual({});
  });
});

describe('classifyStudiesPrefetch', () => {
  test.each([
    ['undefined', undefined, { kind: 'absent' }],
    ['null', null, { kind: 'absent' }],
    [
      'an OperationOutcome',
      {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'timeout' }, { severity: 'error' }],
      },
      { kind: 'failed', issueCodes: ['timeout'] },
    ],
    [
      'an OperationOutcome without issues',
      { resourceType: 'OperationOutcome' },
      { kind: 'failed', issueCodes: [] },
    ],
    [
      'a Bundle with a next link',
      {
        ...searchsetBundle([imagingStudy({ id: 'a' }), imagingStudy({ id: 'b' })]),
        link: [
          { relation: 'self', url: 'http://127.0.0.1:8103/fhir/R4/ImagingStudy' },
          { relation: 'next', url: 'http://127.0.0.1:8103/fhir/R4/ImagingStudy?_page=2' },
        ],
      },
      { kind: 'paginated', entryCount: 2 },
    ],
    [
      'a Bundle with self and previous links only',
      {
        ...searchsetBundle([imagingStudy({ id: 'a' })]),
        link: [
          { relation: 'self', url: 'http://127.0.0.1:8103/fhir/R4/ImagingStudy?_page=2' },
          { relation: 'previous', url: 'http://127.0.0.1:8103/fhir/R4/ImagingStudy?_page=1' },
        ],
      },
      { kind: 'complete' },
    ],
    ['a Bundle without links', searchsetBundle([]), { kind: 'complete' }],
    ['a Patient (rejected later by scanCtStudies)', { resourceType: 'Patient' }, { kind: 'complete' }],
  ])('classifies %s', (_name, value, expected) => {
    expect(classifyStudiesPrefetch(value)).toEqual(expected);
  });
});

describe('readStudyInstanceUid', () => {
  test.each([
    [[{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.840.113619.2.55' }], '1.2.840.113619.2.55'],
    [[{ system: 'urn:dicom:uid', value: '1.2.3' }], '1.2.3'],
    [[{ system: 'http://hospital/accession', value: 'A123' }], undefined],
    [[{ system: 'urn:dicom:uid', value: 'urn:oid:1.02.3' }], undefined],
    [[{ system: 'urn:dicom:uid', value: `urn:oid:1.${'2'.repeat(64)}` }], undefined],
    [[{ system: 'urn:dicom:uid', value: 'urn:oid:1.2;DROP TABLE' }], undefined],
  ])('reads %j as %s', (identifier, expected) => {
    expect(readStudyInstanceUid({ identifier })).toBe(expected);
  });
});
