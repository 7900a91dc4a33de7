import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { CdsCard, CdsResponse } from '../../src/server/cds-types.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import { validateCdsResponse } from '../support/cds-response.js';
import {
  createHarness,
  hookRequest,
  imagingStudy,
  PATIENT,
  PATIENT_BIRTH_DATE,
  PATIENT_ID,
  PATIENT_NAME,
  PUBLIC_URL,
  searchsetBundle,
  type Harness,
} from '../support/cds-fixtures.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { calibratedResult, SAMPLE_FEATURES, uncalibratedResult } from '../support/score-result.js';

const STUDY_UID = '1.2.826.0.1.1';

let harness: Harness | undefined;
let listener: LoopbackListener | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await listener?.close();
  listener = undefined;
});

interface HookResult {
  readonly status: number;
  readonly body: CdsResponse;
}

/** Calls the hook with a fresh valid token and checks the response against the CDS Hooks rules. */
async function callHook(
  h: Harness,
  body: Record<string, unknown> = hookRequest(),
  headers: Record<string, string> = {},
): Promise<HookResult> {
  const response = await request(h.app)
    .post('/cds-services/nqo1-risk')
    .set('Authorization', await h.authorization())
    .set(headers)
    .send(body);
  const parsed = response.body as unknown;
  if (response.status === 200) expect(validateCdsResponse(parsed)).toEqual([]);
  return { status: response.status, body: parsed as CdsResponse };
}

const ENCOUNTER_SERVICE = '/cds-services/nqo1-risk-encounter';

/** Builds an `encounter-start` request body with the default prefetch. */
function encounterStartRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return hookRequest({
    hook: 'encounter-start',
    context: { userId: 'Practitioner/dr-1', patientId: PATIENT_ID, encounterId: 'enc-1' },
    ...overrides,
  });
}

/** Calls the `encounter-start` service with a token whose `aud` is that service's URL. */
async function callEncounterStart(
  h: Harness,
  body: Record<string, unknown> = encounterStartRequest(),
): Promise<request.Response> {
  const token = await h.issuer.sign({ aud: `${PUBLIC_URL}${ENCOUNTER_SERVICE}`, now: new Date() });
  const response = await request(h.app)
    .post(ENCOUNTER_SERVICE)
    .set('Authorization', `Bearer ${token}`)
    .send(body);
  if (response.status === 200) expect(validateCdsResponse(response.body as unknown)).toEqual([]);
  return response;
}

/** The only card of a hook response. */
function onlyCard(result: HookResult): CdsCard {
  expect(result.body.cards).toHaveLength(1);
  return result.body.cards[0]!;
}

/** Parses an OperationOutcome response body. */
function outcomeOf(response: request.Response): OperationOutcome {
  return JSON.parse(response.text) as OperationOutcome;
}

/** A fake analyse that records its jobs and returns `makeResult(job)` for each. */
function recordingAnalyse(makeResult: (job: AnalysisJob) => ReturnType<typeof calibratedResult>): {
  analyse: AnalyseStudy;
  jobs: AnalysisJob[];
} {
  const jobs: AnalysisJob[] = [];
  return {
    jobs,
    analyse: (job) => {
      jobs.push(job);
      return Promise.resolve({ result: makeResult(job) });
    },
  };
}

const PREFETCH_TEMPLATES = {
  patient: 'Patient/{{context.patientId}}',
  studies: 'ImagingStudy?patient={{context.patientId}}&modality=CT&_sort=-started',
};

describe('discovery', () => {
  test('lists the patient-view and encounter-start services with one prefetch', async () => {
    harness = await createHarness();
    const response = await request(harness.app).get('/cds-services');
    const body = response.body as unknown;

    expect(response.status).toBe(200);
    expect(body).toEqual({
      services: [
        {
          id: 'nqo1-risk',
          hook: 'patient-view',
          title: 'NQO1 expression risk from liver CT',
          description: expect.stringContaining('NQO1') as unknown,
          prefetch: PREFETCH_TEMPLATES,
        },
        {
          id: 'nqo1-risk-encounter',
          hook: 'encounter-start',
          title: 'NQO1 expression risk from liver CT at encounter start',
          description: expect.stringContaining('NQO1') as unknown,
          prefetch: PREFETCH_TEMPLATES,
        },
      ],
    });
  });
});

