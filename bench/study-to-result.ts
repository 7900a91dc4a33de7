/**
 * Study notification to result ready, end to end on loopback: a private Orthanc stores the study, the
 * service runs as `nqo1-cds serve` builds it (`startServer` with `createStudyAnalyserFromConfig`),
 * and the bench sends `POST /pacs/studies` with the shared secret as the Orthanc Lua script does.
 * It then polls the SQLite result store, through its own connection, until the row is done.
 *
 * Two cases: the shared dcmqi ct-3slice CT with its liver SEG, and a generated 512 × 512 × 300
 * arterial-phase CT (0.78 × 0.78 × 1.25 mm) with a 40 mm radius tumour and its binary SEG, written
 * by the demo's phantom and dcmjs writers.
 *
 * Stage times come from the analyser's log lines, each stamped with `performance.now()` when pino
 * writes it (pino writes synchronously to a plain Writable): notification received → series
 * selected → images decoded → features scored → result seen in the store. Bytes come from the
 * "images decoded" line (`ctBytesFetched`, `ctSeriesBytes`, `retrievalPath`).
 *
 * NOTE: the first case also pays for starting the region worker threads and for JIT warm-up, so its
 * score time is higher than its size suggests. Each figure is one run, not a median.
 *
 * Run alone: `node --import tsx bench/study-to-result.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { renderPhantom } from '../src/cli/demo/phantom.js';
import { newUid, writeCtSeries, writeTumourSeg } from '../src/cli/demo/write-dicom.js';
import { DicomWebClient } from '../src/dicomweb/client.js';
import type { Grid } from '../src/imaging/volume.js';
import { createStudyAnalyserFromConfig } from '../src/jobs/analyse-study.js';
import { SqliteResultStore } from '../src/jobs/result-store.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../src/model/card.js';
import { createLogger } from '../src/server/logger.js';
import { startServer, type RunningServer } from '../src/server/start.js';
import { testConfig } from '../test/support/cds-fixtures.js';
import { createTestIssuer } from '../test/support/cds-jwt.js';
import { orthancUnavailableReason, startOrthanc, type OrthancHandle } from '../test/support/orthanc.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../test/support/shared-data.js';

/**
 * Environment variable that carries the notification secret into the service's configuration. The
 * clean-up names it literally, because lint forbids deleting a computed key.
 */
const SECRET_ENV = 'NQO1_BENCH_PACS_NOTIFY_TOKEN';
const SECRET = 'bench-notify-secret-5c1a';

/** Maximum wait for one result, in milliseconds. The generated study took 1.2 to 2.5 s in the measured runs. */
const RESULT_TIMEOUT_MS = 300_000;
const POLL_INTERVAL_MS = 20;

/** Instances per STOW-RS request, so one request stays around 10 MB. */
const STOW_BATCH = 20;

/**
 * 512 × 512 × 300 at 0.78 × 0.78 × 1.25 mm, centred on the origin (511 × 0.78 / 2 = 199.29 mm,
 * 299 × 1.25 / 2 = 186.875 mm), written as literals so that ImagePositionPatient fits its 16-character DS.
 */
const GENERATED_GRID: Grid = {
  dimensions: [512, 512, 300],
  spacingMm: [0.78, 0.78, 1.25],
  originMm: [-199.29, -199.29, -186.875],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};

export interface StudyToResultRow {
  readonly name: string;
  readonly ctSlices: number;
  readonly uploadMs: number;
  /** From the notification's 202 to the done row in the store. */
  readonly totalMs: number;
  /** From the notification's log line to "series selected" (QIDO-RS and SEG metadata). */
  readonly selectMs: number;
  /** "series selected" to "images decoded" (SEG and CT retrieval, decoding, mask). */
  readonly retrieveDecodeMs: number;
  /** "images decoded" to "features scored". */
  readonly scoreMs: number;
  /** "features scored" to the row being seen as done by the poll. */
  readonly storeMs: number;
  readonly retrievalPath: string;
  readonly ctInstancesFetched: number;
  readonly ctBytesFetched: number;
  readonly ctSeriesBytes: number;
  readonly tumourVoxels: number;
}

export type StudyToResultOutcome =
  | { readonly skipped: string }
  | { readonly rows: readonly StudyToResultRow[]; readonly loadAverage: readonly number[] };

