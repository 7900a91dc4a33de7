/**
 * The `nqo1-cds` command line: score, calibrate, demo, extract, serve and audit. Errors of the product print one
 * line with their code and fix and give exit code 1; a wrong command line gives exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { errorCodeText } from '../error-text.js';
import { Nqo1Error, describeError, isNqo1Error, type ErrorCode } from '../errors.js';
import { ENGINE_VERSION } from '../version.js';
import { QUEUE_ROLES, type QueueRole } from '../jobs/queue-role.js';
import { auditCommand, type AuditOptions } from './commands/audit.js';
import { calibrateCommand, type CalibrateOptions } from './commands/calibrate.js';
import { evaluateCommand, type EvaluateOptions } from './commands/evaluate.js';
import { refitCommand, type RefitCommandOptions } from './commands/refit.js';
import { demoCommand } from './commands/demo.js';
import { extractCommand, type ExtractOptions } from './commands/extract.js';
import { scoreCommand } from './commands/score.js';
import { serveCommand } from './commands/serve.js';
import { message, resolveLocale } from './messages.js';

interface GlobalOptions {
  readonly lang?: string;
}

/** Parses `--label`: an integer from 1 to 255, as mask labels are stored. */
function parseLabel(value: string): number {
  const label = Number(value);
  if (!Number.isInteger(label) || label < 1 || label > 255) {
    throw new InvalidArgumentError(`expected an integer from 1 to 255, got "${value}"`);
  }
  return label;
}

/** Returns a commander parser for a decimal number in [min, max], or (min, max] when `minExclusive`. */
function numberBetween(min: number, max: number, minExclusive = false): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    const belowMin = minExclusive ? parsed <= min : parsed < min;
    if (value.trim() === '' || !Number.isFinite(parsed) || belowMin || parsed > max) {
      const range = minExclusive ? `greater than ${min} and at most ${max}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected a number ${range}, got "${value}"`);
    }
    return parsed;
  };
}

/** Parses a positive integer option such as `--max-instances`. */
function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return parsed;
}

/** Parses `--jobs`: a whole number of parallel cases from 1 to 256. */
function parseJobs(value: string): number {
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) {
    throw new InvalidArgumentError(`expected an integer from 1 to 256, got "${value}"`);
  }
  return jobs;
}

