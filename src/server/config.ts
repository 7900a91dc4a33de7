/**
 * Service configuration: `config/default.json`, deep-merged with an optional site file and the
 * environment overrides of `config-env.ts`, then validated once at start-up by a strict zod schema. An unknown or
 * misspelled key is an error that names its path, so a typo can never fall back to a default.
 *
 * The schema has no field for a secret. A section names the environment variable that contains the
 * secret (`fhir.bearerTokenEnv`), and the variable is read where the secret is used.
 */

import { readFileSync } from 'node:fs';

import * as z from 'zod';

import { DEFAULT_MAX_RESPONSE_BYTES } from '../dicomweb/client.js';
import { DEFAULT_SERIES_RULE_VALUES, compileSeriesPattern } from '../dicomweb/ct-series-rules.js';
import { DEFAULT_DICOMWEB_RETRIES, DEFAULT_DICOMWEB_RETRY_FIRST_DELAY_MS } from '../dicomweb/retry.js';
import { Nqo1Error } from '../errors.js';
import { DEFAULT_SERIES_LIMITS } from '../imaging/ct-series.js';
import { DEFAULT_FRACTIONAL_THRESHOLD } from '../imaging/seg-frames.js';
import { DEFAULT_RETRY_FAILED_AFTER_MS, DEFAULT_RETRY_WRITE_BACK_AFTER_MS } from '../jobs/queue.js';
import { DEFAULT_WORKER_THREADS } from '../jobs/analysis-workers.js';
import { QUEUE_ROLES } from '../jobs/queue-role.js';
import { packagePath } from '../paths.js';
import { isUrlAllowed } from '../net/url-allowlist.js';
import { checkUnreadEnvNames, readEnvOverrides } from './config-env.js';

/** Asymmetric JWS algorithms an EHR may sign CDS Hooks tokens with. `none` and HS* are never allowed. */
export const JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** Locales every card and user message exists in. */
export const LOCALES = ['en', 'zh-CN'] as const;

export type Locale = (typeof LOCALES)[number];

const httpUrl = z.url({
  protocol: /^https?$/,
  error: (issue) => `expected an http(s) URL, got ${JSON.stringify(issue.input)}`,
});

/**
 * A web origin, `scheme://host[:port]` with no path and no wildcard, as a CSP source lists it.
 * Only http(s), and written exactly as the URL parser serialises it, so that the header the
 * service sends matches the browser's comparison (lower-case host, no default port, no slash).
 */
const webOrigin = z
  .string()
  .refine(
    (value) =>
      URL.canParse(value) &&
      /^https?:$/.test(new URL(value).protocol) &&
      new URL(value).origin === value &&
      !value.includes('*'),
    {
      error: (issue) =>
        `expected an http(s) origin such as "https://ehr.example.org" (no path, no trailing slash, ` +
        `no wildcard, lower-case host, no default port), got ${JSON.stringify(issue.input)}`,
    },
  );

/** An http(s) URL with any trailing slash removed, so `${baseUrl}/path` never doubles it. */
const baseUrl = httpUrl.transform((url) => url.replace(/\/+$/, ''));

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A JWKS URL: https, or plain http only on the loopback interface (for local test issuers). */
const jwksUrl = httpUrl.refine(
  (url) => {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || LOOPBACK_HOSTS.has(parsed.hostname);
  },
  { error: (issue) => `expected an https URL (http only on loopback), got ${JSON.stringify(issue.input)}` },
);

const algorithm = z.enum(JWS_ALGORITHMS, {
  error: (issue) =>
    `expected an asymmetric JWS algorithm (${JWS_ALGORITHMS.join(', ')}), got ${JSON.stringify(issue.input)}; ` +
    'none and HS* are rejected because CDS Hooks tokens are signed with the EHR private key',
});

/** JWK members that hold private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** An inline JWKS of public keys: private key material never belongs in a configuration file. */
const jsonWebKeySet = z.looseObject({
  keys: z
    .array(
      z
        .looseObject({ kty: z.string() })
        .refine((key) => PRIVATE_JWK_MEMBERS.every((member) => !(member in key)), {
          error:
            'expected a public key, but the JWK contains private or symmetric key material; ' +
            'copy only the public JWKS of the EHR',
        }),
    )
    .min(1, { error: 'expected at least one key in the JWKS' }),
});

const issuerSchema = z
  .strictObject({
    iss: z.string().min(1, { error: 'expected the issuer identifier, got an empty string' }),
    jwksUrl: jwksUrl.optional(),
    jwks: jsonWebKeySet.optional(),
    algorithms: z.array(algorithm).min(1).default(['RS384', 'ES384', 'RS256', 'ES256']),
  })
  .refine((issuer) => (issuer.jwksUrl === undefined) !== (issuer.jwks === undefined), {
    error: 'expected exactly one of jwksUrl or jwks (inline JWKS) for this issuer',
  });

