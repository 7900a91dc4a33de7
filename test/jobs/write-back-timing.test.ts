import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import pino from 'pino';
import { afterEach, describe, expect, test } from 'vitest';

import { createStudyAnalyserFromConfig } from '../../src/jobs/analyse-study.js';
import { loadModelCard } from '../../src/model/card.js';
import { packagePath } from '../../src/paths.js';
import { calibratedResult } from '../support/score-result.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('createStudyAnalyserFromConfig', () => {
  test('times failed FHIR writes as write-back', async () => {
    // A FHIR server on loopback that fails every request with 503.
    server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/fhir+json' }).end('{}');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const fhirBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    const stages: string[] = [];
    const analyse = createStudyAnalyserFromConfig(
      {
        dicomweb: {
          baseUrl: 'http://127.0.0.1:9/dicom-web',
          allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
          timeoutMs: 1000,
        },
        fhir: { baseUrl: fhirBase, allowedBaseUrls: [fhirBase], timeoutMs: 2000 },
        jobs: { workerThreads: 0 },
      },
      {
        modelCard: await loadModelCard(packagePath('config', 'models', 'br-ro.json')),
        logger: pino({ level: 'silent' }),
        onStageTimed: (stage) => {
          stages.push(stage);
        },
      },
    );

    await expect(
      analyse.writer?.write({
        result: calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }),
        patientId: 'pat-1',
        imagingStudyId: 'img-1',
        studyInstanceUid: '1.2.3',
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_FHIR/) as unknown });
    expect(stages).toEqual(['write-back']);
    await analyse.close();
  });
});