/** Parses a count such as --keep: a whole number of 1 or more. */
function parsePositiveInteger(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got "${value}"`);
  }
  return count;
}

/** Parses `--format` of extract: json or csv. */
function parseFormat(value: string): 'json' | 'csv' {
  if (value !== 'json' && value !== 'csv') {
    throw new InvalidArgumentError(`expected json or csv, got "${value}"`);
  }
  return value;
}

/** Parses `--lang`: English or Simplified Chinese, with the usual spellings of each. */
function parseLang(value: string): string {
  if (!/^(en|zh)([-_][A-Za-z]+)?$/i.test(value)) {
    throw new InvalidArgumentError(`expected en or zh-CN, got "${value}"`);
  }
  return value;
}

function buildProgram(): Command {
  const program = new Command('nqo1-cds')
    .description('NQO1 CDS: BR-RO CT radiomics for NQO1 expression in hepatocellular carcinoma')
    .version(ENGINE_VERSION)
    .option('--lang <locale>', 'language of messages for people: en or zh-CN (default: from LANG)', parseLang)
    .exitOverride()
    .showHelpAfterError();
  const locale = (): ReturnType<typeof resolveLocale> => resolveLocale(program.opts<GlobalOptions>().lang);

  program
    .command('score')
    .description('compute the model features and score for one case')
    .requiredOption(
      '--image <path>',
      'folder of one DICOM CT series, or an NRRD (.nrrd) or NIfTI (.nii, .nii.gz) volume',
    )
    .requiredOption(
      '--mask <path>',
      'DICOM SEG or RTSTRUCT file (with a DICOM image), 3D Slicer .seg.nrrd, or an NRRD or NIfTI label map (resampled onto the image when its grid differs)',
    )
    .option('--model <card>', 'model card JSON (default: the published BR-RO card)')
    .option(
      '--segment <number|label>',
      'tumour segment of a SEG (number or label), ROI of an RTSTRUCT (number or name), or segment of a .seg.nrrd (ID, name or label value); needed when the file has several',
    )
    .option(
      '--label <value>',
      'tumour label value in an NRRD or NIfTI label map (default: the card label, 1)',
      parseLabel,
    )
    .option(
      '--resample-irregular',
      'resample a series with gantry tilt or varying slice steps onto a regular grid instead of rejecting it',
    )
    .option(
      '--mask-tolerance-mm <mm>',
      'how far a mask grid may lie from the image grid and still count as on it (default: max(0.01 mm, 1 % of the spacing))',
      numberBetween(0, 10),
    )
    .option(
      '--fractional-threshold <fraction>',
      'a FRACTIONAL SEG pixel is in the segment from this fraction of its maximum value (default 0.5)',
      numberBetween(0, 1, true),
    )
    .option('--max-instances <count>', 'most image files of the CT series (default 2000)', positiveInteger)
    .option('--max-voxels <count>', 'most voxels of the CT volume (default 536870912, 2^29)', positiveInteger)
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        image: string;
        mask: string;
        model?: string;
        json?: boolean;
        segment?: string;
        label?: number;
        resampleIrregular?: boolean;
        maskToleranceMm?: number;
        fractionalThreshold?: number;
        maxInstances?: number;
        maxVoxels?: number;
      }) => {
        await scoreCommand(options, locale(), process.stdout);
      },
    );

  program
    .command('calibrate')
    .description(
      'write a site model card: z-score scaling and feature distributions from local cases, and with ' +
        'reference classes a coefficient fit (cards without coefficients) or a recalibration',
    )
    .option(
      '--cohort <cohort.csv>',
      'CSV with columns image and mask (optional: id, segment, label, nqo1 high/low, time_days, event)',
    )
    .option('--cases <list.csv>', 'older name of --cohort')
    .requiredOption('--out <card.json>', 'where to write the site model card')
    .option('--model <card>', 'model card to calibrate (default: the published BR-RO card)')
    .option('--description <text>', 'description of the cohort, stored in the card')
    .option('--force', 'replace an existing file at --out (never one of the inputs)')
    .option('--jobs <n>', 'cases computed in parallel (default: number of cores - 1, at least 1)', parseJobs)
    .option(
      '--features <file.csv>',
      'features cache, reused when the command runs again (default: <out>.features.csv)',
    )
    .option('--skip-failed', 'calibrate without the cases whose features fail, instead of stopping')
    .option('--recalibrate', 'fit a logistic recalibration (intercept and slope) of a card with coefficients')
    .action(async (options: CalibrateOptions) => {
      const summary = await withInterruption((signal) =>
        calibrateCommand(options, locale(), { progress: process.stderr, signal }),
      );
      if (summary.interrupted) {
        process.stderr.write(`\n${message(locale(), 'cohortInterrupted')}\n`);
        throw new CliExit(INTERRUPTED_EXIT_CODE);
      }
    });

  program
    .command('evaluate')
    .description(
      'evaluate a model card on a cohort: AUC with DeLong CI, threshold metrics, Hosmer-Lemeshow, decision ' +
        'curve, survival by predicted class; writes evaluation.json and SVG and PNG pictures',
    )
    .requiredOption(
      '--cohort <cohort.csv>',
      'CSV with columns image and mask (optional: id, segment, label, nqo1 high/low, time_days, event)',
    )
    .requiredOption('--out <folder>', 'folder for evaluation.json and the pictures (created if missing)')
    .option('--model <card>', 'model card to evaluate; it must give probabilities (a calibrated site card)')
    .option('--compare <card>', 'second model card for the DeLong test of the two AUCs on the same cases')
    .option('--jobs <n>', 'cases computed in parallel (default: number of cores - 1, at least 1)', parseJobs)
    .option(
      '--features <file.csv>',
      'features cache, reused when the command runs again (default: <out>/features.csv)',
    )
    .option('--skip-failed', 'evaluate without the cases whose features fail, instead of stopping')
    .action(async (options: EvaluateOptions) => {
      const summary = await withInterruption((signal) =>
        evaluateCommand(options, locale(), { progress: process.stderr, signal }),
      );
      if (summary.interrupted) {
        process.stderr.write(`\n${message(locale(), 'cohortInterrupted')}\n`);
        throw new CliExit(INTERRUPTED_EXIT_CODE);
      }
    });

  program
    .command('refit')
    .description(
      "for researchers: the paper's pipeline on a labelled cohort (every feature on tumour and peritumoral " +
        'region, mRMR, recursive feature elimination, logistic regression), written as a new model card',
    )
    .requiredOption(
      '--cohort <cohort.csv>',
      'CSV with columns image, mask and nqo1 (high/low); optional id, segment, label',
    )
    .requiredOption('--out <card.json>', 'where to write the new model card')
    .option('--model <card>', 'card whose extraction settings and peritumoral region to use (default: BR-RO)')
    .option('--keep <n>', 'features in the final model (default 6)', parsePositiveInteger)
    .option('--candidates <n>', 'features kept by mRMR before elimination (default 20)', parsePositiveInteger)
    .option('--jobs <n>', 'cases computed in parallel (default: number of cores - 1, at least 1)', parseJobs)
    .option(
      '--features <file.csv>',
      'features cache, reused when the command runs again (default: <out>.features.csv)',
    )
    .option('--skip-failed', 'refit without the cases whose features fail, instead of stopping')
    .option('--force', 'replace an existing file at --out (never one of the inputs)')
    .action(async (options: RefitCommandOptions) => {
      const summary = await withInterruption((signal) =>
        refitCommand(options, locale(), { progress: process.stderr, signal }),
      );
      if (summary.interrupted) {
        process.stderr.write(`\n${message(locale(), 'cohortInterrupted')}\n`);
        throw new CliExit(INTERRUPTED_EXIT_CODE);
      }
    });

  program
    .command('demo')
    .description('generate a synthetic CT study, calibrate on a synthetic cohort, and print the EHR card')
    .option(
      '--out <folder>',
      'folder for the generated files: new, empty, or an earlier demo output (which is replaced)',
      'nqo1-demo',
    )
    .action(async (options: { out: string }) => {
      await demoCommand(options, locale(), process.stdout);
    });

  program
    .command('extract')
    .description(
      'compute every radiomic feature of one case, or of a batch, with pyradiomics output keys and layout',
    )
    .option('--image <path>', 'image of one case: NRRD, NIfTI or a folder of one DICOM CT series')
    .option('--mask <path>', 'mask of one case: NRRD or NIfTI label map, DICOM SEG or RTSTRUCT, or .seg.nrrd')
    .option(
      '--batch <cases.csv>',
      'CSV in pyradiomics batch layout: columns Image and Mask, optional Label; paths relative to the CSV',
    )
    .option(
      '--params <file.yaml>',
      'pyradiomics parameter file: its settings and the featureClass selection of features',
    )
    .option('--label <value>', 'label value of the region in a label map (default 1)', parseLabel)
    .option('--segment <number|label>', 'segment of a SEG or .seg.nrrd, or ROI of an RTSTRUCT')
    .option(
      '--format <format>',
      'output of one case: json (default) or csv; a batch always writes CSV',
      parseFormat,
    )
    .option('--timings', 'add the milliseconds of each feature class, file reading excluded (one case)')
    .option(
      '--out <file>',
      'write the result to this file instead of standard output (required with --batch)',
    )
    .option(
      '--jobs <n>',
      'cases extracted in parallel in a batch (default: number of cores - 1, at least 1)',
      parseJobs,
    )
    .option(
      '--resume',
      'keep the successful rows of an earlier run in --out and extract only the other cases',
    )
    .action(async (options: ExtractOptions) => {
      const summary = await withInterruption((signal) =>
        extractCommand(options, locale(), { stdout: process.stdout, stderr: process.stderr, signal }),
      );
      if (summary.interrupted === true) throw new CliExit(INTERRUPTED_EXIT_CODE);
      if (summary.failed > 0) {
        throw new Nqo1Error(
          summary.firstFailureCode ?? 'ERR_INTERNAL',
          `${summary.failed} of ${summary.count} cases failed (${Object.entries(summary.failuresByCode)
            .map(([code, count]) => `${code} ${count}`)
            .join(', ')}); the code above is the first. Their rows in ${options.out ?? 'the output'} ` +
            'carry error_code and error_message; fix those cases and run the batch again.',
        );
      }
    });

  program
    .command('serve')
    .description('start the CDS Hooks service')
    .option('--config <file>', 'site configuration JSON layered over config/default.json')
    .addOption(
      new Option(
        '--role <role>',
        'api: serve hooks and the app and enqueue; worker: analyse and serve /healthz, /readyz and /metrics; ' +
          'all: both. api and worker need store.engine postgres. Default: server.role (NQO1_SERVER_ROLE), else all',
      ).choices(QUEUE_ROLES),
    )
    .action(async (options: { config?: string; role?: QueueRole }) => {
      await serveCommand(options);
    });

  program
    .command('audit')
    .description(
      'export the audit trail (computations, result reads, chart records, write-backs) as JSON Lines on stdout',
    )
    .option(
      '--config <file>',
      'site configuration JSON layered over config/default.json; names the store (store.engine)',
    )
    .option('--since <time>', 'first event time to export, inclusive (ISO 8601, e.g. 2026-12-01)')
    .option('--until <time>', 'event time to stop before, exclusive (ISO 8601)')
    .action(async (options: AuditOptions) => {
      await auditCommand(options);
    });

  return program;
}

/** Exit status of a command stopped by Ctrl-C, as shells report SIGINT (128 + 2). */
const INTERRUPTED_EXIT_CODE = 130;

/** Ends a command with `exitCode` after the command has already printed the reason. */
class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/**
 * Runs a batch command with an abort signal tied to Ctrl-C. The first Ctrl-C stops the batch
 * between cases and keeps what is written, and a second one ends the process.
 */
async function withInterruption<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interruption = new AbortController();
  const onInterrupt = (): void => {
    interruption.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await run(interruption.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Runs the command line and returns the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliExit) return error.exitCode;
    const locale = resolveLocale(program.opts<GlobalOptions>().lang);
    // An error that is not an Nqo1Error is a defect of the product: it is reported as ERR_INTERNAL
    // in the same form, and its stack only with NQO1_DEBUG set, so a user sees one readable line.
    const { code, message: text } = describeError(error);
    const errorCode: ErrorCode = isNqo1Error(error) ? error.code : 'ERR_INTERNAL';
    const detail = isNqo1Error(error)
      ? text
      : `${text}. This is a defect of nqo1-cds; please report it with the command line.`;
    // With --json a script reads stdout, so the error goes there as JSON too.
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ error: { code, message: detail } }, null, 2)}\n`);
    }
    const summary = locale === 'en' ? '' : `${errorCodeText(errorCode, locale)}\n  `;
    process.stderr.write(`${message(locale, 'errorPrefix')} ${code}: ${summary}${detail}\n`);
    if (!isNqo1Error(error) && process.env.NQO1_DEBUG !== undefined && error instanceof Error) {
      process.stderr.write(`${error.stack ?? ''}\n`);
    }
    return 1;
  }
}
