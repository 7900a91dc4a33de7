/**
 * The cohort file of calibrate --cohort, evaluate and refit: classes, survival cells, ids, and rows
 * that would count one case twice. Paths need not exist to be read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readCohort } from '../../src/cli/cohort.js';

describe('readCohort', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'nqo1-cohort-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function read(lines: string[]): Promise<Awaited<ReturnType<typeof readCohort>>> {
    const path = join(folder, 'cohort.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    return readCohort(path);
  }

  it('reads classes, survival and ids', async () => {
    const cases = await read([
      'ID,Image,Mask,NQO1,time_days,event',
      'p1,a.nrrd,a-label.nrrd,high,300,1',
      'p2,b.nrrd,b-label.nrrd,0,,',
      ',c.nrrd,c-label.nrrd,,1200,0',
    ]);
    expect(cases.map((entry) => [entry.id, entry.outcome, entry.timeDays, entry.event])).toEqual([
      ['p1', 1, 300, 1],
      ['p2', 0, null, null],
      ['c.nrrd', null, 1200, 0],
    ]);
    expect(cases[0]!.image).toBe(join(folder, 'a.nrrd'));
  });

  it.each([
    [['image,mask,nqo1', 'a.nrrd,a-label.nrrd,hgh'], /line 2: nqo1 "hgh" is not high, low, 1 or 0/],
    [['image,mask,time_days,event', 'a.nrrd,a-label.nrrd,300,'], /line 2: time_days and event go together/],
    [['image,mask,time_days,event', 'a.nrrd,a-label.nrrd,-5,1'], /time_days "-5" is not a number of days/],
    [['image,mask,time_days,event', 'a.nrrd,a-label.nrrd,5,2'], /event "2" is not 1 \(death\) or 0/],
    [
      ['id,image,mask', 'x,a.nrrd,a-label.nrrd', 'x,b.nrrd,b-label.nrrd'],
      /line 3: id "x" is already used on line 2/,
    ],
    [
      ['id,image,mask', 'x,a.nrrd,a-label.nrrd', 'y,a.nrrd,a-label.nrrd'],
      /line 3: the image and mask repeat those of line 2, so one case would count twice/,
    ],
  ])('rejects %j', async (lines, expected) => {
    await expect(read(lines)).rejects.toMatchObject({
      code: 'ERR_REQUEST_INVALID',
      message: expect.stringMatching(expected) as unknown,
    });
  });
});
