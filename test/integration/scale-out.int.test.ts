/**
 * The scaled-out deployment end to end. Two API processes behind a round-robin balancer and worker
 * processes run as `nqo1-cds serve --role …` child processes on one PostgreSQL database (result
 * store and pg-boss queue). Orthanc is the PACS, and a FHIR server serves prefetch and write-back.
 *
 * 50 generated studies, each of its own patient, are hooked twice, once through each API process.
 * The first worker is killed with SIGKILL while it analyses; two new workers take over, and the job
 * it held is given to one of them once `jobs.jobTimeoutSeconds` has passed. Afterwards:
 * - every study has one done analysis with its Observation id;
 * - the FHIR server contains exactly one Observation per study and received one create per study;
 * - no study was computed twice (the workers' `analysis done` lines and the audit trail), and the
 *   analysis the killed worker held was finished by another worker.
 *
 * Needs Orthanc with its DICOMweb plugin and PostgreSQL; under `CI=true` a missing one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { CARD_MESSAGES } from '../../cds-services/nqo1-risk/messages.js';
import { renderPhantom } from '../../src/cli/demo/phantom.js';
import { newUid, writeCtSeries, writeTumourSeg } from '../../src/cli/demo/write-dicom.js';
import { DicomWebClient } from '../../src/dicomweb/client.js';
import type { Grid } from '../../src/imaging/volume.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { startMockEhr, type MockEhr } from '../support/mock-ehr.js';
import { orthancSkipReason, startOrthanc, type OrthancHandle } from '../support/orthanc.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy.js';

const SERVE_PROCESS = fileURLToPath(new URL('./support/serve-process.ts', import.meta.url));
const EHR_ISSUER = 'https://ehr.scale-out.test/fhir';
const POSTGRES_URL_ENV = 'NQO1_POSTGRES_URL';
const STUDY_COUNT = 50;
/** Seconds before a job of a stopped worker goes to another: short, so the test waits little. */
const JOB_TIMEOUT_SECONDS = 6;
/** Maximum wait for all 50 results, in milliseconds. */
const ALL_DONE_TIMEOUT_MS = 240_000;

/**
 * 64 × 56 × 12 voxels at 0.9 × 0.9 × 2 mm around the origin, with the phantom's tumour near its
 * centre: small, so 50 studies upload and analyse in seconds.
 */
const GRID: Grid = {
  dimensions: [64, 56, 12],
  spacingMm: [0.9, 0.9, 2],
  originMm: [-28.35, -24.75, -11],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};

/** One `serve` child process with its JSON log lines. */
interface ServeProcess {
  readonly role: 'api' | 'worker';
  readonly child: ChildProcess;
  /** Base URL it listens on, from its `server listening` line. */
  readonly url: string;
  readonly logLines: Record<string, unknown>[];
}

interface GeneratedStudy {
  readonly studyInstanceUid: string;
  readonly patientId: string;
}

const skip = orthancSkipReason('scale-out test') ?? postgresSkipReason('scale-out test');

