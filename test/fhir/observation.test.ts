import { validateResource } from '@medplum/core';
import type { Observation } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';

import { PRODUCT_CODE_SYSTEM, RESULT_CODE, RESULT_ID_SYSTEM, UCUM_SYSTEM } from '../../src/fhir/codes.js';
import { buildObservation, type ObservationContext } from '../../src/fhir/observation.js';
import { buildDevice, buildProvenance, deviceIdentifier } from '../../src/fhir/provenance.js';
import { loadFhirDefinitions } from '../support/fhir-server.js';
import { SAMPLE_FEATURES, calibratedResult, uncalibratedResult } from '../support/score-result.js';

const CONTEXT: ObservationContext = {
  patientId: 'pat-1',
  imagingStudyId: 'img-1',
  studyInstanceUid: '1.2.3.4',
  deviceId: 'dev-1',
  issued: '2026-12-04T20:01:00.000Z',
};

beforeAll(() => {
  loadFhirDefinitions();
});

describe('buildObservation', () => {
  test('calibrated result validates against R4', () => {
    expect(validateResource(buildObservation(calibratedResult(), CONTEXT))).toEqual([]);
  });

  test('validator rejects a broken Observation', () => {
    const broken = {
      ...buildObservation(calibratedResult(), CONTEXT),
      subject: 'Patient/pat-1',
    } as unknown as Observation;

    expect(() => validateResource(broken)).toThrow(/Observation\.subject/);
  });

  test('uncalibrated result validates against R4', () => {
    expect(validateResource(buildObservation(uncalibratedResult(), CONTEXT))).toEqual([]);
  });

  test('carries code, status, category and subject', () => {
    const observation = buildObservation(calibratedResult(), CONTEXT);

    expect(observation.status).toBe('preliminary');
    expect(observation.code.coding?.[0]).toMatchObject({ system: PRODUCT_CODE_SYSTEM, code: RESULT_CODE });
    expect(observation.category?.[0]?.coding?.[0]?.code).toBe('imaging');
    expect(observation.subject).toEqual({ reference: 'Patient/pat-1' });
    expect(observation.effectiveDateTime).toBe('2026-12-04T20:00:00.000Z');
    expect(observation.issued).toBe(CONTEXT.issued);
  });

  test('probability is a UCUM ratio', () => {
    const observation = buildObservation(calibratedResult(), CONTEXT);

    expect(observation.valueQuantity).toEqual({ value: 0.81, unit: '1', system: UCUM_SYSTEM, code: '1' });
    expect(observation.dataAbsentReason).toBeUndefined();
    expect(observation.referenceRange?.[0]?.high?.value).toBe(0.404);
  });

  test.each([
    ['high', 'H'],
    ['low', 'L'],
  ] as const)('class %s is interpreted as %s', (predicted, code) => {
    const observation = buildObservation(calibratedResult({ class: predicted }), CONTEXT);

    expect(observation.interpretation?.[0]?.coding?.[0]?.code).toBe(code);
  });

  test('uncalibrated result has no value but a reason', () => {
    const observation = buildObservation(uncalibratedResult(), CONTEXT);

    expect(observation.valueQuantity).toBeUndefined();
    expect(observation.interpretation).toBeUndefined();
    expect(observation.dataAbsentReason?.coding?.[0]?.code).toBe('unsupported');
    expect(observation.note?.[0]?.text).toContain('calibrate');
  });

  test('one component per feature with its own code', () => {
    const observation = buildObservation(calibratedResult(), CONTEXT);
    const components = observation.component ?? [];

    expect(components).toHaveLength(6);
    for (const [name, value] of Object.entries(SAMPLE_FEATURES)) {
      const component = components.find((item) => item.code.coding?.[0]?.code === name);
      expect(component?.code.coding?.[0]?.system).toBe(PRODUCT_CODE_SYSTEM);
      expect(component?.valueQuantity?.value).toBe(value);
    }
  });

  test('non-finite feature becomes data-absent', () => {
    const result = calibratedResult({ features: { ...SAMPLE_FEATURES, Whole_ngtdm_Coarseness: Number.NaN } });

    const observation = buildObservation(result, CONTEXT);
    const component = observation.component?.find(
      (item) => item.code.coding?.[0]?.code === 'Whole_ngtdm_Coarseness',
    );

    expect(component?.valueQuantity).toBeUndefined();
    expect(component?.dataAbsentReason?.coding?.[0]?.code).toBe('not-a-number');
    expect(validateResource(observation)).toEqual([]);
  });

  test('references study and device, identifier per study and model', () => {
    const observation = buildObservation(calibratedResult(), CONTEXT);

    expect(observation.derivedFrom).toEqual([{ reference: 'ImagingStudy/img-1' }]);
    expect(observation.device).toEqual({ reference: 'Device/dev-1' });
    expect(observation.identifier).toEqual([{ system: RESULT_ID_SYSTEM, value: '1.2.3.4:br-ro:1.0.0-site' }]);
    expect(observation.method?.text).toContain('br-ro version 1.0.0-site');
    expect(observation.note?.at(-1)?.text).toContain('1.2.3.4.5');
  });

  test('holds no patient identifier beyond the subject reference', () => {
    const text = JSON.stringify(buildObservation(calibratedResult(), CONTEXT));

    expect(text.match(/pat-1/g)).toHaveLength(1);
  });
});

describe('buildDevice and buildProvenance', () => {
  test('device validates and carries versions', () => {
    const device = buildDevice({ id: 'br-ro', version: '1.0.0' });

    expect(validateResource(device)).toEqual([]);
    expect(device.identifier).toEqual([deviceIdentifier({ id: 'br-ro', version: '1.0.0' })]);
    expect(device.version?.map((version) => version.value)).toContain('1.0.0');
  });

  test('provenance validates and links the three resources', () => {
    const provenance = buildProvenance({
      observationId: 'obs-1',
      observationVersionId: '2',
      deviceId: 'dev-1',
      imagingStudyId: 'img-1',
      activity: 'update',
      recorded: '2026-12-04T20:01:00.000Z',
      occurred: '2026-12-04T20:00:00.000Z',
    });

    expect(validateResource(provenance)).toEqual([]);
    expect(provenance.target).toEqual([{ reference: 'Observation/obs-1/_history/2' }]);
    expect(provenance.agent[0]?.who).toEqual({ reference: 'Device/dev-1' });
    expect(provenance.entity?.[0]).toEqual({ role: 'source', what: { reference: 'ImagingStudy/img-1' } });
    expect(provenance.activity?.coding?.[0]?.code).toBe('UPDATE');
  });
});