interface TimedEntry {
  readonly atMs: number;
  readonly entry: Record<string, unknown>;
}

/** Creates the service's logger writing into memory, with each line stamped on arrival. */
function timedLogs(): { logger: ReturnType<typeof createLogger>; entries: TimedEntry[] } {
  const entries: TimedEntry[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const atMs = performance.now();
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') entries.push({ atMs, entry: JSON.parse(line) as Record<string, unknown> });
      }
      callback();
    },
  });
  return { logger: createLogger({ destination, level: 'info' }), entries };
}

interface StudyFiles {
  readonly name: string;
  readonly studyInstanceUid: string;
  readonly ctSlices: number;
  readonly files: readonly ArrayBuffer[];
}

async function sharedCase(): Promise<StudyFiles> {
  const files = await Promise.all([...CT_3SLICE_FILES, LIVER_SEG_FILE].map(readArrayBuffer));
  return {
    name: 'dcmqi ct-3slice + liver SEG (shared case)',
    studyInstanceUid: CT_3SLICE.studyInstanceUid,
    ctSlices: CT_3SLICE_FILES.length,
    files,
  };
}

/** Copies a Uint8Array view into an ArrayBuffer of its own, as STOW-RS takes. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/** Renders the 300-slice phantom with a 40 mm tumour and writes it as CT instances plus one SEG. */
function generatedCase(): StudyFiles {
  const { image, tumour } = renderPhantom(GENERATED_GRID, {
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
    accessionNumber: 'BENCH300',
  };
  const series = writeCtSeries(image, study);
  const seg = writeTumourSeg(tumour, study, series);
  return {
    name: 'generated 512 × 512 × 300, 40 mm tumour',
    studyInstanceUid: study.studyInstanceUid,
    ctSlices: series.files.length,
    files: [...series.files.map(ownBuffer), ownBuffer(seg)],
  };
}

function entryFor(
  entries: readonly TimedEntry[],
  studyInstanceUid: string,
  msg: string,
): TimedEntry | undefined {
  return entries.find(
    (timed) => timed.entry.msg === msg && timed.entry.studyInstanceUid === studyInstanceUid,
  );
}

function requireEntry(entries: readonly TimedEntry[], studyInstanceUid: string, msg: string): TimedEntry {
  const found = entryFor(entries, studyInstanceUid, msg);
  if (found === undefined) throw new Error(`The log line "${msg}" is missing for study ${studyInstanceUid}.`);
  return found;
}

function numberField(timed: TimedEntry, field: string): number {
  const value = timed.entry[field];
  if (typeof value !== 'number')
    throw new Error(`The log line "${String(timed.entry.msg)}" is missing the number ${field}.`);
  return value;
}

/** Uploads one study, notifies the service, and waits for the done row. */
async function runCase(
  study: StudyFiles,
  pacs: DicomWebClient,
  running: RunningServer,
  reader: SqliteResultStore,
  modelCard: ModelCard,
  entries: readonly TimedEntry[],
): Promise<StudyToResultRow> {
  const uploadStarted = performance.now();
  for (let start = 0; start < study.files.length; start += STOW_BATCH) {
    await pacs.storeInstances(study.files.slice(start, start + STOW_BATCH));
  }
  const uploadMs = performance.now() - uploadStarted;

  const notifiedAt = performance.now();
  const response = await fetch(`${running.url}/pacs/studies`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ studyInstanceUid: study.studyInstanceUid }),
  });
  if (response.status !== 202)
    throw new Error(`POST /pacs/studies failed with HTTP ${response.status}; expected 202.`);

  const key = {
    studyInstanceUid: study.studyInstanceUid,
    modelId: modelCard.id,
    modelVersion: modelCard.version,
  };
  let readyAt = Number.NaN;
  while (performance.now() - notifiedAt < RESULT_TIMEOUT_MS) {
    const row = await reader.getResult(key);
    if (row?.status === 'failed') throw new Error(`The analysis failed: ${JSON.stringify(row.failure)}`);
    if (row?.status === 'done') {
      readyAt = performance.now();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  if (Number.isNaN(readyAt))
    throw new Error(
      `Timed out after ${RESULT_TIMEOUT_MS} ms waiting for the result of study ${study.studyInstanceUid}; check the service log.`,
    );

  const uid = study.studyInstanceUid;
  const received = requireEntry(entries, uid, 'PACS notification received');
  const selected = requireEntry(entries, uid, 'series selected');
  const decoded = requireEntry(entries, uid, 'images decoded');
  const scored = requireEntry(entries, uid, 'features scored');
  return {
    name: study.name,
    ctSlices: study.ctSlices,
    uploadMs,
    totalMs: readyAt - notifiedAt,
    selectMs: selected.atMs - received.atMs,
    retrieveDecodeMs: decoded.atMs - selected.atMs,
    scoreMs: scored.atMs - decoded.atMs,
    storeMs: readyAt - scored.atMs,
    retrievalPath: String(decoded.entry.retrievalPath),
    ctInstancesFetched: numberField(decoded, 'ctInstancesFetched'),
    ctBytesFetched: numberField(decoded, 'ctBytesFetched'),
    ctSeriesBytes: numberField(decoded, 'ctSeriesBytes'),
    tumourVoxels: numberField(scored, 'tumourVoxelCount'),
  };
}

/** Runs both cases against a fresh Orthanc and service, or returns why Orthanc cannot run. */
export async function benchStudyToResult(): Promise<StudyToResultOutcome> {
  const unavailable = orthancUnavailableReason();
  if (unavailable !== null) return { skipped: unavailable };

  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-bench-e2e-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
  const previousSecret = process.env[SECRET_ENV];
  process.env[SECRET_ENV] = SECRET;
  let orthanc: OrthancHandle | undefined;
  let running: RunningServer | undefined;
  let reader: SqliteResultStore | undefined;
  let closeAnalyser: (() => Promise<void>) | undefined;
  try {
    orthanc = await startOrthanc();
    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 120_000,
    });

    const config = testConfig(await createTestIssuer(), {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      dicomweb: { baseUrl: orthanc.dicomWebUrl, allowedBaseUrls: [orthanc.dicomWebUrl], timeoutMs: 120_000 },
      store: { sqlitePath },
      notifications: { tokenEnv: SECRET_ENV },
    });
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const { logger, entries } = timedLogs();
    const analyse = createStudyAnalyserFromConfig(config, { modelCard, logger });
    closeAnalyser = () => analyse.close();
    running = await startServer(config, { analyse, logger, modelCard });
    reader = new SqliteResultStore(sqlitePath);

    const rows: StudyToResultRow[] = [];
    rows.push(await runCase(await sharedCase(), pacs, running, reader, modelCard, entries));
    rows.push(await runCase(generatedCase(), pacs, running, reader, modelCard, entries));
    return { rows, loadAverage: loadavg() };
  } finally {
    await reader?.close();
    await running?.close();
    await closeAnalyser?.();
    await orthanc?.stop();
    if (previousSecret === undefined) delete process.env.NQO1_BENCH_PACS_NOTIFY_TOKEN;
    else process.env[SECRET_ENV] = previousSecret;
    rmSync(folder, { recursive: true, force: true });
  }
}

