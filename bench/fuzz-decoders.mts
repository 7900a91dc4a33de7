/**
 * A fuzzing campaign over the DICOM, SEG and RTSTRUCT decoders, with a given seed and input count.
 *
 *   npm run fuzz -- [--seed N] [--count N] [--workers N] [--timeout-ms N] [--heap-mb N] [--show N]
 *
 * Defaults: seed 1, 1000 inputs, 2 child processes, 5000 ms per input, 512 MiB V8 heap per child.
 *
 * Prints the outcome counts per kind and error code, the slowest inputs, the wall time and the peak
 * resident set size, then every input that was not `ok` or `typed` (up to --show, default 20).
 * Exits with status 1 when any input ended in an untyped error, a crash, a timeout or out of memory.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { FUZZ_SEEDS } from '../test/support/fuzz/decoder-targets.js';
import { outcomeTable, runCampaign } from '../test/support/fuzz/fuzz-campaign.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '5000' },
    'heap-mb': { type: 'string', default: '512' },
    show: { type: 'string', default: '20' },
  },
});

/** Parses a whole number option, or exits with a message naming the option. */
function wholeNumber(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number of at least ${min}, got ${JSON.stringify(text)}.`);
    process.exit(2);
  }
  return value;
}

const seed = wholeNumber('seed', values.seed, 0);
const count = wholeNumber('count', values.count, 1);
const workers = wholeNumber('workers', values.workers, 1);
const timeoutMs = wholeNumber('timeout-ms', values['timeout-ms'], 1);
const heapLimitMb = wholeNumber('heap-mb', values['heap-mb'], 16);
const show = wholeNumber('show', values.show, 0);

const result = await runCampaign({ seed, count, workers, timeoutMs, heapLimitMb });
const failures = result.outcomes.filter((outcome) => outcome.kind !== 'ok' && outcome.kind !== 'typed');

console.log(`# Decoder fuzzing, seed ${seed}, ${count} inputs\n`);
console.log(
  `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${workers} child processes, ` +
    `timeout ${timeoutMs} ms, heap limit ${heapLimitMb} MiB per child\n`,
);
console.log(outcomeTable(result.outcomes));
console.log(
  `\nwall time ${(result.wallMs / 1000).toFixed(1)} s, peak RSS of the pool ${result.peakRssMb.toFixed(0)} MiB, ` +
    `largest peak RSS of a decoding child ${result.childPeakRssMb.toFixed(0)} MiB, child processes started ${result.childrenStarted}`,
);

console.log('\n| target | inputs | ok | typed error |');
console.log('| --- | ---: | ---: | ---: |');
for (const target of ['series', 'pixels', 'seg', 'rtstruct'] as const) {
  const names = new Set(
    FUZZ_SEEDS.filter((fuzzSeed) => fuzzSeed.target === target).map((fuzzSeed) => fuzzSeed.name),
  );
  const ofTarget = result.outcomes.filter((outcome) => names.has(outcome.seedName));
  const ok = ofTarget.filter((outcome) => outcome.kind === 'ok').length;
  const typed = ofTarget.filter((outcome) => outcome.kind === 'typed').length;
  console.log(`| ${target} | ${ofTarget.length} | ${ok} | ${typed} |`);
}

const rise = result.largestRssRise;
if (rise !== null) {
  console.log(
    `\nlargest rise of a child's peak RSS: ${rise.riseMb.toFixed(0)} MiB at #${rise.index} ${rise.seedName} ` +
      `(${rise.descriptions.join('; ')})`,
  );
}

const slowest = [...result.outcomes].sort((a, b) => b.ms - a.ms).slice(0, 5);
console.log('\nslowest inputs:');
for (const outcome of slowest) {
  console.log(
    `  #${outcome.index} ${outcome.seedName} ${outcome.ms.toFixed(0)} ms ${outcome.kind} ${outcome.code ?? ''}`,
  );
}

for (const outcome of failures.slice(0, show)) {
  console.log(`\n## #${outcome.index} ${outcome.seedName}: ${outcome.kind}`);
  console.log(outcome.descriptions.map((line) => `- ${line}`).join('\n'));
  if (outcome.error !== null) console.log(outcome.error);
}
process.exitCode = failures.length > 0 ? 1 : 0;