const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z
      .number({ error: (issue) => `expected a port number, got ${JSON.stringify(issue.input)}` })
      .int()
      .min(0)
      .max(65535)
      .default(8080),
    /**
     * URL at which the EHR reaches this service; JWT `aud` must be `${publicUrl}/cds-services/<id>`.
     * Defaults to `http://<host>:<port>`, which is wrong behind a reverse proxy or on 0.0.0.0.
     */
    publicUrl: baseUrl.optional(),
    /** Browser origins allowed to call the service (e.g. a CDS Hooks sandbox); empty disables CORS. */
    corsOrigins: z.array(z.url()).default([]),
    /**
     * Role of `serve`: `all` (hooks, the app and the analyses), `api` (hooks and the app, enqueue
     * only) or `worker` (analyses, with the operations routes only). `api` and `worker` need
     * `store.engine: postgres`. `serve --role` overrides it.
     */
    role: z.enum(QUEUE_ROLES).default('all'),
  })
  .transform((server) => ({ ...server, publicUrl: server.publicUrl ?? directUrl(server.host, server.port) }));

/** Returns `http://<host>:<port>`, with an IPv6 host in brackets. */
function directUrl(host: string, port: number): string {
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${urlHost}:${port}`;
}

const authSchema = z.strictObject({
  issuers: z.array(issuerSchema).default([]),
  /** Longest accepted token age and lifetime; one hour at most, since each jti is kept this long. */
  maxTokenAgeSeconds: z.number().int().positive().max(3600).default(300),
  clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
});

const dicomwebSchema = z.strictObject({
  baseUrl,
  allowedBaseUrls: z.array(baseUrl).min(1),
  timeoutMs: z.number().int().positive().default(30_000),
  /** Retries of a DICOMweb read after a transient failure (timeout, no response, 408, 429, 5xx). */
  retries: z.number().int().min(0).max(10).default(DEFAULT_DICOMWEB_RETRIES),
  /** Wait before the first of those retries, in milliseconds; each later wait doubles. */
  retryFirstDelayMs: z.number().int().min(0).max(60_000).default(DEFAULT_DICOMWEB_RETRY_FIRST_DELAY_MS),
  /** Largest DICOMweb response body, in bytes; a larger response is stopped with ERR_INPUT_TOO_LARGE. */
  maxResponseBytes: z
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .default(DEFAULT_MAX_RESPONSE_BYTES),
  /**
   * `roi-first` fetches the segmentation first and then only the CT slices the tumour and its
   * dilation need (src/jobs/roi-retrieval.ts); `whole-series` always fetches every slice.
   */
  ctRetrieval: z.enum(['roi-first', 'whole-series']).default('roi-first'),
});

/** Size limits and reading settings for the images of one analysis. */
const imagingSchema = z.strictObject({
  /** Most instances a CT series may have; QIDO-RS's count is checked before retrieval. */
  maxSeriesInstances: z.number().int().positive().default(DEFAULT_SERIES_LIMITS.maxInstances),
  /** Most voxels a CT volume may have, checked from the headers before any pixel is decoded. */
  maxVolumeVoxels: z
    .number()
    .int()
    .positive()
    .max(2 ** 31)
    .default(DEFAULT_SERIES_LIMITS.maxVoxels),
  /** Resample a series with gantry tilt or varying slice steps instead of rejecting it. */
  resampleIrregular: z.boolean().default(false),
  /** Position tolerance between mask and CT grid in mm; unset: max(0.01 mm, 1 % of the spacing). */
  maskToleranceMm: z.number().min(0).max(10).optional(),
  /** FRACTIONAL SEG threshold as a fraction of MaximumFractionalValue, in (0, 1]. */
  fractionalThreshold: z.number().gt(0).max(1).default(DEFAULT_FRACTIONAL_THRESHOLD),
});

/** Schema of a regular-expression source, which the series rules compile case-insensitive. */
const seriesPattern = z.string().superRefine((source, context) => {
  if (source.length === 0) {
    context.addIssue({
      code: 'custom',
      message: 'expected a non-empty regular expression, such as "\\barterial\\b" or "动脉"',
    });
    return;
  }
  try {
    compileSeriesPattern(source);
  } catch (error) {
    // The engine's message names the fault, e.g. "Unterminated group".
    const reason = error instanceof Error ? error.message : String(error);
    context.addIssue({
      code: 'custom',
      message: `${JSON.stringify(source)} is not a regular expression: ${reason}`,
    });
  }
});

/** Builds the schema of an inclusive range `{ min, max }` within [`lowest`, `highest`], with min ≤ max. */
function rangeSchema(
  lowest: number,
  highest: number,
  fallback: { readonly min: number; readonly max: number },
) {
  return z
    .strictObject({
      min: z.number().min(lowest).max(highest).default(fallback.min),
      max: z.number().min(lowest).max(highest).default(fallback.max),
    })
    .refine((range) => range.min <= range.max, {
      error: (issue) => `expected min ≤ max, got ${JSON.stringify(issue.input)}`,
    })
    .prefault({});
}

/**
 * Rules that choose the CT series of a study (src/dicomweb/ct-series-rules.ts, whose header says
 * which rules exclude a series and which rank it). Patterns are regular expressions, matched without
 * regard to case. Every rule on an image attribute lets a series pass when the attribute is absent.
 */
const seriesSchema = z.strictObject({
  /** SeriesDescription (0008,103E) patterns that mark an arterial-phase series; ranks it first. */
  arterialPhasePatterns: z
    .array(seriesPattern)
    .min(1)
    .default([...DEFAULT_SERIES_RULE_VALUES.arterialPhasePatterns]),
  /** Exclude series marked as non-contrast by the description, or by a missing ContrastBolusAgent. */
  requireContrast: z.boolean().default(DEFAULT_SERIES_RULE_VALUES.requireContrast),
  /** SeriesDescription patterns that mark a series acquired without contrast. */
  nonContrastPatterns: z.array(seriesPattern).default([...DEFAULT_SERIES_RULE_VALUES.nonContrastPatterns]),
  /** Allowed SliceThickness (0018,0050) in millimetres; a series outside is excluded. */
  sliceThicknessMm: rangeSchema(0, 100, DEFAULT_SERIES_RULE_VALUES.sliceThicknessMm),
  /** ConvolutionKernel (0018,1210) patterns; a denied kernel, or none allowed when allow patterns are set, excludes. */
  convolutionKernel: z
    .strictObject({
      allowPatterns: z
        .array(seriesPattern)
        .default([...DEFAULT_SERIES_RULE_VALUES.convolutionKernel.allowPatterns]),
      denyPatterns: z
        .array(seriesPattern)
        .default([...DEFAULT_SERIES_RULE_VALUES.convolutionKernel.denyPatterns]),
    })
    .prefault({}),
  /** Seconds from ContrastBolusStartTime to AcquisitionTime that rank a series as arterial phase. */
  arterialDelaySeconds: rangeSchema(0, 3600, DEFAULT_SERIES_RULE_VALUES.arterialDelaySeconds),
});

const fhirSchema = z.strictObject({
  /** FHIR server that results are written back to. */
  baseUrl,
  allowedBaseUrls: z.array(baseUrl).min(1),
  timeoutMs: z.number().int().positive().default(10_000),
  /** Name of the environment variable holding a service bearer token for `baseUrl`. */
  bearerTokenEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected an environment variable name such as NQO1_FHIR_TOKEN' })
    .optional(),
});

const jobsSchema = z.strictObject({
  /**
   * Milliseconds after a failed analysis before a hook call for the same study runs it again (a
   * segmentation may have been added, or the PACS may be back). Default 15 minutes.
   */
  retryFailedAfterMs: z.number().int().min(0).default(DEFAULT_RETRY_FAILED_AFTER_MS),
  /**
   * Milliseconds after a failed FHIR write-back before it is tried again; the stored result stays
   * shown meanwhile. At least one second. Default 5 minutes.
   */
  retryWriteBackAfterMs: z.number().int().min(1000).default(DEFAULT_RETRY_WRITE_BACK_AFTER_MS),
  /**
   * Worker threads that compute the tumour and peritumoral features of an analysis in parallel, off
   * the event loop that serves the hooks; 0 computes them on the event loop.
   */
  workerThreads: z.number().int().min(0).max(64).default(DEFAULT_WORKER_THREADS),
  /**
   * Analyses one worker process runs at once from the PostgreSQL queue (`store.engine: postgres`).
   * The embedded queue runs one at a time.
   */
  workerConcurrency: z.number().int().min(1).max(32).default(1),
  /**
   * Seconds without a renewal after which a running analysis from the PostgreSQL queue counts as the
   * work of a stopped worker and runs elsewhere. A live worker renews its row three times per timeout.
   */
  jobTimeoutSeconds: z.number().int().min(5).max(86_400).default(1800),
  /**
   * Milliseconds between two checks by a worker process for owed write-backs and for stored jobs
   * that no queued job carries (a process stopped between storing and queueing one).
   */
  pollIntervalMs: z.number().int().min(100).max(600_000).default(5000),
});

/**
 * Storage of results and jobs. `sqlite` (the default): one file and an in-process queue, for
 * one process. `postgres`: a shared database with a pg-boss queue, for several API and worker
 * processes (`serve --role`).
 */
const storeSchema = z.strictObject({
  engine: z.enum(['sqlite', 'postgres']).default('sqlite'),
  sqlitePath: z.string().min(1).default('.nqo1/results.sqlite'),
  /** Name of the environment variable with the PostgreSQL connection URL, which contains the password. */
  postgresUrlEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected an environment variable name such as NQO1_POSTGRES_URL' })
    .default('NQO1_POSTGRES_URL'),
  /** Connections each process keeps open to PostgreSQL. */
  postgresPoolSize: z.number().int().min(2).max(100).default(10),
});

/**
 * Work started by the PACS: the notification endpoint `POST /pacs/studies` and the QIDO-RS poller
 * (`src/jobs/study-poller.ts`). Both are off by default.
 */
const notificationsSchema = z.strictObject({
  /**
   * Name of the environment variable holding the shared secret that the PACS sends as a bearer
   * token. Unset: the endpoint is off and returns 404.
   */
  tokenEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, {
      error: 'expected an environment variable name such as NQO1_PACS_NOTIFY_TOKEN',
    })
    .optional(),
  /** Seconds between two QIDO-RS searches for new CT studies; 0 turns the poller off. */
  pollIntervalSeconds: z.number().int().min(0).max(86_400).default(0),
  /** Days before the last poll's date that each search's StudyDate range starts. */
  pollLookbackDays: z.number().int().min(0).max(31).default(1),
});

/** The operations endpoints `/readyz` and `/metrics`. */
const operationsSchema = z.strictObject({
  /**
   * Name of the environment variable holding the bearer token that `GET /metrics` requires. Unset:
   * the metrics are public, like `/healthz`, since they carry no patient data.
   */
  metricsTokenEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, {
      error: 'expected an environment variable name such as NQO1_METRICS_TOKEN',
    })
    .optional(),
  /** Deadline of one readiness probe of the DICOMweb or FHIR server, in milliseconds. */
  readinessTimeoutMs: z.number().int().min(100).max(30_000).default(2000),
  /** Milliseconds for which `/readyz` reuses the result of the upstream probes. */
  readinessCacheMs: z.number().int().min(0).max(300_000).default(5000),
});

const configSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    auth: authSchema.prefault({}),
    dicomweb: dicomwebSchema,
    fhir: fhirSchema,
    jobs: jobsSchema.prefault({}),
    notifications: notificationsSchema.prefault({}),
    operations: operationsSchema.prefault({}),
    imaging: imagingSchema.prefault({}),
    series: seriesSchema.prefault({}),
    store: storeSchema.prefault({}),
    model: z.strictObject({ cardPath: z.string().min(1).default('config/models/br-ro.json') }).prefault({}),
    locale: z.enum(LOCALES).default('en'),
    /**
     * Launch URL of the SMART app, put in the card's `smart` link; defaults to the app this service
     * serves, `${server.publicUrl}/smart-app/launch.html`.
     */
    smartAppUrl: httpUrl.optional(),
    /** Settings the SMART app served at `/smart-app` reads from `/smart-app/config.json`. */
    smartApp: z
      .strictObject({
        /** OAuth 2.0 client id under which the EHR registered the app. */
        clientId: z.string().min(1).max(256).default('nqo1-cds'),
        /**
         * FHIR base URL of a standalone launch, which has no `iss` from the EHR: the app opened from a
         * bookmark or a portal. Must be under `fhir.allowedBaseUrls`.
         */
        standaloneFhirBaseUrl: baseUrl.optional(),
        /**
         * EHR origins allowed to show the app in a frame (CSP `frame-ancestors`); empty forbids
         * every frame, so an EHR opens the app in a window or tab.
         */
        frameAncestors: z.array(webOrigin).max(32).default([]),
        /**
         * Origins of the SMART authorization servers whose token endpoint the app calls from the
         * browser (CSP `connect-src`), when they differ from the origins of `fhir.allowedBaseUrls`.
         */
        authorizationServerOrigins: z.array(webOrigin).max(32).default([]),
      })
      .prefault({}),
    /** Template of a viewer link; `{{studyInstanceUid}}` is replaced by the study UID. */
    viewerUrlTemplate: z
      .string()
      .refine(
        (template) =>
          template.includes('{{studyInstanceUid}}') &&
          /^https?:\/\//i.test(template) &&
          URL.canParse(template.replaceAll('{{studyInstanceUid}}', '1.2.3')),
        {
          error: (issue) =>
            `expected an http(s) URL containing {{studyInstanceUid}}, got ${JSON.stringify(issue.input)}`,
        },
      )
      .optional(),
  })
  .superRefine((config, context) => {
    for (const section of ['dicomweb', 'fhir'] as const) {
      const { baseUrl: url, allowedBaseUrls } = config[section];
      if (!isUrlAllowed(url, allowedBaseUrls)) {
        context.addIssue({
          code: 'custom',
          path: [section, 'baseUrl'],
          message: `${JSON.stringify(url)} is not under any of ${section}.allowedBaseUrls; add it there`,
        });
      }
    }
    const standalone = config.smartApp.standaloneFhirBaseUrl;
    if (standalone !== undefined && !isUrlAllowed(standalone, config.fhir.allowedBaseUrls)) {
      context.addIssue({
        code: 'custom',
        path: ['smartApp', 'standaloneFhirBaseUrl'],
        message:
          `${JSON.stringify(standalone)} is not under any of fhir.allowedBaseUrls, so the service would reject ` +
          "the app's requests; add it to fhir.allowedBaseUrls or correct smartApp.standaloneFhirBaseUrl",
      });
    }
  })
  .transform((config) => ({
    ...config,
    smartAppUrl: config.smartAppUrl ?? `${config.server.publicUrl}/smart-app/launch.html`,
  }));

export type AppConfig = z.output<typeof configSchema>;

export interface LoadConfigOptions {
  /** Site configuration file deep-merged over the defaults; falls back to `env.NQO1_CONFIG`. */
  readonly configPath?: string;
  /** Environment to read overrides from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Defaults file; defaults to `config/default.json` in the package root. */
  readonly defaultsPath?: string;
}

/**
 * Loads, merges and validates the configuration.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` naming every bad key path and value, or an unreadable file.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const defaultsPath = options.defaultsPath ?? packagePath('config', 'default.json');
  const sitePath = options.configPath ?? nonEmpty(env.NQO1_CONFIG);
  const sources = [defaultsPath];

  let merged = readJsonObject(defaultsPath);
  if (sitePath !== undefined) {
    merged = deepMerge(merged, readJsonObject(sitePath));
    sources.push(sitePath);
  }

  for (const override of readEnvOverrides(env)) {
    merged = setPath(merged, override.keyPath, override.value);
    sources.push(`$${override.variable}`);
  }

  const config = parseConfig(merged, sources.join(' + '));
  checkUnreadEnvNames(env, secretVariableNames(config));
  return config;
}

