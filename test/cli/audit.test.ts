import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { afterEach, describe, expect, test } from 'vitest';

import { auditCommand } from '../../src/cli/commands/audit.js';
import type { AuditEvent } from '../../src/jobs/audit-trail.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';

let folder: string | undefined;

afterEach(() => {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** Collects what a command writes. */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

function event(action: AuditEvent['action'], analysisId: string): AuditEvent {
  return {
    action,
    actor: { kind: 'smart-app', id: 'nqo1-cds' },
    analysisId,
    studyInstanceUid: '1.2.3',
    modelId: 'br-ro',
    modelVersion: '1.0.0',
    outcome: 'success',
  };
}

/** Writes three events at 08:00, 09:00 and 10:00 on 2026-12-01 and a site file naming the database. */
async function seedStore(): Promise<string> {
  folder = mkdtempSync(path.join(tmpdir(), 'nqo1-audit-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
  let hour = 8;
  const store = new SqliteResultStore(sqlitePath, { now: () => new Date(Date.UTC(2026, 11, 1, hour)) });
  await store.audit.record(event('compute', 'a-1'));
  hour = 9;
  await store.audit.record(event('read', 'a-1'));
  hour = 10;
  await store.audit.record({
    ...event('chart-record', 'a-1'),
    actor: { kind: 'fhir-user', id: 'Practitioner/7' },
  });
  await store.close();

  const configPath = path.join(folder, 'site.json');
  writeFileSync(configPath, JSON.stringify({ store: { sqlitePath } }));
  return configPath;
}

describe('nqo1-cds audit', () => {
  test('exports every event as JSON Lines', async () => {
    const config = await seedStore();
    const out = sink();
    const count = await auditCommand({ config }, out);

    const lines = out.text().trimEnd().split('\n');
    expect(count).toBe(3);
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2] ?? '')).toEqual({
      sequence: 3,
      recordedAt: '2026-12-01T10:00:00.000Z',
      action: 'chart-record',
      actor: { kind: 'fhir-user', id: 'Practitioner/7' },
      analysisId: 'a-1',
      studyInstanceUid: '1.2.3',
      modelId: 'br-ro',
      modelVersion: '1.0.0',
      outcome: 'success',
    });
  });

  test('keeps events from since up to before until', async () => {
    const config = await seedStore();
    const out = sink();
    await auditCommand({ config, since: '2026-12-01T09:00:00Z', until: '2026-12-01T10:00:00Z' }, out);

    const actions = out
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions).toEqual(['read']);
  });

  test('rejects a store path that does not exist', async () => {
    const config = await seedStore();
    const missing = path.join(folder!, 'typo', 'results.sqlite');
    writeFileSync(config, JSON.stringify({ store: { sqlitePath: missing } }));

    await expect(auditCommand({ config }, sink())).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining(`store.sqlitePath names ${missing}, which does not exist`) as unknown,
    });
    expect(existsSync(path.dirname(missing))).toBe(false);
  });

  test('rejects a time that is not a date', async () => {
    const config = await seedStore();
    await expect(auditCommand({ config, since: 'yesterday' }, sink())).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      message: expect.stringContaining('--since "yesterday" is not a date') as unknown,
    });
  });
});