const integer = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/** Prints the section of `npm run bench`. */
export async function printStudyToResult(): Promise<void> {
  console.log('\n## Study notification to result ready, Orthanc and the service on loopback (one run)\n');
  const outcome = await benchStudyToResult();
  if ('skipped' in outcome) {
    console.log('| case | result |');
    console.log('| --- | --- |');
    console.log(`| both cases | skipped: ${outcome.skipped} |`);
    return;
  }

  console.log(
    `Load average (1, 5, 15 min) at the end: ${outcome.loadAverage.map((value) => value.toFixed(2)).join(', ')}\n`,
  );
  console.log(
    '| case | upload ms | total ms | select series ms | retrieve + decode ms | score ms | store ms | retrieval | CT slices fetched | CT bytes fetched | series bytes | tumour voxels |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const row of outcome.rows) {
    console.log(
      `| ${row.name} | ${row.uploadMs.toFixed(0)} | ${row.totalMs.toFixed(0)} | ${row.selectMs.toFixed(0)} | ${row.retrieveDecodeMs.toFixed(0)} | ${row.scoreMs.toFixed(0)} | ${row.storeMs.toFixed(0)} | ${row.retrievalPath} | ${row.ctInstancesFetched} of ${row.ctSlices} | ${integer.format(row.ctBytesFetched)} | ${integer.format(row.ctSeriesBytes)} | ${integer.format(row.tumourVoxels)} |`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await printStudyToResult();