describe.skipIf(skip !== null)('scale-out on PostgreSQL with pg-boss', () => {
  let workDir: string;
  let database: TestDatabase;
  let orthanc: OrthancHandle;
  let fhir: FhirServerHandle;
  let balancer: RoundRobinProxy;
  let ehr: MockEhr;
  let configPath: string;
  const processes: ServeProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const studies: GeneratedStudy[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-scale-out-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    database = await createTestDatabase();
    cleanups.push(() => database.drop());
    orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());
    fhir = await startFhirServer();
    cleanups.push(() => fhir.close());
    balancer = await startRoundRobinProxy();
    cleanups.push(() => balancer.close());
    ehr = await startMockEhr({ iss: EHR_ISSUER, serviceUrl: balancer.origin, fhirBaseUrl: fhir.baseUrl });
    cleanups.push(() => ehr.close());

    configPath = path.join(workDir, 'site.json');
    await writeFile(
      configPath,
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0, publicUrl: balancer.origin },
        auth: { issuers: [{ iss: EHR_ISSUER, jwksUrl: ehr.jwksUrl, algorithms: ['ES384', 'RS384'] }] },
        dicomweb: { baseUrl: orthanc.dicomWebUrl, allowedBaseUrls: [orthanc.dicomWebUrl], timeoutMs: 20_000 },
        fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 10_000 },
        store: { engine: 'postgres', postgresUrlEnv: POSTGRES_URL_ENV, postgresPoolSize: 4 },
        jobs: { jobTimeoutSeconds: JOB_TIMEOUT_SECONDS, pollIntervalMs: 500, workerThreads: 1 },
      }),
    );

    await storeStudies();
  }, 300_000);

  afterAll(async () => {
    for (const serve of processes) serve.child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  /** Generates the studies, stores them in Orthanc and creates their Patient and ImagingStudy. */
  async function storeStudies(): Promise<void> {
    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 60_000,
    });
    for (let index = 0; index < STUDY_COUNT; index++) {
      const { image, tumour } = renderPhantom(GRID, {
        seed: 1000 + index,
        tumourRadiusMm: 9,
        tumourMeanHu: 90 + index,
        heterogeneityHu: 25,
        noiseSdHu: 10,
      });
      const study = {
        studyInstanceUid: newUid(),
        frameOfReferenceUid: newUid(),
        studyDate: '20261205',
        accessionNumber: `SCALE${index}`,
      };
      const series = writeCtSeries(image, study);
      const seg = writeTumourSeg(tumour, study, series);
      await pacs.storeInstances([...series.files, seg].map((bytes) => bytes.slice().buffer));

      const patient = await fhir.repository.createResource<Patient>({ resourceType: 'Patient' });
      await fhir.repository.createResource<ImagingStudy>({
        resourceType: 'ImagingStudy',
        status: 'available',
        subject: { reference: `Patient/${patient.id}` },
        started: '2026-12-05T08:00:00Z',
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUid}` }],
        series: [
          {
            uid: series.seriesInstanceUid,
            modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
          },
        ],
      });
      studies.push({ studyInstanceUid: study.studyInstanceUid, patientId: patient.id });
    }
  }

  /** Starts one `serve` process and resolves once it listens. */
  async function startServe(role: 'api' | 'worker'): Promise<ServeProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVE_PROCESS, role], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        NQO1_CONFIG: configPath,
        [POSTGRES_URL_ENV]: database.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logLines: Record<string, unknown>[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`The ${role} process did not listen within 60 s; stderr: ${stderr.slice(-2000)}`));
      }, 60_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        logLines.push(entry);
        if (entry.msg === 'server listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `The ${role} process exited (${code ?? signal}) before listening: ${stderr.slice(-2000)}`,
          ),
        );
      });
    });
    const serve: ServeProcess = { role, child, url, logLines };
    processes.push(serve);
    return serve;
  }

  async function statusCounts(client: pg.Client): Promise<Record<string, number>> {
    const { rows } = await client.query<{ status: string; n: string }>(
      'SELECT status, COUNT(*) AS n FROM analyses GROUP BY status',
    );
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Returns the study UIDs of the `analysis done` lines in a process's log. */
  function doneStudies(serve: ServeProcess): string[] {
    return serve.logLines
      .filter((entry) => entry.msg === 'analysis done')
      .map((entry) => String(entry.studyInstanceUid));
  }

  test('50 studies computed and written once', async () => {
    const apis = [await startServe('api'), await startServe('api')];
    balancer.setUpstreams(apis.map((api) => api.url));
    const firstWorker = await startServe('worker');
    await ehr.discover();

    // Each study is hooked twice, so through both API processes, ten calls at a time.
    const calls = [...studies, ...studies];
    for (let start = 0; start < calls.length; start += 10) {
      const results = await Promise.all(
        calls
          .slice(start, start + 10)
          .map((study) => ehr.callHook('nqo1-risk', { context: { patientId: study.patientId } })),
      );
      expect(results.map((result) => result.status)).toEqual(results.map(() => 200));
    }
    expect([...balancer.forwardedCounts().values()].every((count) => count >= STUDY_COUNT)).toBe(true);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // The first worker is killed while it runs an analysis.
      let heldByKilled: string[] = [];
      await waitFor('the first worker to finish 3 studies and hold one', 120_000, async () => {
        const { rows } = await client.query<{ study_instance_uid: string }>(
          "SELECT study_instance_uid FROM analyses WHERE status = 'running'",
        );
        heldByKilled = rows.map((row) => row.study_instance_uid);
        return doneStudies(firstWorker).length >= 3 && heldByKilled.length > 0;
      });
      firstWorker.child.kill('SIGKILL');
      await new Promise((resolve) => firstWorker.child.once('exit', resolve));
      const killedDone = doneStudies(firstWorker);
      const heldUnfinished = heldByKilled.filter((uid) => !killedDone.includes(uid));

      const workers = [await startServe('worker'), await startServe('worker')];
      await waitFor('all 50 analyses done', ALL_DONE_TIMEOUT_MS, async () => {
        const counts = await statusCounts(client);
        return counts.done === STUDY_COUNT;
      });
      await waitFor('every Observation id recorded', 60_000, async () => {
        const { rows } = await client.query<{ n: string }>(
          "SELECT COUNT(*) AS n FROM analyses WHERE status = 'done' AND observation_id IS NOT NULL",
        );
        return Number(rows[0]?.n) === STUDY_COUNT;
      });

      expect(await statusCounts(client)).toEqual({ done: STUDY_COUNT });

      // Computed once: no study has two `analysis done` lines across all workers, or two compute events.
      const doneLines = [firstWorker, ...workers].flatMap(doneStudies);
      const perStudy = new Map<string, number>();
      for (const uid of doneLines) perStudy.set(uid, (perStudy.get(uid) ?? 0) + 1);
      expect([...perStudy.values()].filter((count) => count > 1)).toEqual([]);
      const { rows: computeEvents } = await client.query<{ analysis_id: string; n: string }>(
        `SELECT analysis_id, COUNT(*) AS n FROM audit_events
           WHERE action = 'compute' AND outcome = 'success' GROUP BY analysis_id`,
      );
      expect(computeEvents.filter((row) => Number(row.n) > 1)).toEqual([]);
      // A row done while its process died may lack its line; all others have one.
      expect(perStudy.size).toBeGreaterThanOrEqual(STUDY_COUNT - 1);

      process.stderr.write(
        `scale-out: done by the killed worker ${killedDone.length}, by the new workers ` +
          `${workers.map((worker) => doneStudies(worker).length).join(' + ')}; held at the kill ` +
          `${heldByKilled.length} (${heldUnfinished.length} unfinished); hooks per API ` +
          `${[...balancer.forwardedCounts().values()].join(', ')}\n`,
      );

      // The analysis the killed worker held was finished by another worker.
      expect(heldUnfinished.length).toBeGreaterThan(0);
      const finishedByNew = new Set(workers.flatMap(doneStudies));
      for (const uid of heldUnfinished) expect(finishedByNew.has(uid)).toBe(true);

      // Written once: one Observation per study on the FHIR server, created once.
      const observations = await fhir.repository.searchResources<Observation>({
        resourceType: 'Observation',
        count: 1000,
      });
      expect(observations).toHaveLength(STUDY_COUNT);
      const observationStudies = observations.map(
        (observation) => observation.derivedFrom?.[0]?.reference ?? observation.id,
      );
      expect(new Set(observationStudies).size).toBe(STUDY_COUNT);
      const creates = fhir
        .requests()
        .filter((request) => request.method === 'POST' && /^Observation(\?|$)/.test(request.url));
      expect(creates).toHaveLength(STUDY_COUNT);
      const devices = fhir
        .requests()
        .filter((request) => request.method === 'POST' && /^Device(\?|$)/.test(request.url));
      expect(devices).toHaveLength(1);

      // The card of each study now shows its result, through either API process.
      const rechecked = studies.slice(0, 4);
      const again = await Promise.all(
        rechecked.map((study) => ehr.callHook('nqo1-risk', { context: { patientId: study.patientId } })),
      );
      again.forEach((result, index) => {
        expect(result.cards).toHaveLength(1);
        expect(result.cards[0]?.summary).not.toBe(CARD_MESSAGES.en.inProgressSummary);
        expect(result.cards[0]?.detail).toContain(
          CARD_MESSAGES.en.studyLine(rechecked[index]!.studyInstanceUid),
        );
      });
    } finally {
      await client.end();
    }
  }, 600_000);
});
