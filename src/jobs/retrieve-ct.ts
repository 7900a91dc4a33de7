/**
 * Retrieval of the CT instances an analysis needs from the PACS. ROI-first retrieval fetches the
 * slices the dilated tumour reaches, as `roi-retrieval.ts` plans them, and the fallback fetches the
 * whole series. Both count the instances and bytes fetched, for the log and the result's provenance.
 */
import type { DicomWebClient } from '../dicomweb/client.js';
import { Nqo1Error } from '../errors.js';
import type { ReadCtSeriesOptions } from '../imaging/ct-series.js';
import { cardRadiomicsSettings } from '../model/analyse.js';
import type { ModelCard } from '../model/card.js';
import type { CtRetrieval } from '../model/result.js';
import type { AnalysisWorkerPool } from './analysis-workers.js';
import { planRoiRetrieval, readTumourGeometry, type TumourGeometry } from './roi-retrieval.js';

/** The DICOMweb operations CT retrieval uses. */
export type CtRetrievalSource = Pick<
  DicomWebClient,
  'retrieveSeriesMetadata' | 'retrieveSeriesInstances' | 'retrieveInstance'
>;

/** The analyser dependencies that {@link retrieveCt} reads. */
export interface CtRetrievalDeps {
  readonly pacs: CtRetrievalSource;
  readonly modelCard: ModelCard;
  /** `whole-series` turns ROI-first retrieval off; see `StudyAnalyserDeps.ctRetrieval`. */
  readonly ctRetrieval?: 'roi-first' | 'whole-series';
  /** Worker threads that parse the segmentation file; without them it is parsed in this thread. */
  readonly analysisWorkers?: AnalysisWorkerPool;
}

/** The CT series to retrieve, with the instance count QIDO-RS gave (null when it gave none). */
export interface CtSource {
  readonly study: string;
  readonly seriesInstanceUid: string;
  readonly instanceCount: number | null;
}

/** CT Part 10 files and the account of how they were retrieved. */
export interface RetrievedCt {
  readonly files: ArrayBuffer[];
  /** The whole series' slice step when `files` are a run of its slices. */
  readonly sliceStepMm?: number;
  readonly retrieval: CtRetrieval;
}

/** Instance retrievals in flight at once on the ROI path. */
const INSTANCE_RETRIEVAL_CONCURRENCY = 4;

/**
 * Retrieves the CT instances the analysis needs: on the ROI path (see `roi-retrieval.ts`) only the
 * slices within the dilated tumour's extent plus one slice spacing, else the whole series.
 *
 * The ROI path applies to a SEG and to an RTSTRUCT, and only when the card neither normalises nor
 * resamples the image, since both use the whole image and would change the features of a sub-volume.
 */
export async function retrieveCt(
  deps: CtRetrievalDeps,
  source: CtSource,
  segModality: string,
  segFile: ArrayBuffer,
): Promise<RetrievedCt> {
  const reason = roiFirstObstacle(deps);
  if (reason !== null) return retrieveWholeSeries(deps.pacs, source, reason);

  let tumour: TumourGeometry;
  try {
    tumour =
      deps.analysisWorkers === undefined
        ? readTumourGeometry(segModality, segFile)
        : await deps.analysisWorkers.readTumourGeometry(segModality, segFile);
  } catch (error) {
    // The mask reader reports the fault in full on the whole-series path. A worker thread that stopped
    // (ERR_INTERNAL) is no fault of the file, so that error fails the analysis.
    if (error instanceof Nqo1Error && error.code !== 'ERR_INTERNAL')
      return retrieveWholeSeries(deps.pacs, source, `the ${segModality} file is unreadable (${error.code})`);
    throw error;
  }
  const metadata = await deps.pacs.retrieveSeriesMetadata(source.study, source.seriesInstanceUid);
  const plan = planRoiRetrieval(metadata, tumour, deps.modelCard.region.dilationMm);
  if (plan.path === 'whole-series') return retrieveWholeSeries(deps.pacs, source, plan.reason);

  checkInstanceCount(source.instanceCount, plan.seriesInstanceCount, source.seriesInstanceUid);
  const files = await retrieveInstances(deps.pacs, source, plan.sopInstanceUids);
  const bytesFetched = byteLengthOf(files);
  return {
    files,
    sliceStepMm: plan.sliceStepMm,
    retrieval: {
      path: 'roi',
      instancesFetched: files.length,
      seriesInstanceCount: plan.seriesInstanceCount,
      bytesFetched,
      seriesBytes: Math.round((bytesFetched / files.length) * plan.seriesInstanceCount),
    },
  };
}

/** Returns why ROI-first retrieval does not apply before any request, or null when it may. */
function roiFirstObstacle(deps: CtRetrievalDeps): string | null {
  if (deps.ctRetrieval === 'whole-series') return 'whole-series retrieval is configured';
  const settings = cardRadiomicsSettings(deps.modelCard);
  if (settings.normalize || settings.resampledPixelSpacing !== undefined) {
    return 'the card normalises or resamples the image, which uses the whole series';
  }
  return null;
}

export async function retrieveWholeSeries(
  pacs: CtRetrievalSource,
  source: CtSource,
  reason: string,
): Promise<RetrievedCt> {
  const files = await pacs.retrieveSeriesInstances(source.study, source.seriesInstanceUid);
  checkInstanceCount(source.instanceCount, files.length, source.seriesInstanceUid);
  const bytesFetched = byteLengthOf(files);
  return {
    files,
    retrieval: {
      path: 'whole-series',
      instancesFetched: files.length,
      seriesInstanceCount: files.length,
      bytesFetched,
      seriesBytes: bytesFetched,
      fallbackReason: reason,
    },
  };
}

/** Retrieves instances one WADO-RS request each, {@link INSTANCE_RETRIEVAL_CONCURRENCY} at a time. */
async function retrieveInstances(
  pacs: CtRetrievalSource,
  source: CtSource,
  sopInstanceUids: readonly string[],
): Promise<ArrayBuffer[]> {
  const files: ArrayBuffer[] = new Array<ArrayBuffer>(sopInstanceUids.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sopInstanceUids.length) {
      const index = next++;
      files[index] = await pacs.retrieveInstance(
        source.study,
        source.seriesInstanceUid,
        sopInstanceUids[index]!,
      );
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(INSTANCE_RETRIEVAL_CONCURRENCY, sopInstanceUids.length) }, worker),
  );
  return files;
}

/** Returns the series reader's options, with the whole series' slice step for a run of its slices. */
export function seriesOptions(
  options: ReadCtSeriesOptions | undefined,
  sliceStepMm: number | undefined,
): ReadCtSeriesOptions | undefined {
  return sliceStepMm === undefined ? options : { ...options, sliceStepMm };
}

function byteLengthOf(files: readonly ArrayBuffer[]): number {
  return files.reduce((sum, file) => sum + file.byteLength, 0);
}

/**
 * Rejects a retrieval that returned fewer or more instances than QIDO-RS counted. A series that the
 * PACS is still receiving can form a regular but shortened volume, whose features would be wrong
 * without any other sign.
 */
function checkInstanceCount(expected: number | null, retrieved: number, seriesInstanceUid: string): void {
  if (expected === null || expected === retrieved) return;
  throw new Nqo1Error(
    'ERR_DICOMWEB_FAILED',
    `WADO-RS returned ${retrieved} instances of CT series ${seriesInstanceUid}, but QIDO-RS counts ${expected}; ` +
      "the series may still be arriving at the PACS. A hook call after the queue's retry interval runs the analysis again.",
    { details: { seriesInstanceUid, expected, retrieved } },
  );
}
