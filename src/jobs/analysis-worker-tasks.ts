/**
 * What an analysis worker thread runs for each request of `analysis-worker-protocol.ts`: the step
 * itself, then the reply with the output's volumes in the transfer list. Errors become an error reply,
 * so `handleAnalysisRequest` does not reject.
 */
import type { Transferable } from 'node:worker_threads';

import { computeRegionFeatures } from '../model/analyse-region.js';
import type { CaseVolumes } from '../model/case-crop.js';
import {
  serialiseError,
  transferListOf,
  type AnalysisRequest,
  type AnalysisResponse,
} from './analysis-worker-protocol.js';
import { drawRegionPictures } from './region-pictures.js';
import { readTumourGeometry } from './roi-retrieval.js';
import { readStudyImages } from './study-images.js';

/** A reply and the buffers to move with it. */
export interface AnalysisReply {
  readonly response: AnalysisResponse;
  readonly transfer: Transferable[];
}

/** Runs the request's step and describes the outcome without throwing. */
export async function handleAnalysisRequest(request: AnalysisRequest): Promise<AnalysisReply> {
  try {
    return await runStep(request);
  } catch (error) {
    return { response: { id: request.id, ok: false, error: serialiseError(error) }, transfer: [] };
  }
}

async function runStep(request: AnalysisRequest): Promise<AnalysisReply> {
  const { id } = request;
  switch (request.step) {
    case 'region': {
      const { image, tumourLabels, task } = request.input;
      return {
        response: { id, ok: true, output: computeRegionFeatures(image, tumourLabels, task) },
        transfer: [],
      };
    }
    case 'study-images': {
      const images = await readStudyImages(request.input);
      // The cut volumes go to shared memory here, so that both region threads read them without a
      // copy on the main thread. An uncut case is left to the main thread, which copies it into shared
      // memory in steps.
      const cut =
        images.cut === undefined || images.cut.image === images.series.volume
          ? undefined
          : shareCaseVolumes(images.cut);
      return {
        response: {
          id,
          ok: true,
          output: { series: images.series, tumour: images.tumour, ...(cut === undefined ? {} : { cut }) },
        },
        transfer: transferListOf([images.series.volume.voxels, images.tumour.voxels]),
      };
    }
    case 'tumour-geometry': {
      const { segModality, segFile } = request.input;
      return { response: { id, ok: true, output: readTumourGeometry(segModality, segFile) }, transfer: [] };
    }
    case 'region-pictures': {
      const overlay = drawRegionPictures(request.input);
      return {
        response: { id, ok: true, output: overlay },
        transfer: transferListOf(overlay.slices.map((slice) => slice.png)),
      };
    }
  }
}

/** Copies the cut image and mask into SharedArrayBuffers. */
function shareCaseVolumes({ image, tumour }: CaseVolumes): CaseVolumes {
  const imageVoxels = new Float64Array(new SharedArrayBuffer(image.voxels.byteLength));
  imageVoxels.set(image.voxels);
  const tumourVoxels = new Uint8Array(new SharedArrayBuffer(tumour.voxels.byteLength));
  tumourVoxels.set(tumour.voxels);
  return {
    image: { grid: image.grid, voxels: imageVoxels },
    tumour: { grid: tumour.grid, voxels: tumourVoxels },
  };
}