/** Returns the variable names that the configuration's `…Env` settings hold, at any depth. */
function secretVariableNames(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const names: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (key.endsWith('Env') && typeof child === 'string') names.push(child);
    else names.push(...secretVariableNames(child));
  }
  return names;
}

/**
 * Validates an already merged configuration object.
 *
 * @param source - Where the object came from, quoted in the error message.
 * @throws Nqo1Error `ERR_CONFIG_INVALID` with one `path: problem` line per issue.
 */
export function parseConfig(value: unknown, source = 'configuration'): AppConfig {
  const parsed = configSchema.safeParse(value);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.flatMap(formatIssue);
  throw new Nqo1Error(
    'ERR_CONFIG_INVALID',
    `Invalid configuration (${source}):\n  ${problems.join('\n  ')}`,
    {
      details: { issueCount: problems.length },
    },
  );
}

/** Formats one zod issue as `a.b[0].c: message`; an unknown key becomes one line per key. */
function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map(
      (key) => `${formatPath([...issue.path, key])}: unknown key; check its spelling or remove it`,
    );
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

function formatPath(keyPath: readonly PropertyKey[]): string {
  if (keyPath.length === 0) return '(root)';
  return keyPath
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJsonObject(file: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `Cannot read configuration file ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!isPlainObject(value)) {
    throw new Nqo1Error('ERR_CONFIG_INVALID', `Configuration file ${file} must contain a JSON object`);
  }
  return value;
}

/** Merges `override` into `base`: objects merge key by key, arrays and scalars replace. */
function deepMerge(base: JsonObject, override: JsonObject): JsonObject {
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return result;
}

function setPath(target: JsonObject, keyPath: readonly string[], value: unknown): JsonObject {
  const [head, ...rest] = keyPath;
  if (head === undefined) return target;
  const child = target[head];
  return {
    ...target,
    [head]: rest.length === 0 ? value : setPath(isPlainObject(child) ? child : {}, rest, value),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
