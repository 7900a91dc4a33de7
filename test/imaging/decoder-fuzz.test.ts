/**
 * Fuzzing of the DICOM, SEG and RTSTRUCT decoders: 3,000 files mutated from real files of the
 * shared test data go through the product's readers in two child processes, each with a V8 heap
 * limit and a per-input timeout. Every input must be accepted or rejected with an Nqo1Error.
 * `npm run fuzz` (bench/fuzz-decoders.mts) runs larger campaigns with other seeds.
 */

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';

import {
  FUZZ_SEEDS,
  POOL_CHECK_BEHAVIOURS,
  POOL_CHECK_SEED,
  TargetCache,
  readSeedFile,
  runTarget,
} from '../support/fuzz/decoder-targets.js';
import { buildInput, countOutcomes, outcomeTable, runCampaign } from '../support/fuzz/fuzz-campaign.js';
import { indexDicomElements } from '../support/fuzz/dicom-elements.js';

/** Campaign of the CI test: seed, inputs and limits. */
const SEED = 20261205;
const INPUTS = 3000;
const TIMEOUT_MS = 5000;
const HEAP_LIMIT_MB = 512;
/** Peak resident set size allowed to one decoding child, in MiB: about 3 × the 170 MiB it reaches on the seed files. */
const MAX_CHILD_RSS_MB = 512;

describe('decoder fuzzing', () => {
  it('reads every unmutated seed file', async () => {
    const cache = new TargetCache();
    for (const seed of FUZZ_SEEDS) {
      const bytes = readSeedFile(seed.file);
      const outcome = await runTarget(seed, bytes.slice().buffer, cache).then(
        () => 'ok',
        (error: unknown) => (isNqo1Error(error) ? error.code : String(error)),
      );
      expect(outcome, seed.name).toBe(seed.unmutatedCode ?? 'ok');
    }
  });

  it('indexes nested elements and fragments of a seed', () => {
    // seg-liver-j2k: a SEG with sequences of undefined length and JPEG 2000 fragments.
    const index = indexDicomElements(readSeedFile('pydicom-data/liver_j2k.dcm'));
    expect(index.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.90');
    expect(index.records.some((record) => record.kind === 'sequence' && record.depth === 0)).toBe(true);
    expect(index.records.some((record) => record.kind === 'element' && record.depth >= 2)).toBe(true);
    // The offset table and one fragment per frame of the three-frame SEG.
    expect(index.records.filter((record) => record.kind === 'fragment')).toHaveLength(4);
  });

  it('builds the same input from the same seed and index', () => {
    const first = buildInput(SEED, 17);
    const again = buildInput(SEED, 17);
    expect(again.seed.name).toBe(first.seed.name);
    expect(again.descriptions).toEqual(first.descriptions);
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(Buffer.from(buildInput(SEED + 1, 17).bytes).equals(Buffer.from(first.bytes))).toBe(false);
  });

  it('classifies every way a decoder can end', async () => {
    const result = await runCampaign({
      seed: 0,
      count: POOL_CHECK_BEHAVIOURS.length,
      workers: 2,
      timeoutMs: 3000,
      heapLimitMb: 64,
      makeInput: (index) => ({
        seed: POOL_CHECK_SEED,
        bytes: Uint8Array.of(index),
        mutations: [],
        descriptions: [POOL_CHECK_BEHAVIOURS[index]!],
      }),
    });
    const kinds = result.outcomes.map((outcome) => `${outcome.descriptions[0]}: ${outcome.kind}`);
    expect(kinds).toEqual([
      'return: ok',
      'typed error: typed',
      'TypeError: untyped',
      'endless loop: timeout',
      'abort: crash',
      'heap exhaustion: oom',
    ]);
    expect(result.outcomes[1]!.code).toBe('ERR_DICOM_MALFORMED');
    expect(result.outcomes[2]!.error).toContain('TypeError: pool check: an untyped error');
    expect(result.outcomes[4]!.error).toContain('SIGABRT');
    // The first two children, and one replacement each after the timeout, abort and heap exhaustion.
    expect(result.childrenStarted).toBe(5);
  }, 60_000);

  it('rejects 3,000 mutated files only with typed errors', async () => {
    const result = await runCampaign({
      seed: SEED,
      count: INPUTS,
      workers: 2,
      timeoutMs: TIMEOUT_MS,
      heapLimitMb: HEAP_LIMIT_MB,
    });
    console.log(
      `Decoder fuzzing, seed ${SEED}: ${INPUTS} inputs in ${(result.wallMs / 1000).toFixed(1)} s, ` +
        `largest child peak RSS ${result.childPeakRssMb.toFixed(0)} MiB\n${outcomeTable(result.outcomes)}`,
    );

    const failures = result.outcomes.filter((outcome) => outcome.kind !== 'ok' && outcome.kind !== 'typed');
    const described = failures
      .slice(0, 5)
      .map(
        (outcome) =>
          `#${outcome.index} ${outcome.seedName} ${outcome.kind}: ${outcome.descriptions.join('; ')}\n${outcome.error ?? ''}`,
      );
    expect(described).toEqual([]);

    const counts = countOutcomes(result.outcomes);
    expect(result.outcomes).toHaveLength(INPUTS);
    expect(counts.get('untyped') ?? 0).toBe(0);
    expect(counts.get('crash') ?? 0).toBe(0);
    expect(counts.get('timeout') ?? 0).toBe(0);
    expect(counts.get('oom') ?? 0).toBe(0);
    // A campaign in which every mutation broke the file, or none did, would test little.
    expect(counts.get('ok') ?? 0).toBeGreaterThan(INPUTS / 10);
    expect(counts.get('typed ERR_DICOM_MALFORMED') ?? 0).toBeGreaterThan(INPUTS / 10);
    expect(result.childPeakRssMb).toBeLessThan(MAX_CHILD_RSS_MB);
  }, 240_000);
});
