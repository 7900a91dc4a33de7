/**
 * Starts a private Orthanc PACS with its DICOMweb plugin for integration tests.
 *
 * Each instance gets its own temporary directory for storage, index and configuration, a free
 * loopback HTTP port, no DICOM (DIMSE) listener and no authentication. Orthanc 1.10 has no option
 * to bind its HTTP server to one address, so it listens on every interface, but
 * `RemoteAccessAllowed: false` makes it reject any client that is not on the loopback interface.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Path of the Orthanc binary installed by the Debian package `orthanc`. */
export const ORTHANC_BINARY = '/usr/sbin/Orthanc';

/** Path of the DICOMweb plugin installed by the Debian package `orthanc-dicomweb`. */
export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** How long to wait for `/system` to respond after the process starts, in milliseconds. */
const STARTUP_TIMEOUT_MS = 30_000;

/** Number of log lines kept to explain a failed start. */
const LOG_TAIL_LINES = 40;

export interface OrthancHandle {
  /** Base URL of the Orthanc REST API, e.g. `http://127.0.0.1:41234`. */
  readonly baseUrl: string;
  /** Base URL of the DICOMweb API (QIDO-RS, WADO-RS and STOW-RS), ending without a slash. */
  readonly dicomWebUrl: string;
  /** The last lines of Orthanc's log, to explain a failed test. */
  logTail(): string;
  /** Stops the process and deletes its temporary directory. */
  stop(): Promise<void>;
}

/**
 * Returns why Orthanc cannot run on this machine, or null when the binary and plugin exist.
 * Integration tests skip with this reason outside CI and fail with it under `CI=true`.
 */
export function orthancUnavailableReason(): string | null {
  if (!existsSync(ORTHANC_BINARY)) {
    return `Orthanc is not installed (missing ${ORTHANC_BINARY}); install the Debian package "orthanc".`;
  }
  if (!existsSync(ORTHANC_DICOMWEB_PLUGIN)) {
    return `The Orthanc DICOMweb plugin is not installed (missing ${ORTHANC_DICOMWEB_PLUGIN}); install "orthanc-dicomweb".`;
  }
  return null;
}

/**
 * Decides whether a test file that needs Orthanc runs. Returns null when Orthanc is installed. When
 * it is missing, it throws under `CI=true`, because CI installs Orthanc and a skip there would hide
 * a broken set-up. Elsewhere it prints why and returns the reason, for `describe.skipIf`.
 *
 * @param suite - Name of the test suite, for the message.
 */
export function orthancSkipReason(suite: string): string | null {
  const unavailable = orthancUnavailableReason();
  if (unavailable === null) return null;
  if (process.env.CI === 'true') throw new Error(`${suite} needs Orthanc under CI: ${unavailable}`);
  console.warn(`Skipping ${suite}: ${unavailable}`);
  return unavailable;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('the probe server has no TCP address'));
        return;
      }
      const { port } = address;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface StartOrthancOptions {
  /** Top-level configuration keys added to (or replacing) the defaults, e.g. `LuaScripts`, `StableAge`. */
  readonly extraConfig?: Readonly<Record<string, unknown>>;
  /** Environment variables added to the Orthanc process, e.g. a secret its configuration names. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts Orthanc and resolves once its REST API responds.
 *
 * @throws Error when Orthanc is missing, exits early or does not respond within 30 s; the message
 *   carries the last lines of its log.
 */
export async function startOrthanc(options: StartOrthancOptions = {}): Promise<OrthancHandle> {
  const unavailable = orthancUnavailableReason();
  if (unavailable !== null) throw new Error(unavailable);

  const workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-orthanc-'));
  const port = await findFreeLoopbackPort();
  const configPath = path.join(workDir, 'orthanc.json');
  await writeFile(
    configPath,
    JSON.stringify({ ...orthancConfig(workDir, port), ...options.extraConfig }, null, 2),
  );

  const logTail: string[] = [];
  const child = spawn(ORTHANC_BINARY, [configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const keepLog = (chunk: Buffer): void => {
    logTail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    logTail.splice(0, Math.max(0, logTail.length - LOG_TAIL_LINES));
  };
  child.stdout.on('data', keepLog);
  child.stderr.on('data', keepLog);

  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    await waitForSystemEndpoint(baseUrl, child);
  } catch (error) {
    await stop();
    throw new Error(`Orthanc did not start: ${(error as Error).message}\n${logTail.join('\n')}`, {
      cause: error,
    });
  }

  return { baseUrl, dicomWebUrl: `${baseUrl}/dicom-web`, logTail: () => logTail.join('\n'), stop };
}

function orthancConfig(workDir: string, port: number): Record<string, unknown> {
  return {
    Name: 'NQO1-TEST',
    StorageDirectory: path.join(workDir, 'storage'),
    IndexDirectory: path.join(workDir, 'index'),
    HttpPort: port,
    HttpServerEnabled: true,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: [ORTHANC_DICOMWEB_PLUGIN],
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      EnableWado: false,
      // Bulk data URIs in metadata responses point at this host.
      Host: `127.0.0.1:${port}`,
      Ssl: false,
    },
  };
}

async function waitForSystemEndpoint(baseUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the process exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${baseUrl}/system`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // Connection refused while Orthanc is still starting: poll again.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`GET ${baseUrl}/system did not return 200 within ${STARTUP_TIMEOUT_MS} ms`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
