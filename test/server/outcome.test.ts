import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';

import { ERROR_CODES, type ErrorCode, Nqo1Error } from '../../src/errors.js';
import { requestLogging } from '../../src/server/logger.js';
import { errorHandler, mapError, type OperationOutcome, STATUS_BY_CODE } from '../../src/server/outcome.js';
import { captureLogs } from '../support/log-capture.js';

const REQUEST_ID = 'req-123';

describe('mapError', () => {
  test.each<[ErrorCode, number, string]>([
    ['ERR_REQUEST_INVALID', 400, 'invalid'],
    ['ERR_REQUEST_TOO_LARGE', 413, 'too-costly'],
    ['ERR_UNAUTHORIZED', 401, 'login'],
    ['ERR_URL_NOT_ALLOWED', 403, 'forbidden'],
    ['ERR_NOT_FOUND', 404, 'not-found'],
    ['ERR_PREFETCH_MISSING', 412, 'required'],
    ['ERR_SERIES_GEOMETRY', 422, 'processing'],
    ['ERR_MASK_EMPTY', 422, 'processing'],
    ['ERR_SEG_MALFORMED', 422, 'processing'],
    ['ERR_MODEL_CARD_INVALID', 422, 'processing'],
    ['ERR_MODEL_FEATURE_MISSING', 422, 'processing'],
    ['ERR_NOT_IMPLEMENTED', 501, 'not-supported'],
    ['ERR_DICOMWEB_FAILED', 502, 'transient'],
    ['ERR_FHIR_FAILED', 502, 'transient'],
    ['ERR_INTERNAL', 500, 'exception'],
  ])('maps %s to %i', (code, status, issueType) => {
    const mapped = mapError(new Nqo1Error(code, `message for ${code}`), REQUEST_ID);

    expect(mapped.status).toBe(status);
    expect(mapped.code).toBe(code);
    if (status === 401) {
      expect(mapped.outcome).toBeUndefined();
      return;
    }
    expect(mapped.outcome?.issue[0]).toMatchObject({
      severity: 'error',
      code: issueType,
      details: { coding: [{ system: 'urn:nqo1-cds:error-code', code }], text: ERROR_CODES[code] },
    });
  });

  test('gives a FHIR token rejection a 401 with its outcome', () => {
    const mapped = mapError(new Nqo1Error('ERR_FHIR_TOKEN_REJECTED', 'token expired'), REQUEST_ID, 'zh-CN');

    expect(mapped.status).toBe(401);
    expect(mapped.outcome?.issue[0]).toMatchObject({
      code: 'login',
      details: {
        coding: [{ system: 'urn:nqo1-cds:error-code', code: 'ERR_FHIR_TOKEN_REJECTED' }],
        text: 'FHIR 服务器认定该访问令牌已过期或无效。',
      },
      diagnostics: 'token expired',
    });
  });

  test('has a status for every error code', () => {
    const unmapped = Object.keys(ERROR_CODES).filter((code) => !(code in STATUS_BY_CODE));
    expect(unmapped).toEqual([]);
  });

  test('gives a client error its message', () => {
    const mapped = mapError(new Nqo1Error('ERR_REQUEST_INVALID', 'context.patientId: missing'), REQUEST_ID);
    expect(mapped.outcome?.issue[0].diagnostics).toBe('context.patientId: missing');
  });

  test('hides a dependency error message', () => {
    const mapped = mapError(
      new Nqo1Error('ERR_DICOMWEB_FAILED', 'GET http://pacs.internal/secret-path failed'),
      REQUEST_ID,
    );

    expect(mapped.outcome?.issue[0].diagnostics).not.toContain('pacs.internal');
    expect(mapped.outcome?.issue[0].diagnostics).toContain(REQUEST_ID);
  });

  test('maps a timed-out dependency to 504', () => {
    const byDetail = mapError(
      new Nqo1Error('ERR_FHIR_FAILED', 'timed out', { details: { timedOut: true } }),
      REQUEST_ID,
    );
    const byCause = mapError(
      new Nqo1Error('ERR_DICOMWEB_FAILED', 'timed out', {
        cause: new DOMException('signal timed out', 'TimeoutError'),
      }),
      REQUEST_ID,
    );

    expect(byDetail.status).toBe(504);
    expect(byDetail.outcome?.issue[0].code).toBe('timeout');
    expect(byCause.status).toBe(504);
  });

  test('maps an unknown error to 500 with only the request id', () => {
    const mapped = mapError(
      new TypeError('Cannot read properties of undefined (reading "name")'),
      REQUEST_ID,
    );

    expect(mapped.status).toBe(500);
    expect(mapped.code).toBe('ERR_INTERNAL');
    expect(mapped.outcome?.issue[0].diagnostics).toBe(
      `${ERROR_CODES.ERR_INTERNAL} Quote request id ${REQUEST_ID} when reporting this to hospital IT.`,
    );
  });

  test('maps a thrown string to 500', () => {
    expect(mapError('boom', REQUEST_ID).status).toBe(500);
  });

  test.each<[ErrorCode, number, string]>([
    ['ERR_REQUEST_INVALID', 400, '请求无效。'],
    ['ERR_PREFETCH_MISSING', 412, 'Hook 请求缺少本服务所需的预取数据。'],
    ['ERR_FHIR_FAILED', 502, 'FHIR 服务器未返回所请求的内容。'],
  ])('gives %s (%i) a Chinese details.text', (code, status, text) => {
    const mapped = mapError(new Nqo1Error(code, `message for ${code}`), REQUEST_ID, 'zh-CN');
    const issue = mapped.outcome?.issue[0];

    expect(mapped.status).toBe(status);
    expect(issue?.details.text).toBe(text);
    expect(issue?.details.coding).toEqual([{ system: 'urn:nqo1-cds:error-code', code }]);
  });

  test('keeps 4xx diagnostics in English for zh-CN', () => {
    const mapped = mapError(
      new Nqo1Error('ERR_REQUEST_INVALID', 'context.patientId: missing'),
      REQUEST_ID,
      'zh-CN',
    );

    expect(mapped.outcome?.issue[0].diagnostics).toBe('context.patientId: missing');
  });

  test('gives a 5xx generic Chinese diagnostics', () => {
    const mapped = mapError(
      new Nqo1Error('ERR_DICOMWEB_FAILED', 'GET http://pacs.internal/secret-path failed'),
      REQUEST_ID,
      'zh-CN',
    );

    expect(mapped.outcome?.issue[0].diagnostics).toBe(
      `DICOMweb 服务器未返回所请求的内容。 向医院信息科报告此问题时，请提供请求编号 ${REQUEST_ID}。`,
    );
  });
});

