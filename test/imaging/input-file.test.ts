/** The size limit of one input file, checked before the file is read. */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readInputFile } from '../../src/imaging/input-file.js';

let folder = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nqo1-input-file-'));
  await writeFile(join(folder, 'ten.bin'), new Uint8Array(10));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (error: unknown) => (isNqo1Error(error) ? error.code : String(error)),
  );
}

describe('readInputFile', () => {
  it('reads a file within the limit', async () => {
    expect((await readInputFile(join(folder, 'ten.bin'), 'test file', 10)).length).toBe(10);
  });

  it('rejects a file over the limit', async () => {
    expect(await codeOf(readInputFile(join(folder, 'ten.bin'), 'test file', 9))).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('reports a missing file', async () => {
    expect(await codeOf(readInputFile(join(folder, 'absent.bin'), 'test file'))).toBe('ERR_NOT_FOUND');
  });
});