describe('POST /cds-services/nqo1-risk', () => {
  test('rejects a call without JWT with a bare 401', async () => {
    harness = await createHarness();
    const response = await request(harness.app).post('/cds-services/nqo1-risk').send(hookRequest());

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
  });

  test('shows in-progress, then the result card', async () => {
    const { analyse, jobs } = recordingAnalyse((job) =>
      calibratedResult({
        model: { id: job.modelId, version: job.modelVersion },
        probability: 0.81,
        class: 'high',
      }),
    );
    harness = await createHarness({ analyse });

    const first = await callHook(harness);
    expect(first.status).toBe(200);
    expect(onlyCard(first)).toMatchObject({
      indicator: 'info',
      summary: expect.stringContaining('in progress') as unknown,
    });

    await harness.queue.drain();
    // Without fhirServer in the hook request, the ids belong to the service's FHIR base.
    expect(jobs).toEqual([
      {
        studyInstanceUid: STUDY_UID,
        imagingStudyId: 'study-1',
        patientId: PATIENT_ID,
        fhirServer: 'http://127.0.0.1:8103/fhir/R4',
        modelId: 'br-ro',
        modelVersion: '1.0.0',
      },
    ]);

    const second = await callHook(harness);
    const card = onlyCard(second);
    expect(card.summary).toBe('NQO1 expression likely high (probability 0.81)');
    expect(card.indicator).toBe('warning');
    expect(card.detail).toContain('**0.81** (threshold 0.404), at or above the threshold');
    expect(card.source).toEqual({
      label: expect.any(String) as unknown,
      url: 'https://doi.org/10.1371/journal.pone.0290900',
      topic: {
        system: 'urn:nqo1-cds:card-topic',
        code: 'nqo1-expression-risk',
        display: 'NQO1 expression risk',
      },
    });

    const stored = await harness.store.getResult({
      studyInstanceUid: STUDY_UID,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });
    expect(card.links).toEqual([
      {
        label: 'Open the NQO1 analysis',
        url: 'http://127.0.0.1:8080/smart-app/launch.html',
        type: 'smart',
        appContext: stored?.id,
      },
    ]);
    expect(card.uuid).not.toBe(onlyCard(first).uuid);
  });

  test('enqueues a study once across calls', async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const jobs: AnalysisJob[] = [];
    harness = await createHarness({
      analyse: async (job) => {
        jobs.push(job);
        await blocked;
        return { result: uncalibratedResult() };
      },
    });

    const first = await callHook(harness);
    const second = await callHook(harness);
    release();
    await harness.queue.drain();

    expect(jobs).toHaveLength(1);
    expect(onlyCard(second).uuid).toBe(onlyCard(first).uuid);
  });

  test('shows a result the PACS started and binds the patient to it', async () => {
    const { analyse, jobs } = recordingAnalyse((job) =>
      calibratedResult({
        model: { id: job.modelId, version: job.modelVersion },
        probability: 0.81,
        class: 'high',
      }),
    );
    harness = await createHarness({ analyse });
    const key = { studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' };

    expect(await harness.queue.enqueue(key)).toBe('enqueued');
    await harness.queue.drain();
    const hook = await callHook(harness);
    await harness.queue.drain();

    expect(jobs).toEqual([key]);
    expect(onlyCard(hook).summary).toBe('NQO1 expression likely high (probability 0.81)');
    expect((await harness.store.getResult(key))?.job).toEqual({
      ...key,
      imagingStudyId: 'study-1',
      patientId: PATIENT_ID,
      fhirServer: 'http://127.0.0.1:8103/fhir/R4',
    });
  });

  test('shows features and no probability when uncalibrated', async () => {
    harness = await createHarness({ analyse: () => Promise.resolve({ result: uncalibratedResult() }) });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    expect(card.summary).toBe('NQO1 radiomic features measured; a probability needs site calibration');
    expect(card.indicator).toBe('info');
    expect(card.detail).toContain('A probability needs site calibration');
    expect(card.detail).not.toContain('3200000000');
    expect(card.detail).not.toMatch(/probability of high NQO1 expression/i);
    expect(card.detail).not.toMatch(/0\.81/);
    for (const name of Object.keys(SAMPLE_FEATURES)) expect(card.detail).toContain(`| ${name} |`);
    expect(card.detail).toContain('| Whole_peri_firstorder_TotalEnergy | Tumour with margin | 3.2 × 10⁹ |');
    expect(card.detail).toContain('| Whole_ngtdm_Coarseness | Tumour | 0.0042 |');
  });

  test('says coefficients are missing after calibration', async () => {
    const result = uncalibratedResult({
      calibrated: true,
      probabilityUnavailableReason: 'coefficients-missing',
    });
    harness = await createHarness({ analyse: () => Promise.resolve({ result }) });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    expect(card.summary).toBe('NQO1 radiomic features measured; a probability needs the model coefficients');
    expect(card.detail).toContain('lacks the coefficient of at least one feature');
    expect(card.detail).not.toContain('needs site calibration');
  });

  test('answers in Simplified Chinese for Accept-Language zh-CN', async () => {
    harness = await createHarness({
      analyse: () =>
        Promise.resolve({
          result: calibratedResult({
            model: { id: 'br-ro', version: '1.0.0' },
            probability: 0.22,
            class: 'low',
          }),
        }),
    });
    const inProgress = await callHook(harness, hookRequest(), {
      'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.5',
    });
    expect(onlyCard(inProgress).summary).toBe('NQO1 风险：正在分析肝脏 CT');

    await harness.queue.drain();
    const english = await callHook(harness);
    const chinese = await callHook(harness, hookRequest(), { 'Accept-Language': 'zh' });

    expect(onlyCard(chinese).summary).toBe('NQO1 可能低表达（概率 0.22）');
    expect(onlyCard(chinese).detail).toContain('低于阈值');
    expect(onlyCard(chinese).links?.[0]?.label).toBe('查看 NQO1 分析详情');
    expect(onlyCard(english).summary).toBe('NQO1 expression likely low (probability 0.22)');
    expect(onlyCard(chinese).uuid).toBe(onlyCard(english).uuid);
  });

  test('uses the configured locale without Accept-Language', async () => {
    harness = await createHarness({ configOverrides: { locale: 'zh-CN' } });
    const response = await callHook(harness);

    expect(onlyCard(response).summary).toBe('NQO1 风险：正在分析肝脏 CT');
  });

  test('adds a viewer link when configured', async () => {
    harness = await createHarness({
      analyse: () => Promise.resolve({ result: uncalibratedResult() }),
      configOverrides: {
        viewerUrlTemplate: 'http://127.0.0.1:3000/viewer?StudyInstanceUIDs={{studyInstanceUid}}',
      },
    });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    expect(card.links?.map((link) => link.type)).toEqual(['smart', 'absolute']);
    expect(card.links?.[1]).toEqual({
      label: 'View the study in the image viewer',
      url: `http://127.0.0.1:3000/viewer?StudyInstanceUIDs=${STUDY_UID}`,
      type: 'absolute',
    });
  });

  test('says a segmentation is missing after that failure', async () => {
    harness = await createHarness({
      analyse: () =>
        Promise.reject(new Nqo1Error('ERR_MASK_EMPTY', 'No segment labelled tumour in study 1.2.826.0.1.1')),
    });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    expect(card.summary).toBe('NQO1 risk not available: the liver CT has no usable tumour segmentation');
    expect(card.indicator).toBe('info');
    expect(card.detail).toContain('`ERR_MASK_EMPTY`');
    expect(card.links).toBeUndefined();
  });

  test.each([
    [
      'ERR_DICOMWEB_FAILED',
      'NQO1 risk not available: the CT images could not be retrieved from PACS',
      'could not be retrieved from PACS',
      'NQO1 风险暂无法评估：无法从 PACS 获取 CT 图像',
    ],
    [
      'ERR_FHIR_FAILED',
      'NQO1 risk not available: the result could not be written to the chart',
      'could not be written to the patient chart',
      'NQO1 风险暂无法评估：结果无法写入病历',
    ],
  ] as const)('names the cause of %s', async (code, summary, detail, zhSummary) => {
    harness = await createHarness({
      analyse: () => Promise.reject(new Nqo1Error(code, 'Request to 127.0.0.1 failed: 503')),
      configOverrides: { jobs: { retryFailedAfterMs: 30 * 60 * 1000 } },
    });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    const chinese = onlyCard(await callHook(harness, hookRequest(), { 'Accept-Language': 'zh-CN' }));

    expect(card.summary).toBe(summary);
    expect(card.indicator).toBe('warning');
    expect(card.detail).toContain(detail);
    expect(card.detail).toContain('opened 30 minutes or more after this failure');
    expect(card.detail).toContain(`\`${code}\``);
    expect(chinese.summary).toBe(zhSummary);
    expect(chinese.detail).toContain('30 分钟');
  });

  test('states the default retry delay', async () => {
    harness = await createHarness({
      analyse: () => Promise.reject(new Nqo1Error('ERR_MASK_EMPTY', 'No tumour segment in 1.2.826.0.1.1')),
    });
    await callHook(harness);
    await harness.queue.drain();

    expect(onlyCard(await callHook(harness)).detail).toContain('15 minutes or more after this failure');
  });

  test('shows a warning after an unexpected failure', async () => {
    harness = await createHarness({ analyse: () => Promise.reject(new RangeError('index out of range')) });
    await callHook(harness);
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness));
    expect(card.indicator).toBe('warning');
    expect(card.summary).toBe('NQO1 risk not available: the analysis failed');
    expect(card.detail).toContain('`ERR_INTERNAL`');
    expect(card.detail).not.toContain('index out of range');
  });

  test('withholds a study analysed for another patient', async () => {
    const { analyse, jobs } = recordingAnalyse((job) =>
      calibratedResult({ model: { id: job.modelId, version: job.modelVersion }, probability: 0.81 }),
    );
    harness = await createHarness({ analyse });
    await callHook(harness);
    await harness.queue.drain();

    const otherPatient = 'pat-2';
    const body = hookRequest({
      context: { userId: 'Practitioner/dr-1', patientId: otherPatient },
      prefetch: {
        studies: searchsetBundle([
          imagingStudy({
            id: 'study-b',
            uid: STUDY_UID,
            patientId: otherPatient,
            started: '2026-11-03T09:00:00Z',
          }),
        ]),
      },
    });
    const english = onlyCard(await callHook(harness, body));
    const chinese = onlyCard(await callHook(harness, body, { 'Accept-Language': 'zh-CN' }));
    await harness.queue.drain();

    expect(english.indicator).toBe('warning');
    expect(english.summary).toBe(
      'NQO1 risk not shown: this CT study is linked to more than one patient record',
    );
    expect(english.detail).toContain('Hospital IT must check');
    expect(english.detail).not.toContain('0.81');
    expect(english.links).toBeUndefined();
    expect(chinese.summary).toBe('NQO1 风险未显示：该 CT 检查关联了多个患者记录');
    expect(chinese.detail).toContain('信息科');
    expect(jobs).toHaveLength(1);
    expect(await harness.store.countByStatus()).toEqual({ pending: 0, running: 0, done: 1, failed: 0 });

    const warnings = harness.logs.withMessage(
      'study already analysed for another patient record; result withheld',
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.studyInstanceUid).toBe(STUDY_UID);
    expect(harness.logs.text()).not.toContain(otherPatient);
    expect(harness.logs.text()).not.toContain(PATIENT_ID);

    const own = onlyCard(await callHook(harness));
    expect(own.summary).toBe('NQO1 expression likely high (probability 0.81)');
  });

  test('withholds a study analysed through another FHIR server under the same Patient id', async () => {
    const { analyse, jobs } = recordingAnalyse((job) =>
      calibratedResult({ model: { id: job.modelId, version: job.modelVersion }, probability: 0.81 }),
    );
    const production = 'http://127.0.0.1:8103/fhir/R4';
    const test = 'http://127.0.0.1:8104/fhir/R4';
    harness = await createHarness({
      analyse,
      configOverrides: { fhir: { baseUrl: production, allowedBaseUrls: [production, test] } },
    });
    await callHook(harness);
    await harness.queue.drain();

    // The test EHR sends the same Patient id and study; the prefetch is complete, so nothing is read.
    const fromTest = onlyCard(await callHook(harness, hookRequest({ fhirServer: test })));
    const fromProduction = onlyCard(await callHook(harness, hookRequest({ fhirServer: production })));

    expect(fromTest.summary).toBe(
      'NQO1 risk not shown: this CT study is linked to more than one patient record',
    );
    expect(fromTest.detail).not.toContain('0.81');
    expect(fromProduction.summary).toBe('NQO1 expression likely high (probability 0.81)');
    expect(jobs).toHaveLength(1);
  });

  test('shows the result a clinician recorded from a requested series', async () => {
    const { analyse } = recordingAnalyse((job) =>
      calibratedResult({
        model: { id: job.modelId, version: job.modelVersion },
        probability: 0.2,
        class: 'low',
      }),
    );
    harness = await createHarness({ analyse });
    await callHook(harness);
    await harness.queue.drain();
    const automatic = await harness.store.getResult({
      studyInstanceUid: STUDY_UID,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });
    const requested: AnalysisJob = { ...automatic!.job, seriesInstanceUid: `${STUDY_UID}.7` };
    await harness.store.insertPending(requested);
    await harness.store.markDone(
      requested,
      calibratedResult({
        model: { id: 'br-ro', version: '1.0.0' },
        probability: 0.64,
        provenance: {
          ...calibratedResult().provenance,
          seriesSelection: {
            reason: 'requested',
            seriesDescription: 'Portal venous 1.25 mm',
            seriesNumber: 5,
            instanceCount: 208,
            ctSeriesCount: 3,
            arterialCount: 1,
          },
        },
      }),
    );
    const requestedId = (await harness.store.getResult(requested))!.id;
    const before = onlyCard(await callHook(harness));

    await harness.store.chartRecords.add({
      analysisId: requestedId,
      studyInstanceUid: STUDY_UID,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
      observationId: 'obs-1',
      status: 'final',
      provenanceId: 'prov-1',
      clinician: { reference: 'Practitioner/dr-1' },
      recordedAt: '2026-12-05T07:40:00.000Z',
    });
    const after = onlyCard(await callHook(harness));

    expect(before.summary).toBe('NQO1 expression likely low (probability 0.20)');
    expect(after.summary).toBe('NQO1 expression likely high (probability 0.64)');
    expect(after.detail).toContain('a user requested it in place of the automatic choice');
    expect(after.links?.[0]?.appContext).toBe(requestedId);
  });

  test('does not requeue a failed study for another patient', async () => {
    harness = await createHarness({
      analyse: () => Promise.reject(new Nqo1Error('ERR_MASK_EMPTY', 'No tumour segment in 1.2.826.0.1.1')),
      configOverrides: { jobs: { retryFailedAfterMs: 0 } },
    });
    await callHook(harness);
    await harness.queue.drain();
    await new Promise((resolve) => setTimeout(resolve, 5));

    const body = hookRequest({
      context: { userId: 'Practitioner/dr-1', patientId: 'pat-2' },
      prefetch: {
        studies: searchsetBundle([imagingStudy({ id: 'study-b', uid: STUDY_UID, patientId: 'pat-2' })]),
      },
    });
    const card = onlyCard(await callHook(harness, body));

    expect(card.summary).toContain('more than one patient record');
    expect(await harness.store.countByStatus()).toEqual({ pending: 0, running: 0, done: 0, failed: 1 });
  });

  test('returns no card when the patient has no CT study', async () => {
    harness = await createHarness();
    const body = hookRequest({
      prefetch: {
        patient: PATIENT,
        studies: searchsetBundle([imagingStudy({ id: 'mr-1', seriesModalities: ['MR'] })]),
      },
    });
    const response = await callHook(harness, body);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ cards: [] });
    expect((await harness.store.countByStatus()).pending).toBe(0);
  });

  test('logs why an injected Study UID gave no card', async () => {
    harness = await createHarness();
    const studies = searchsetBundle([
      imagingStudy({ id: 'study-x', uid: '1.2.3</script><script>alert(1)</script>' }),
    ]);
    const response = await callHook(harness, hookRequest({ prefetch: { patient: PATIENT, studies } }));

    expect(response.body).toEqual({ cards: [] });
    const [warning] = harness.logs.withMessage('imaging studies in the prefetch skipped');
    expect(warning?.skipped).toEqual({ 'invalid-study-uid': 1 });
    expect(warning?.studySelected).toBe(false);
    expect(harness.logs.text()).not.toContain('alert(1)');
    expect(harness.logs.text()).not.toContain('study-x');
  });

  test('analyses the newest CT study', async () => {
    const { analyse, jobs } = recordingAnalyse(() => uncalibratedResult());
    harness = await createHarness({ analyse });
    const studies = searchsetBundle([
      imagingStudy({ id: 'old', uid: '1.2.3.1', started: '2024-01-01T00:00:00Z' }),
      imagingStudy({ id: 'new', uid: '1.2.3.2', started: '2026-05-01T00:00:00Z' }),
      imagingStudy({
        id: 'newest-mr',
        uid: '1.2.3.3',
        started: '2026-09-01T00:00:00Z',
        seriesModalities: ['MR'],
      }),
    ]);
    await callHook(harness, hookRequest({ prefetch: { patient: PATIENT, studies } }));
    await harness.queue.drain();

    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['new']);
  });

  test('returns 412 when the studies prefetch is missing', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(
        hookRequest({
          prefetch: { patient: PATIENT, studies: null },
          fhirServer: 'http://127.0.0.1:8103/fhir/R4',
        }),
      );

    expect(response.status).toBe(412);
    expect(response.type).toBe('application/fhir+json');
    const outcome = outcomeOf(response);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].code).toBe('required');
    expect(outcome.issue[0].details).toMatchObject({ coding: [{ code: 'ERR_PREFETCH_MISSING' }] });
    expect(outcome.issue[0].diagnostics).toContain('prefetch "studies"');
  });

  test.each([
    ['prefetch.studies is null', { patient: PATIENT, studies: null }],
    ['prefetch is null', null],
    ['prefetch has no studies key', { patient: PATIENT }],
  ])('returns 412 when %s', async (_case, prefetch) => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch }));

    expect(response.status).toBe(412);
    expect(outcomeOf(response).issue[0].details).toMatchObject({
      coding: [{ code: 'ERR_PREFETCH_MISSING' }],
    });
    expect(outcomeOf(response).issue[0].diagnostics).toMatch(/^prefetch\.studies is missing/);
    expect((await harness.store.countByStatus()).pending).toBe(0);
  });

  test('returns 412 when the studies prefetch is an OperationOutcome', async () => {
    harness = await createHarness();
    const failedPrefetch = {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'timeout',
          diagnostics: `ImagingStudy search for Patient/${PATIENT_ID} (${PATIENT_NAME}) timed out`,
        },
      ],
    };
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch: { patient: PATIENT, studies: failedPrefetch } }));

    expect(response.status).toBe(412);
    expect(response.type).toBe('application/fhir+json');
    const outcome = outcomeOf(response);
    expect(outcome.issue[0].code).toBe('required');
    expect(outcome.issue[0].details).toMatchObject({ coding: [{ code: 'ERR_PREFETCH_MISSING' }] });
    expect(outcome.issue[0].diagnostics).toContain('prefetch.studies is an OperationOutcome');
    expect(outcome.issue[0].diagnostics).not.toContain(PATIENT_ID);

    const [warning] = harness.logs.withMessage(
      'studies prefetch is an OperationOutcome; the client could not prefetch',
    );
    expect(warning?.issueCodes).toEqual(['timeout']);
    expect(harness.logs.text()).not.toContain(PATIENT_ID);
    expect(harness.logs.text()).not.toContain(PATIENT_NAME);
    expect((await harness.store.countByStatus()).pending).toBe(0);
  });

  test('treats a paginated studies prefetch as incomplete and follows no next link', async () => {
    harness = await createHarness();
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const nextUrl = `${listener.origin}/fhir/R4/ImagingStudy?patient=${PATIENT_ID}&modality=CT&_sort=-started&_page=2`;
    const studies = {
      ...searchsetBundle([imagingStudy({ id: 'study-1', uid: STUDY_UID, started: '2026-11-02T09:00:00Z' })]),
      total: 3,
      link: [
        { relation: 'self', url: `${listener.origin}/fhir/R4/ImagingStudy?patient=${PATIENT_ID}` },
        { relation: 'next', url: nextUrl },
      ],
    };
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch: { patient: PATIENT, studies } }));

    expect(response.status).toBe(412);
    const outcome = outcomeOf(response);
    expect(outcome.issue[0].details).toMatchObject({ coding: [{ code: 'ERR_PREFETCH_MISSING' }] });
    expect(outcome.issue[0].diagnostics).toContain('one page of a paginated search (Bundle.link "next")');
    expect(listener.connectionCount()).toBe(0);
    expect((await harness.store.countByStatus()).pending).toBe(0);

    const [warning] = harness.logs.withMessage(
      'studies prefetch is one page of a paginated search; treated as incomplete',
    );
    expect(warning?.entriesOnPage).toBe(1);
    expect(harness.logs.text()).not.toContain(PATIENT_ID);
    expect(harness.logs.text()).not.toContain(listener.origin);
  });

  test('uses a searchset whose links hold no next page', async () => {
    const { analyse, jobs } = recordingAnalyse(() => uncalibratedResult());
    harness = await createHarness({ analyse });
    const studies = {
      ...searchsetBundle([imagingStudy({ id: 'study-1', uid: STUDY_UID, started: '2026-11-02T09:00:00Z' })]),
      link: [{ relation: 'self', url: 'http://127.0.0.1:8103/fhir/R4/ImagingStudy?patient=pat-1' }],
    };
    const response = await callHook(harness, hookRequest({ prefetch: { patient: PATIENT, studies } }));

    expect(response.status).toBe(200);
    expect(onlyCard(response).summary).toBe('NQO1 risk: analysis of the liver CT in progress');
    await harness.queue.drain();
    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['study-1']);
  });

  test('returns 403 for a fhirServer off the allowlist without connecting to it', async () => {
    harness = await createHarness();
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch: undefined, fhirServer: `${listener.origin}/fhir/R4` }));

    expect(response.status).toBe(403);
    expect(outcomeOf(response)).toMatchObject({
      issue: [{ details: { coding: [{ code: 'ERR_URL_NOT_ALLOWED' }] } }],
    });
    expect(listener.connectionCount()).toBe(0);
    expect(listener.requestCount()).toBe(0);
  });

  test('returns 403 for that fhirServer with prefetch too, without connecting', async () => {
    harness = await createHarness();
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ fhirServer: `${listener.origin}/fhir/R4` }));

    expect(response.status).toBe(403);
    expect(listener.connectionCount()).toBe(0);
  });

  test('the listener of the no-connection tests counts a real connection', async () => {
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const response = await fetch(`${listener.origin}/fhir/R4/metadata`);
    await response.text();

    expect(listener.connectionCount()).toBe(1);
    expect(listener.requestCount()).toBe(1);
  });

  test('returns 400 for a body without patientId', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ context: { userId: 'Practitioner/dr-1' } }));

    expect(response.status).toBe(400);
    expect(outcomeOf(response)).toMatchObject({
      issue: [{ code: 'invalid', diagnostics: expect.stringContaining('context.patientId') as unknown }],
    });
  });

  test('returns 400 naming the Content-Type for text/plain', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify(hookRequest()));

    expect(response.status).toBe(400);
    expect(outcomeOf(response).issue[0].diagnostics).toBe(
      'The Content-Type is text/plain, but the Content-Type must be application/json; ' +
        'send the CDS Hooks request as a JSON body.',
    );
    expect(harness.logs.withMessage('request rejected')[0]?.reason).toContain('must be application/json');
  });

  test('returns 400 for another hook', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ hook: 'order-select' }));

    expect(response.status).toBe(400);
    expect(outcomeOf(response).issue[0].diagnostics).toContain(
      'expected hook "patient-view", got "order-select"',
    );
  });

  test('never logs the JWT or patient data', async () => {
    harness = await createHarness({ analyse: () => Promise.resolve({ result: uncalibratedResult() }) });
    const authorization = await harness.authorization();
    await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', authorization)
      .send(hookRequest());
    await harness.queue.drain();
    await request(harness.app).post('/cds-services/nqo1-risk').send(hookRequest());

    const logText = harness.logs.text();
    const token = authorization.slice('Bearer '.length);
    expect(logText).not.toContain(token);
    expect(logText).not.toContain(token.split('.')[2]);
    expect(logText).not.toContain(PATIENT_NAME);
    expect(logText).not.toContain(PATIENT_BIRTH_DATE);
    expect(logText).not.toContain('MRN-778899');
    expect(logText).not.toContain(PATIENT_ID);

    const served = harness.logs.withMessage('request served');
    expect(served.map((entry) => [entry.route, entry.status])).toEqual([
      ['/cds-services/nqo1-risk', 200],
      ['/cds-services/nqo1-risk', 401],
    ]);
    expect(
      served.every((entry) => typeof entry.requestId === 'string' && typeof entry.durationMs === 'number'),
    ).toBe(true);
  });
});