describe('errorHandler', () => {
  function appThrowing(error: unknown): express.Application {
    const logs = captureLogs();
    const app = express();
    app.use(requestLogging(logs.logger));
    app.post('/json', express.json({ limit: '10b' }), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/fail', () => {
      throw error;
    });
    app.use(errorHandler());
    return Object.assign(app, { logs });
  }

  test('sends a bare 401', async () => {
    const response = await request(appThrowing(new Nqo1Error('ERR_UNAUTHORIZED', 'no token'))).get('/fail');

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
  });

  test('sends an OperationOutcome as fhir+json', async () => {
    const response = await request(
      appThrowing(new Nqo1Error('ERR_NOT_IMPLEMENTED', 'FHIR fetch comes later')),
    ).get('/fail');

    expect(response.status).toBe(501);
    expect(response.type).toBe('application/fhir+json');
    expect(JSON.parse(response.text)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'not-supported', diagnostics: 'FHIR fetch comes later' }],
    });
  });

  test('quotes the X-Request-Id in a 500', async () => {
    const response = await request(appThrowing(new Error('database exploded')))
      .get('/fail')
      .set('X-Request-Id', 'abc-42');

    expect(response.status).toBe(500);
    expect(response.headers['x-request-id']).toBe('abc-42');
    expect(response.text).toContain('abc-42');
    expect(response.text).not.toContain('database exploded');
  });

  test('maps invalid JSON to 400 and a large body to 413', async () => {
    const app = appThrowing(undefined);
    const invalid = await request(app).post('/json').set('Content-Type', 'application/json').send('{"a":');
    const large = await request(app)
      .post('/json')
      .set('Content-Type', 'application/json')
      .send('{"a":"0123456789"}');

    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text)).toMatchObject({
      issue: [{ details: { coding: [{ code: 'ERR_REQUEST_INVALID' }] } }],
    });
    expect(large.status).toBe(413);
    expect(JSON.parse(large.text)).toMatchObject({
      issue: [
        {
          code: 'too-costly',
          details: { coding: [{ code: 'ERR_REQUEST_TOO_LARGE' }] },
          diagnostics: expect.stringContaining('exceeds the limit of 10 bytes') as unknown,
        },
      ],
    });
  });

  test('names no route in the invalid JSON text', async () => {
    const response = await request(appThrowing(undefined))
      .post('/json')
      .set('Content-Type', 'application/json')
      .send('{"a":');
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(400);
    expect(issue.diagnostics).toBe(
      'The request body is not valid JSON; send a JSON body as application/json.',
    );
    expect(issue.details.text).toBe('The request is invalid.');
  });

  test('maps an unsupported charset to 400', async () => {
    const response = await request(appThrowing(undefined))
      .post('/json')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{}');
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(400);
    expect(issue.details.coding[0].code).toBe('ERR_REQUEST_INVALID');
    expect(issue.diagnostics).toBe(
      'The charset of the request body is not supported; send the JSON body in UTF-8.',
    );
  });

  test('maps an unsupported Content-Encoding to 400', async () => {
    const response = await request(appThrowing(undefined))
      .post('/json')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress')
      .send('{}');
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(400);
    expect(issue.diagnostics).toBe(
      'The Content-Encoding of the request body is not supported; send the body uncompressed, ' +
        'or compressed with gzip, deflate or br.',
    );
  });

  test('states a 5 MB limit in MB', async () => {
    const app = express();
    app.use(requestLogging(captureLogs().logger));
    app.post('/json', express.json({ limit: '5mb' }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler());
    const body = JSON.stringify({ padding: 'x'.repeat(5 * 1024 * 1024) });
    const response = await request(app).post('/json').set('Content-Type', 'application/json').send(body);

    expect(response.status).toBe(413);
    expect((JSON.parse(response.text) as OperationOutcome).issue[0].diagnostics).toContain(
      'exceeds the limit of 5 MB (5242880 bytes)',
    );
  });

  test('does not promise FHIR access in the 412 text', () => {
    const mapped = mapError(new Nqo1Error('ERR_PREFETCH_MISSING', 'prefetch.studies is missing'), REQUEST_ID);

    expect(mapped.outcome?.issue[0].details.text).toBe(
      'The hook request lacks the prefetch this service needs.',
    );
    expect(mapped.outcome?.issue[0].details.text).not.toContain('FHIR access');
  });

  test.each<[string, string | undefined, 'en' | 'zh-CN', string]>([
    ['no header, site en', undefined, 'en', 'The hook request lacks the prefetch this service needs.'],
    ['zh-CN header', 'zh-CN', 'en', 'Hook 请求缺少本服务所需的预取数据。'],
    ['zh-Hans-CN header', 'zh-Hans-CN,en;q=0.5', 'en', 'Hook 请求缺少本服务所需的预取数据。'],
    ['zh-Hans header', 'zh-Hans', 'en', 'Hook 请求缺少本服务所需的预取数据。'],
    ['zh-SG header', 'zh-SG', 'en', 'Hook 请求缺少本服务所需的预取数据。'],
    ['zh header', 'zh', 'en', 'Hook 请求缺少本服务所需的预取数据。'],
    ['zh-TW header', 'zh-TW', 'en', 'The hook request lacks the prefetch this service needs.'],
    ['zh-Hant header', 'zh-Hant', 'en', 'The hook request lacks the prefetch this service needs.'],
    ['no header, site zh-CN', undefined, 'zh-CN', 'Hook 请求缺少本服务所需的预取数据。'],
    ['en header, site zh-CN', 'en-US', 'zh-CN', 'The hook request lacks the prefetch this service needs.'],
  ])('412 details.text: %s', async (_case, acceptLanguage, siteLocale, text) => {
    const app = express();
    app.use(requestLogging(captureLogs().logger));
    app.get('/fail', () => {
      throw new Nqo1Error('ERR_PREFETCH_MISSING', 'prefetch.studies is missing');
    });
    app.use(errorHandler(siteLocale));
    const call = request(app).get('/fail');
    const response = await (acceptLanguage === undefined
      ? call
      : call.set('Accept-Language', acceptLanguage));
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(412);
    expect(issue.details.text).toBe(text);
    expect(issue.diagnostics).toBe('prefetch.studies is missing');
  });

  test('sends a bare 401 for zh-CN', async () => {
    const response = await request(appThrowing(new Nqo1Error('ERR_UNAUTHORIZED', 'no token')))
      .get('/fail')
      .set('Accept-Language', 'zh-CN');

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
  });

  test('logs the reason of a 4xx', async () => {
    const app = appThrowing(
      new Nqo1Error('ERR_REQUEST_INVALID', 'Invalid CDS Hooks request: hookInstance: expected a string'),
    ) as express.Application & { logs: ReturnType<typeof captureLogs> };
    await request(app).get('/fail');

    const [rejected] = app.logs.withMessage('request rejected');
    expect(rejected).toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      status: 400,
      reason: 'Invalid CDS Hooks request: hookInstance: expected a string',
    });
  });

  test('logs a 500 with its message and request id', async () => {
    const app = appThrowing(new Error('database exploded')) as express.Application & {
      logs: ReturnType<typeof captureLogs>;
    };
    await request(app).get('/fail').set('X-Request-Id', 'abc-43');

    const [failed] = app.logs.withMessage('request failed');
    expect(failed).toMatchObject({
      requestId: 'abc-43',
      code: 'ERR_INTERNAL',
      status: 500,
      err: { message: 'database exploded' },
    });
  });
});
