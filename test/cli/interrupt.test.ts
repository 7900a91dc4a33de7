/**
 * Ctrl-C during `nqo1-cds extract --batch`: the process stops after the case in progress, says how to
 * continue and exits with 130, and the results file holds complete rows only.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const PYRADIOMICS = fileURLToPath(new URL('../../../shared/data/radiomics/pyradiomics/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('extract --batch and SIGINT', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('exits 130 after the first case with a --resume hint, leaving whole rows', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-interrupt-'));
    folders.push(folder);
    const rows = ['Image,Mask'];
    for (let copy = 0; copy < 6; copy++) {
      rows.push(`${PYRADIOMICS}brain1_image.nrrd,${PYRADIOMICS}brain1_label.nrrd`);
    }
    const casesCsv = join(folder, 'cases.csv');
    await writeFile(casesCsv, `${rows.join('\n')}\n`);
    const out = join(folder, 'results.csv');

    // tsx is registered through its API: `node --import tsx` installs a SIGINT handler of its own.
    const argv = ['extract', '--batch', casesCsv, '--out', out, '--jobs', '1'];
    const script = [
      "const { register } = await import('tsx/esm/api');",
      'register();',
      `const { runCli } = await import(${JSON.stringify(MAIN)});`,
      `process.exitCode = await runCli(${JSON.stringify(argv)});`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let interrupted = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (!interrupted && stderr.includes('[1/6]')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Interrupted: .*results\.csv holds the rows of the first [1-5] of 6 cases\./);
    expect(stderr).toContain('--resume');
    const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
    const written = Number(/first (\d) of 6/.exec(stderr)![1]);
    expect(lines).toHaveLength(1 + written);
    const header = lines[0]!.split(',').length;
    // Each row has the header's cell count at least (settings cells hold quoted commas).
    for (const line of lines.slice(1)) expect(line.split(',').length).toBeGreaterThanOrEqual(header);
  }, 60_000);
});