describe('POST /cds-services/nqo1-risk-encounter', () => {
  test('answers encounter-start with the same cards as patient-view', async () => {
    const { analyse, jobs } = recordingAnalyse((job) =>
      calibratedResult({ model: { id: job.modelId, version: job.modelVersion }, probability: 0.81 }),
    );
    harness = await createHarness({ analyse });

    const first = await callEncounterStart(harness);
    expect(first.status).toBe(200);
    const inProgress = (first.body as CdsResponse).cards;
    expect(inProgress).toHaveLength(1);
    expect(inProgress[0]?.summary).toBe('NQO1 risk: analysis of the liver CT in progress');

    await harness.queue.drain();
    expect(jobs.map((job) => [job.imagingStudyId, job.patientId])).toEqual([['study-1', PATIENT_ID]]);

    const second = await callEncounterStart(harness);
    const encounterCard = (second.body as CdsResponse).cards[0];
    const patientViewCard = onlyCard(await callHook(harness));
    expect(encounterCard?.summary).toBe('NQO1 expression likely high (probability 0.81)');
    expect(encounterCard?.uuid).toBe(patientViewCard.uuid);
    expect(jobs).toHaveLength(1);
  });

  test('rejects a token issued for the patient-view service with a bare 401', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post(ENCOUNTER_SERVICE)
      .set('Authorization', await harness.authorization())
      .send(encounterStartRequest());

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
  });

  test('returns 400 for encounter-start without encounterId', async () => {
    harness = await createHarness();
    const response = await callEncounterStart(
      harness,
      encounterStartRequest({ context: { userId: 'Practitioner/dr-1', patientId: PATIENT_ID } }),
    );

    expect(response.status).toBe(400);
    expect(outcomeOf(response).issue[0].diagnostics).toContain('context.encounterId');
  });

  test('returns 400 for a patient-view call on the encounter-start service', async () => {
    harness = await createHarness();
    const response = await callEncounterStart(harness, hookRequest());

    expect(response.status).toBe(400);
    expect(outcomeOf(response).issue[0].diagnostics).toContain(
      'expected hook "encounter-start", got "patient-view"',
    );
  });

  test('returns 412 for an OperationOutcome studies prefetch on encounter-start', async () => {
    harness = await createHarness();
    const response = await callEncounterStart(
      harness,
      encounterStartRequest({
        prefetch: { patient: PATIENT, studies: { resourceType: 'OperationOutcome', issue: [] } },
      }),
    );

    expect(response.status).toBe(412);
    expect(outcomeOf(response).issue[0].diagnostics).toContain('prefetch.studies is an OperationOutcome');
  });
});

