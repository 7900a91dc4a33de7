import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

import pino from 'pino';
import { afterEach, describe, expect, test } from 'vitest';

import { createStudyAnalyserFromConfig } from '../../src/jobs/analyse-study.js';
import { loadModelCard } from '../../src/model/card.js';
import { packagePath } from '../../src/paths.js';
import { calibratedResult } from '../support/score-result.js';

let server: Server | undefined;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (running !== undefined) await new Promise((resolve) => running.close(resolve));
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

  test('reads the FHIR token from the file its _FILE variable names', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-token-'));
    const tokenFile = path.join(folder, 'fhir-token');
    writeFileSync(tokenFile, 'service-token\n');
    const config = {
      dicomweb: {
        baseUrl: 'http://127.0.0.1:9/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
        timeoutMs: 1000,
      },
      fhir: {
        baseUrl: 'http://127.0.0.1:9/fhir',
        allowedBaseUrls: ['http://127.0.0.1:9/fhir'],
        timeoutMs: 1000,
        bearerTokenEnv: 'NQO1_TEST_FHIR_TOKEN',
      },
      jobs: { workerThreads: 0 },
    };
    const options = {
      modelCard: await loadModelCard(packagePath('config', 'models', 'br-ro.json')),
      logger: pino({ level: 'silent' }),
    };

    try {
      const analyse = createStudyAnalyserFromConfig(config, {
        ...options,
        env: { NQO1_TEST_FHIR_TOKEN_FILE: tokenFile },
      });
      expect(analyse.writer).toBeDefined();
      await analyse.close();
      expect(() => createStudyAnalyserFromConfig(config, { ...options, env: {} })).toThrow(
        'fhir.bearerTokenEnv names NQO1_TEST_FHIR_TOKEN, but neither NQO1_TEST_FHIR_TOKEN nor NQO1_TEST_FHIR_TOKEN_FILE is set',
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
