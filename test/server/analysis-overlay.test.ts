/**
 * `GET /api/analyses/{id}/overlay[/{slice}]`: the region pictures of an analysis, behind the same
 * proof of access as the analysis read. The medplum FHIR server plays the EHR, with a token check.
 */
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { renderRoiOverlay } from '../../src/imaging/roi-overlay.js';
import {
  PATH,
  TOKEN,
  createStudy,
  errorCodeOf,
  expectCleanLogs,
  jobFor,
  startAnalysisApi,
  storePending,
  type AnalysisApi,
} from '../support/analysis-api.js';
import type { Harness } from '../support/cds-fixtures.js';
import { axisAlignedGrid } from '../support/grid.js';
import type { FhirServerHandle } from '../support/fhir-server.js';
import { decodePng } from '../support/png-pixels.js';
import { calibratedResult } from '../support/score-result.js';

let api: AnalysisApi | undefined;

afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function start(): Promise<AnalysisApi> {
  api = await startAnalysisApi();
  return api;
}

/** Pictures of a 2 × 2 tumour on slices 1 and 2 of an 8 × 8 × 3 grid, drawn by the real renderer. */
function drawnOverlay() {
  const grid = axisAlignedGrid([8, 8, 3]);
  const tumour = new Uint8Array(8 * 8 * 3);
  for (const k of [1, 2]) for (const j of [3, 4]) for (const i of [3, 4]) tumour[i + 8 * (j + 8 * k)] = 1;
  const mask = { grid, voxels: tumour };
  return renderRoiOverlay({ grid, voxels: new Float64Array(8 * 8 * 3).fill(40) }, mask, mask, {
    marginMm: 1,
    targetSidePx: 24,
  });
}

/** Stores a done analysis of a study in the FHIR server, with its pictures. */
async function doneWithPictures(): Promise<{ h: Harness; fhir: FhirServerHandle; id: string }> {
  const { h, fhir } = await start();
  const job = jobFor(await createStudy(fhir));
  const id = await storePending(h, job);
  await h.store.markDone(job, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }));
  await h.store.overlays.save(id, drawnOverlay());
  return { h, fhir, id };
}

function getPath(
  h: Harness,
  path: string,
  fhirServerUrl: string,
  authorization = `Bearer ${TOKEN}`,
): request.Test {
  return request(h.app)
    .get(`${path}?fhirServer=${encodeURIComponent(fhirServerUrl)}`)
    .set('Authorization', authorization);
}

describe('GET /api/analyses/{id}/overlay', () => {
  test('lists the stored slices after reading the ImagingStudy', async () => {
    const { h, fhir, id } = await doneWithPictures();

    const response = await getPath(h, `${PATH}/${id}/overlay`, fhir.baseUrl);

    expect(response.status).toBe(200);
    // Crop: voxels 2..5 (the tumour's 3..4 and 1 mm of margin), 24 px / 4 voxels = 6 px per voxel.
    expect(response.body).toEqual({
      slices: [1, 2].map((sliceIndex) => ({
        sliceIndex,
        tumourVoxelCount: 4,
        widthPx: 24,
        heightPx: 24,
        window: { levelHu: 60, widthHu: 200 },
      })),
    });
    expect(fhir.requests()).toHaveLength(1);
    expect(
      (await h.store.audit.list({ limit: 10 })).map((event) => [event.action, event.analysisId]),
    ).toEqual([['overlay-list', id]]);
    expectCleanLogs(h);
  });

  test('sends one slice as a PNG of the drawn picture', async () => {
    const { h, fhir, id } = await doneWithPictures();

    const response = await getPath(h, `${PATH}/${id}/overlay/2`, fhir.baseUrl)
      .buffer(true)
      .parse((res, done) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          done(null, Buffer.concat(parts));
        });
      });

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(response.headers['cache-control']).toBe('no-store');
    const decoded = decodePng(new Uint8Array(response.body as Buffer));
    expect([decoded.width, decoded.height]).toEqual([24, 24]);
    // 40 HU in the 60/200 window: 255 · 0.4 = 102 at the corner, far from the outline.
    expect([...decoded.rgba.subarray(0, 4)]).toEqual([102, 102, 102, 255]);
  });

  test('404 for a slice without a picture, after the access check', async () => {
    const { h, fhir, id } = await doneWithPictures();

    const response = await getPath(h, `${PATH}/${id}/overlay/0`, fhir.baseUrl);

    expect(response.status).toBe(404);
    expect(errorCodeOf(response)).toBe('ERR_NOT_FOUND');
    expect(fhir.requests()).toHaveLength(1);
  });

  test('401 and no picture for a token the FHIR server refuses', async () => {
    const { h, fhir, id } = await doneWithPictures();

    const list = await getPath(h, `${PATH}/${id}/overlay`, fhir.baseUrl, 'Bearer another-token');
    const slice = await getPath(h, `${PATH}/${id}/overlay/1`, fhir.baseUrl, 'Bearer another-token');

    expect([list.status, slice.status]).toEqual([401, 401]);
    expect(errorCodeOf(list)).toBe('ERR_FHIR_TOKEN_REJECTED');
    expect(slice.headers['content-type']).not.toBe('image/png');
  });

  test('401 without a token, and no FHIR request', async () => {
    const { h, fhir, id } = await doneWithPictures();

    const response = await request(h.app).get(
      `${PATH}/${id}/overlay/1?fhirServer=${encodeURIComponent(fhir.baseUrl)}`,
    );

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(fhir.requests()).toEqual([]);
  });

  test('empty list for an analysis without pictures', async () => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor(await createStudy(fhir)));

    const response = await getPath(h, `${PATH}/${id}/overlay`, fhir.baseUrl);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ slices: [] });
  });
});