describe('result of an older study', () => {
  const OLD_UID = '1.2.826.0.1.41';
  const NEW_UID = '1.2.826.0.1.42';
  const oldStudy = imagingStudy({ id: 'old', uid: OLD_UID, started: '2024-03-05T10:00:00+08:00' });
  const newStudy = imagingStudy({ id: 'new', uid: NEW_UID, started: '2026-11-02T09:00:00+08:00' });

  /** A harness whose analyse scores the old study at once and holds the new one until `release()`. */
  async function olderStudyHarness(newStudyOutcome: 'result' | 'failure' = 'result') {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const jobs: AnalysisJob[] = [];
    const h = await createHarness({
      analyse: async (job) => {
        jobs.push(job);
        if (job.studyInstanceUid === NEW_UID) {
          await blocked;
          if (newStudyOutcome === 'failure')
            throw new Nqo1Error('ERR_MASK_EMPTY', `No tumour segment in ${NEW_UID}`);
          return {
            result: calibratedResult({
              model: { id: job.modelId, version: job.modelVersion },
              probability: 0.3,
              class: 'low',
            }),
          };
        }
        return {
          result: calibratedResult({
            model: { id: job.modelId, version: job.modelVersion },
            probability: 0.81,
          }),
        };
      },
      configOverrides: { jobs: { retryFailedAfterMs: 30 * 60 * 1000 } },
    });

    // The old study is analysed first, when it was the patient's only CT study.
    await callHook(h, hookRequest({ prefetch: { patient: PATIENT, studies: searchsetBundle([oldStudy]) } }));
    await h.queue.drain();
    return { h, jobs, release };
  }

  const bothStudies = (): Record<string, unknown> =>
    hookRequest({ prefetch: { patient: PATIENT, studies: searchsetBundle([oldStudy, newStudy]) } });

  test('shows the older result, says so, and enqueues the newest study', async () => {
    const { h, jobs, release } = await olderStudyHarness();
    harness = h;
    const onlyOld = onlyCard(
      await callHook(
        h,
        hookRequest({ prefetch: { patient: PATIENT, studies: searchsetBundle([oldStudy]) } }),
      ),
    );

    const english = onlyCard(await callHook(h, bothStudies()));
    const chinese = onlyCard(await callHook(h, bothStudies(), { 'Accept-Language': 'zh-CN' }));

    expect(english.summary).toBe('NQO1 expression likely high (probability 0.81)');
    expect(english.detail?.split('\n\n')[0]).toBe(
      '**This result is for an older study (2024-03-05); the newest study (2026-11-02) is being analysed.**',
    );
    expect(english.detail).toContain(`Study Instance UID: \`${OLD_UID}\``);
    expect(english.detail).not.toContain(NEW_UID);
    expect(english.uuid).not.toBe(onlyOld.uuid);
    expect(english.links?.[0]?.appContext).toBe(onlyOld.links?.[0]?.appContext);
    expect(chinese.summary).toBe('NQO1 可能高表达（概率 0.81）');
    expect(chinese.detail?.split('\n\n')[0]).toBe(
      '**此结果来自较早的检查（2024-03-05）；最新的检查（2026-11-02）正在分析中。**',
    );
    expect(chinese.uuid).toBe(english.uuid);
    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['old', 'new']);

    release();
    await h.queue.drain();
    const newest = onlyCard(await callHook(h, bothStudies()));
    expect(newest.summary).toBe('NQO1 expression likely low (probability 0.30)');
    expect(newest.detail).not.toContain('older study');
    expect(newest.detail).toContain(NEW_UID);
    expect(jobs).toHaveLength(2);
  });

  test('shows the failure of the newest study rather than the older result', async () => {
    const { h, release } = await olderStudyHarness('failure');
    harness = h;
    await callHook(h, bothStudies());
    release();
    await h.queue.drain();

    const card = onlyCard(await callHook(h, bothStudies()));
    expect(card.summary).toBe('NQO1 risk not available: the liver CT has no usable tumour segmentation');
    expect(card.detail).not.toContain('older study');
    expect(card.detail).not.toContain('0.81');
  });

  test('says "date not recorded" for studies without started', async () => {
    const { h, release } = await olderStudyHarness();
    harness = h;
    // Without start times the studies keep the bundle order, so the first one counts as the newest.
    const studies = searchsetBundle([
      imagingStudy({ id: 'new', uid: NEW_UID }),
      imagingStudy({ id: 'old', uid: OLD_UID }),
    ]);
    const card = onlyCard(await callHook(h, hookRequest({ prefetch: { patient: PATIENT, studies } })));
    release();

    expect(card.detail?.split('\n\n')[0]).toBe(
      '**This result is for an older study (date not recorded); the newest study (date not recorded) ' +
        'is being analysed.**',
    );
  });

  test('passes over an older result stored for another patient record', async () => {
    const { analyse } = recordingAnalyse((job) =>
      calibratedResult({ model: { id: job.modelId, version: job.modelVersion }, probability: 0.81 }),
    );
    harness = await createHarness({ analyse });
    const otherPatient = 'pat-2';
    await callHook(
      harness,
      hookRequest({
        context: { userId: 'Practitioner/dr-1', patientId: otherPatient },
        prefetch: {
          studies: searchsetBundle([
            imagingStudy({ id: 'old', uid: OLD_UID, patientId: otherPatient, started: '2024-03-05' }),
          ]),
        },
      }),
    );
    await harness.queue.drain();

    const card = onlyCard(await callHook(harness, bothStudies()));
    expect(card.summary).toBe('NQO1 risk: analysis of the liver CT in progress');
    expect(card.detail).not.toContain('0.81');
  });
});
