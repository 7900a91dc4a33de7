/**
 * Child process of `series-memory.ts`: reads the series folder given as the only argument and
 * prints its RSS before reading, its peak RSS (getrusage maxrss) and the read time as JSON.
 */
import { readCtSeriesFromFolder } from '../src/imaging/ct-series.js';

const MB = 1024 * 1024;
const folder = process.argv[2];
if (folder === undefined) throw new TypeError('usage: series-memory-child.ts FOLDER');

const rssBeforeMb = process.memoryUsage().rss / MB;
const started = performance.now();
const series = await readCtSeriesFromFolder(folder);
const seconds = (performance.now() - started) / 1000;
// maxRSS is in kilobytes.
const maxRssMb = (process.resourceUsage().maxRSS * 1024) / MB;
if (series.volume.voxels.length === 0) throw new TypeError('empty volume');
console.log(JSON.stringify({ rssBeforeMb, maxRssMb, seconds }));
