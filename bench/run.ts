/**
 * `npm run bench`: speed and memory figures of NQO1 CDS, printed as Markdown tables. Targets are
 * reported here rather than asserted in tests, because timings depend on the machine.
 */
import { cpus } from 'node:os';

import { benchDecode } from './decode.js';
import { benchEventLoopDelay, printEventLoopDelay } from './event-loop-delay.js';
import { benchHookLatency } from './hook-latency.js';
import { benchHookLoad, printHookLoad } from './hook-load.js';
import { benchModelPath } from './model-path.js';
import { benchRadiomicsClasses } from './radiomics-cases.js';
import { benchRadiomics } from './radiomics.js';
import { benchRoiOverlay } from './roi-overlay.js';
import { benchSeriesMemory } from './series-memory.js';
import { benchShape } from './shape.js';
import { benchQueueThroughput, printQueueThroughput } from './queue-throughput.js';
import { printStudyToResult } from './study-to-result.js';

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`# NQO1 CDS benchmark\n\nNode ${process.version}, ${cpus().length} × ${cpu}\n`);

console.log('## BR-RO features and score per case (median of 5 runs, one thread)\n');
console.log('| case | tumour voxels | peri voxels | median ms | min ms | heap used after, MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of await benchRadiomics()) {
  console.log(
    `| ${row.name} | ${row.tumourVoxels} | ${row.periVoxels} | ${row.medianMs.toFixed(0)} | ${row.minMs.toFixed(0)} | ${row.heapUsedMb.toFixed(0)} |`,
  );
}

await benchRadiomicsClasses();

const modelPath = await benchModelPath();
console.log(
  '\n## BR-RO model path: analyseCase on the 40 mm sphere in 512 × 512 × 120 (median of 5 after a warm-up)\n',
);
console.log('| tumour voxels | peri voxels | analyseCase ms |');
console.log('| ---: | ---: | ---: |');
console.log(`| ${modelPath.tumourVoxels} | ${modelPath.periVoxels} | ${modelPath.medianMs.toFixed(1)} |`);

const shape = benchShape();
console.log(
  '\n## Shape features, 40 mm sphere in 512 × 512 × 120 at 0.7 × 0.7 × 1.25 mm (median of 5 runs)\n',
);
console.log(
  '| ROI voxels | 14 shape features, ms | computeFeatures with shape names (incl. mask scan), ms |',
);
console.log('| ---: | ---: | ---: |');
console.log(`| ${shape.voxels} | ${shape.shapeOnlyMs.toFixed(1)} | ${shape.computeFeaturesMs.toFixed(1)} |`);

const overlay = benchRoiOverlay();
console.log('\n## Region pictures of one analysis (512 × 512 × 300 CT, 40 mm tumour, 3 mm margin)\n');
console.log('| median ms of 3 | slices | picture px | PNG bytes in all |');
console.log('| ---: | ---: | ---: | ---: |');
console.log(
  `| ${overlay.medianMs.toFixed(0)} | ${overlay.slices} | ${overlay.widthPx} × ${overlay.heightPx} | ${overlay.pngBytes} |`,
);

const hookRows = [await benchHookLatency('ES384'), await benchHookLatency('RS384')];
console.log(
  `\n## Hook latency, results ready (${hookRows[0]?.calls ?? 0} calls, ${hookRows[0]?.concurrency ?? 0} concurrent, ${hookRows[0]?.preloadedRows ?? 0} stored results, mock EHR in a child process)\n`,
);
console.log(
  '| token alg | load avg | errors | p50 ms | p95 ms | max ms | server RSS MB | server CPU ms/call | of it main thread | EHR CPU ms/call | connections |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const hook of hookRows) {
  console.log(
    `| ${hook.algorithm} | ${hook.loadAverage.toFixed(1)} | ${hook.errors} | ${hook.p50Ms.toFixed(1)} | ${hook.p95Ms.toFixed(1)} | ${hook.maxMs.toFixed(1)} | ${hook.rssMb.toFixed(0)} | ${hook.serverCpuMsPerCall.toFixed(2)} | ${hook.serverMainThreadCpuMsPerCall.toFixed(2)} | ${hook.clientCpuMsPerCall.toFixed(2)} | ${hook.connections} |`,
  );
}

printHookLoad(await benchHookLoad());

const decodeRows = benchDecode();
console.log(
  `\n## Pixel data decoding, synthetic 512 × 512 int16 CT, ${decodeRows[0]?.slices ?? 0} slices, one thread\n`,
);
console.log('| transfer syntax | ratio | MB/s | ms per slice | peak RSS +MB | peak ArrayBuffers +MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of decodeRows) {
  console.log(
    `| ${row.syntax} | ${row.compressionRatio.toFixed(2)} | ${row.decodeMbPerSecond.toFixed(0)} | ${row.msPerSlice.toFixed(1)} | ${row.peakRssMb.toFixed(0)} | ${row.peakArrayBuffersMb.toFixed(0)} |`,
  );
}

const memory = benchSeriesMemory();
console.log(`\n## Reading a whole series from a folder, synthetic 512 × 512 × ${memory.slices} int16 CT\n`);
console.log('| files MB | volume MB (8-byte HU) | peak RSS while reading, +MB | peak / volume | seconds |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
console.log(
  `| ${memory.fileMb.toFixed(0)} | ${memory.volumeMb.toFixed(0)} | ${memory.readPeakMb.toFixed(0)} | ${(memory.readPeakMb / memory.volumeMb).toFixed(2)} | ${memory.seconds.toFixed(1)} |`,
);

await printStudyToResult();

printEventLoopDelay(await benchEventLoopDelay(300), 300);
printQueueThroughput(await benchQueueThroughput());
