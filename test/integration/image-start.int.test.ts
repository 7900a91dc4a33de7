/**
 * The container image, checked without Docker (which these machines cannot run): the Dockerfile's
 * structure, and its start command run as the image runs it, from the package root against the
 * built `dist/`, with the image's environment and NODE_ENV=production. Only the listening address
 * differs: 127.0.0.1 instead of the image's 0.0.0.0, so the test listens on loopback only.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { packagePath } from '../../src/paths.js';

/** One stage of the Dockerfile: its instructions in order, continuation lines joined. */
interface Stage {
  readonly from: string;
  readonly instructions: readonly { readonly keyword: string; readonly argument: string }[];
}

function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: { from: string; instructions: { keyword: string; argument: string }[] }[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') stages.push({ from: argument, instructions: [] });
    else stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), argument });
  }
  return stages;
}

function argumentsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((item) => item.keyword === keyword).map((item) => item.argument);
}

/** `ENV A=1 B=2` pairs of a stage, later ones winning. */
function environmentOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const argument of argumentsOf(stage, 'ENV')) {
    for (const pair of argument.split(/\s+/)) {
      const [name = '', ...value] = pair.split('=');
      env[name] = value.join('=');
    }
  }
  return env;
}

const DOCKERFILE = readFileSync(packagePath('Dockerfile'), 'utf8');
const stages = parseDockerfile(DOCKERFILE);
const runtime = stages.at(-1)!;
const packageJson = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  test('builds in one stage and runs from another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.from).toMatch(/ AS build$/);
    const copies = argumentsOf(runtime, 'COPY');
    expect(copies).toContain('--from=build /app/node_modules ./node_modules');
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((copy) => copy.startsWith('src ') || copy.startsWith('test '))).toBe(false);
  });

  test('prunes dev dependencies before the runtime stage copies node_modules', () => {
    const buildRuns = argumentsOf(stages[0]!, 'RUN').join('\n');
    expect(buildRuns).toContain('npm prune --omit=dev');
  });

  test('runs as a user other than root', () => {
    const users = argumentsOf(runtime, 'USER');
    expect(users.at(-1)).toBe('node');
  });

  test('has a health check of /healthz and runs in production mode', () => {
    expect(argumentsOf(runtime, 'HEALTHCHECK').at(-1)).toContain('/healthz');
    expect(environmentOf(runtime).NODE_ENV).toBe('production');
  });

  test('ships compiled code that imports no dev dependency', () => {
    expect(existsSync(packagePath('dist', 'src', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const imported = new Set<string>();
    const specifier = /(?:from\s+|import\(\s*|require\(\s*|require\.resolve\(\s*)['"]([^'".][^'"]*)['"]/g;
    for (const folder of ['src', 'cds-services']) {
      const files = readdirSync(packagePath('dist', folder), { recursive: true, encoding: 'utf8' });
      for (const file of files.filter((name) => name.endsWith('.js'))) {
        const text = readFileSync(packagePath('dist', folder, file), 'utf8');
        for (const match of text.matchAll(specifier)) {
          const name = match[1] ?? '';
          imported.add(
            name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : (name.split('/')[0] ?? ''),
          );
        }
      }
    }

    const devOnly = [...imported].filter((name) => name in packageJson.devDependencies);
    expect(devOnly).toEqual([]);
    expect(imported.has('express')).toBe(true);
  });
});

/** Starts a loopback server that responds to the readiness probes as a PACS and a FHIR server would. */
async function startUpstream(): Promise<{ baseUrl: string; server: Server }> {
  const server = createServer((req, res) => {
    const known = req.url === '/dicom-web/studies?limit=1' || req.url === '/fhir/R4/metadata';
    res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' }).end(known ? '[]' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Resolves with the `url` of the `server listening` log line, or rejects when the process ends. */
function listeningUrl(child: ChildProcess, output: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      output.push(chunk.toString('utf8'));
      for (const line of buffer.split('\n')) {
        if (!line.includes('"server listening"')) continue;
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`the start command exited with ${code}: ${output.join('').slice(-2000)}`));
    });
  });
}

describe('the image start command', () => {
  let child: ChildProcess | undefined;
  let upstream: { baseUrl: string; server: Server } | undefined;
  let folder: string | undefined;
  let url = '';
  const output: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    folder = mkdtempSync(path.join(tmpdir(), 'nqo1-image-'));
    const cmd = JSON.parse(argumentsOf(runtime, 'CMD').at(-1) ?? '[]') as string[];
    expect(cmd).toEqual(['node', 'bin/nqo1-cds.js', 'serve']);

    const dicomweb = `${upstream.baseUrl}/dicom-web`;
    const fhir = `${upstream.baseUrl}/fhir/R4`;
    child = spawn(process.execPath, cmd.slice(1), {
      cwd: packagePath(),
      env: {
        PATH: process.env.PATH,
        ...environmentOf(runtime),
        NODE_ENV: 'production',
        NQO1_HOST: '127.0.0.1',
        NQO1_SERVER_PORT: '0',
        NQO1_STORE_SQLITE_PATH: path.join(folder, 'results.sqlite'),
        NQO1_DICOMWEB_BASE_URL: dicomweb,
        NQO1_DICOMWEB_ALLOWED_BASE_URLS: JSON.stringify([dicomweb]),
        NQO1_FHIR_BASE_URL: fhir,
        NQO1_FHIR_ALLOWED_BASE_URLS: JSON.stringify([fhir]),
        NQO1_JOBS_WORKER_THREADS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    url = await listeningUrl(child, output);
  });

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child?.once('exit', resolve));
    }
    await new Promise((resolve) => upstream?.server.close(resolve));
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  });

  test('listens on loopback and answers /healthz', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', model: { id: 'br-ro' } });
  });

  test('is ready when the PACS and the FHIR server answer', async () => {
    const response = await fetch(`${url}/readyz`);
    expect(await response.json()).toMatchObject({ status: 'ready', notReady: [] });
    expect(response.status).toBe(200);
  });

  test('serves the metrics', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('nqo1_analyses{status="pending"} 0\n');
  });

  test("passes the image's health check command", async () => {
    const healthcheck = argumentsOf(runtime, 'HEALTHCHECK').at(-1) ?? '';
    const command = healthcheck.slice(healthcheck.indexOf('CMD ') + 'CMD '.length);
    const port = new URL(url).port;
    const exitCode = await new Promise<number>((resolve) => {
      execFile(
        '/bin/sh',
        ['-c', command],
        { env: { PATH: process.env.PATH, NQO1_SERVER_PORT: port } },
        (error) => {
          if (error === null) resolve(0);
          else resolve(typeof error.code === 'number' ? error.code : 1);
        },
      );
    });
    expect(exitCode).toBe(0);
  });

  test('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.join('')).toContain('"server stopped"');
  });
});
