/**
 * The worker function of the analysis queue: one study from the PACS to a stored, charted result.
 *
 * Steps: search the study's series (QIDO-RS). Read the acquisition attributes of one instance of
 * each CT series (`src/dicomweb/series-acquisition.ts`), then choose the arterial-phase CT by the
 * series rules and its SEG (`src/dicomweb/select-series.ts`). A job that requests a series or
 * segmentation has them checked instead (`src/dicomweb/select-requested.ts`). Retrieve the SEG instance first. From its frame positions and
 * the CT series' WADO-RS metadata, `roi-retrieval.ts` plans the CT instances that the dilated tumour
 * reaches, and only those are retrieved; where the plan does not apply, the whole series is, with
 * the reason logged. Decode the CT to Hounsfield units and the SEG to a mask on the CT grid.
 * Compute and score the model card's features and draw the region pictures. With a worker pool,
 * every CPU-bound step runs in its threads (`analysis-workers.ts`), and this thread only
 * retrieves, posts and scores. Then write the Observation, Device and Provenance
 * to FHIR when write-back is configured and the job has FHIR ids. A failed write-back does not
 * fail the analysis: the output carries the failure, and the queue retries only the write-back.
 *
 * Logs carry only UIDs, counts, durations and error codes, never patient ids, names, tokens or
 * pixel data.
 */
import type { Logger } from 'pino';

import type { DicomJsonDataset } from '../dicomweb/client.js';
import { DicomWebClient } from '../dicomweb/client.js';
import {
  DEFAULT_CT_SERIES_RULES,
  compileSeriesPattern,
  seriesNeedingAcquisition,
  type CtSeriesRules,
} from '../dicomweb/ct-series-rules.js';
import {
  SEGMENTATION_MODALITIES,
  selectCtSeries,
  selectSegmentation,
  summariseSegInstance,
  summariseSeries,
  type SegInstanceSummary,
  type SeriesSummary,
} from '../dicomweb/select-series.js';
import { DEFAULT_DICOMWEB_RETRIES, DEFAULT_DICOMWEB_RETRY_FIRST_DELAY_MS } from '../dicomweb/retry.js';
import { fetchSeriesAcquisitions, type SeriesAcquisition } from '../dicomweb/series-acquisition.js';
import { selectRequestedCtSeries, selectRequestedSegmentation } from '../dicomweb/select-requested.js';
import { Nqo1Error, describeError, isNqo1Error } from '../errors.js';
import { FhirWriteBack, type WriteBackInput, type WriteBackOutcome } from '../fhir/write-back.js';
import { DEFAULT_SERIES_LIMITS, type ReadCtSeriesOptions } from '../imaging/ct-series.js';
import type { SegmentSelection, SegReadOptions } from '../imaging/seg.js';
import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import { analyseCase, cardRadiomicsSettings, type CaseInput } from '../model/analyse.js';
import type { ModelCard } from '../model/card.js';
import type { ScoreResult } from '../model/result.js';
import { AnalysisWorkerPool, DEFAULT_WORKER_THREADS } from './analysis-workers.js';
import { drawRegionPictures } from './region-pictures.js';
import { readStudyImages, type StudyImages, type StudyImagesInput } from './study-images.js';
import { retrieveCt, retrieveWholeSeries, seriesOptions } from './retrieve-ct.js';
import { readSecretEnv } from '../secret-env.js';
import type { JobStage } from './job-observer.js';
import type { AnalyseStudy, AnalysisJob, AnalysisOutput } from './types.js';

/**
 * The DICOMweb operations the analyser uses; {@link DicomWebClient} implements them. Each call must
 * return ArrayBuffers of its own: with worker threads, the analyser moves the CT files to a thread,
 * which detaches them.
 */
export type StudySource = Pick<
  DicomWebClient,
  | 'searchSeries'
  | 'searchInstances'
  | 'retrieveSeriesMetadata'
  | 'retrieveInstanceMetadata'
  | 'retrieveSeriesInstances'
  | 'retrieveInstance'
>;

/** The write-back operation the analyser uses; {@link FhirWriteBack} implements it. */
export interface ResultWriter {
  write(input: WriteBackInput): Promise<WriteBackOutcome>;
}

export interface StudyAnalyserDeps {
  readonly pacs: StudySource;
  /** Omit to keep results in the store only, without a FHIR Observation. */
  readonly writer?: ResultWriter;
  readonly modelCard: ModelCard;
  readonly logger: Logger;
  /** Rules that choose the CT series; omitted fields take the defaults of {@link DEFAULT_CT_SERIES_RULES}. */
  readonly seriesRules?: Partial<CtSeriesRules>;
  /** Segment of the SEG that outlines the tumour; by default the SEG must contain exactly one segment. */
  readonly segment?: SegmentSelection;
  /** Size limits and geometry settings of the CT series; defaults as in `readCtSeries`. */
  readonly series?: ReadCtSeriesOptions;
  /** Mask tolerance and FRACTIONAL threshold of the SEG; defaults as in `readSegMask`. */
  readonly segOptions?: Omit<SegReadOptions, keyof SegmentSelection>;
  /** Clock for the result's `computedAt`; tests freeze it. */
  readonly now?: () => Date;
  /**
   * Worker threads that decode the CT, read the mask, compute the region features and draw the
   * region pictures off the event loop. Without a pool, these steps run in this thread and hook
   * calls wait meanwhile. The caller closes the pool.
   */
  readonly analysisWorkers?: AnalysisWorkerPool;
  /**
   * `roi-first` (default): retrieve the SEG or RTSTRUCT, then only the CT slices the dilated tumour reaches
   * (see `roi-retrieval.ts`), falling back to the whole series where that does not apply;
   * `whole-series`: always retrieve the whole series.
   */
  readonly ctRetrieval?: 'roi-first' | 'whole-series';
  /**
   * Receives the duration in milliseconds of each stage of a successful analysis, for the metrics.
   * `retrieve` covers the series search and selection and the SEG and CT retrieval. `decode` covers
   * pixel decoding and mask reading, and the whole-series retrieval when the ROI-first mask did not
   * fit. `features` covers the feature extraction and scoring.
   */
  readonly onStageTimed?: (stage: JobStage, durationMs: number) => void;
}

/** An {@link AnalyseStudy} that owns resources, such as worker threads, to release on shutdown. */
export type ClosableAnalyseStudy = AnalyseStudy & {
  /** Stops the analyser's worker threads; call after the queue has stopped. */
  close(): Promise<void>;
  /** The FHIR writer, which the queue also uses for owed write-backs; absent without `fhir`. */
  readonly writer?: ResultWriter;
};

/**
 * Creates the `analyse(job)` function that the analysis queue runs for each study.
 *
 * The returned function throws {@link Nqo1Error}s whose codes name what is missing or broken:
 * `ERR_SERIES_EMPTY` (no CT), `ERR_SEGMENTATION_MISSING` (no SEG on the CT), `ERR_DICOMWEB_FAILED`,
 * and the imaging and radiomics codes. A write-back failure is returned as `writeBackFailure`.
 */
export function createStudyAnalyser(deps: StudyAnalyserDeps): AnalyseStudy {
  const log = deps.logger.child({ component: 'analyse-study' });
  const seriesRules: CtSeriesRules = { ...DEFAULT_CT_SERIES_RULES, ...deps.seriesRules };
  const now = deps.now ?? (() => new Date());
  const maxSeriesInstances = deps.series?.maxInstances ?? DEFAULT_SERIES_LIMITS.maxInstances;

  return async (job: AnalysisJob): Promise<AnalysisOutput> => {
    checkModel(job, deps.modelCard);
    const study = job.studyInstanceUid;
    const startedAt = performance.now();

    const seriesList = (await deps.pacs.searchSeries(study)).map(summariseSeries);
    // A series or segmentation requested in the SMART app replaces the automatic choice, and then
    // no acquisition attributes are needed.
    const ct =
      job.seriesInstanceUid === undefined
        ? selectCtSeries(
            seriesList,
            seriesRules,
            await readCtAcquisitions(deps.pacs, study, seriesList, seriesRules, log),
          )
        : selectRequestedCtSeries(seriesList, job.seriesInstanceUid, seriesRules.arterialPhasePatterns);
    const segInstances = await listSegInstances(deps.pacs, study, seriesList);
    const seg =
      job.segmentationSopInstanceUid === undefined
        ? selectSegmentation(ct.series.seriesInstanceUid, segInstances)
        : selectRequestedSegmentation(segInstances, job.segmentationSopInstanceUid);
    log.info(
      {
        studyInstanceUid: study,
        seriesCount: seriesList.length,
        ctSeriesInstanceUid: ct.series.seriesInstanceUid,
        ctSelection: ct.reason,
        ctExcludedCount: ct.candidates.filter((candidate) => candidate.outcome === 'excluded').length,
        segSopInstanceUid: seg.instance.sopInstanceUid,
        segSelection: seg.reason,
      },
      'series selected',
    );

    checkSeriesSize(ct.series.instanceCount, maxSeriesInstances, ct.series.seriesInstanceUid);
    const segFile = await deps.pacs.retrieveInstance(
      study,
      seg.instance.seriesInstanceUid,
      seg.instance.sopInstanceUid,
    );
    const readImages = (
      ctFiles: ArrayBuffer[],
      series: ReadCtSeriesOptions | undefined,
    ): Promise<StudyImages> => {
      const input: StudyImagesInput = {
        ctFiles,
        segFile,
        segModality: seg.instance.modality,
        ...(series === undefined ? {} : { series }),
        ...(deps.segment === undefined ? {} : { segment: deps.segment }),
        ...(deps.segOptions === undefined ? {} : { segOptions: deps.segOptions }),
        // The thread also cuts the case, so that the main thread does not scan the whole mask.
        ...(deps.analysisWorkers === undefined ? {} : { caseCrop: { card: deps.modelCard } }),
      };
      return deps.analysisWorkers === undefined
        ? readStudyImages(input)
        : deps.analysisWorkers.readStudyImages(input);
    };
    const ctSource = {
      study,
      seriesInstanceUid: ct.series.seriesInstanceUid,
      instanceCount: ct.series.instanceCount,
    };

    let retrieved = await retrieveCt(deps, ctSource, seg.instance.modality, segFile);
    const retrievedAt = performance.now();
    deps.onStageTimed?.('retrieve', retrievedAt - startedAt);

    // With worker threads, the CT files move to the thread, and only the array of detached buffers
    // stays here: the fallback below retrieves them again.
    let images: StudyImages;
    try {
      images = await readImages(retrieved.files, seriesOptions(deps.series, retrieved.sliceStepMm));
    } catch (error) {
      // The plan placed every SEG frame or contour point on a retrieved slice, so the mask should fit.
      // If the reader still finds it off the grid, the whole series decides. NOTE: no test reaches
      // this branch, since no SEG is known that passes the plan and then fails here.
      if (retrieved.retrieval.path !== 'roi' || !isNqo1Error(error, 'ERR_MASK_GEOMETRY')) throw error;
      log.warn(
        { studyInstanceUid: study, errorCode: error.code },
        'ROI-first mask does not fit the retrieved slices; retrieving the whole series',
      );
      retrieved = await retrieveWholeSeries(deps.pacs, ctSource, 'the mask did not fit the retrieved slices');
      images = await readImages(retrieved.files, deps.series);
    }
    const { series, tumour, cut } = images;
    const retrieval = retrieved.retrieval;
    log.info(
      {
        studyInstanceUid: study,
        ctInstanceCount: retrieved.files.length,
        dimensions: series.volume.grid.dimensions,
        retrievalPath: retrieval.path,
        ...(retrieval.fallbackReason === undefined ? {} : { fallbackReason: retrieval.fallbackReason }),
        ctInstancesFetched: retrieval.instancesFetched,
        ctSeriesInstanceCount: retrieval.seriesInstanceCount,
        ctBytesFetched: retrieval.bytesFetched,
        ctSeriesBytes: retrieval.seriesBytes,
        retrieveAndDecodeMs: Math.round(performance.now() - startedAt),
      },
      'images decoded',
    );
    const decodedAt = performance.now();
    deps.onStageTimed?.('decode', decodedAt - retrievedAt);

    const caseInput: CaseInput = {
      image: series.volume,
      tumour,
      card: deps.modelCard,
      references: {
        studyInstanceUid: study,
        seriesInstanceUid: series.seriesInstanceUid,
        segmentationInstanceUid: seg.instance.sopInstanceUid,
      },
      warnings: series.warnings,
      computedAt: now(),
    };
    const scored =
      deps.analysisWorkers === undefined
        ? analyseCase(caseInput)
        : await deps.analysisWorkers.analyseCase(caseInput, cut);
    deps.onStageTimed?.('features', performance.now() - decodedAt);
    const result: ScoreResult = {
      ...scored,
      provenance: {
        ...scored.provenance,
        seriesSelection: {
          reason: ct.reason,
          seriesDescription: ct.series.description,
          seriesNumber: ct.series.seriesNumber,
          instanceCount: ct.series.instanceCount,
          ctSeriesCount: ct.ctSeriesCount,
          arterialCount: ct.arterialCount,
          ...(ct.matchedPattern === undefined ? {} : { matchedPattern: ct.matchedPattern }),
          candidates: ct.candidates,
          segmentationReason: seg.reason,
        },
        ctRetrieval: retrieval,
      },
    };
    log.info(
      {
        studyInstanceUid: study,
        tumourVoxelCount: result.provenance.tumourVoxelCount,
        periVoxelCount: result.provenance.periVoxelCount,
        calibrated: result.calibrated,
      },
      'features scored',
    );

    // With worker threads, the volume and the mask move to the thread here, since nothing after
    // this step reads them.
    const overlay = await drawRegions(
      deps.analysisWorkers,
      series.volume,
      tumour,
      deps.modelCard,
      log,
      study,
    );
    const effectiveDateTime = ct.series.acquisitionDate ?? undefined;
    const stored = {
      result,
      ...(overlay === undefined ? {} : { overlay }),
      ...(effectiveDateTime === undefined ? {} : { effectiveDateTime }),
    };
    if (deps.writer === undefined) return stored;

    // LIMITATION: the result of a requested series or segmentation is not written to FHIR. Its
    // Observation would have the identifier of the automatic result (study, model id, version) and
    // replace it in the chart. An identifier that includes the requested UIDs would allow both.
    if (job.seriesInstanceUid !== undefined || job.segmentationSopInstanceUid !== undefined) {
      log.info({ studyInstanceUid: study }, 'write-back skipped: the series or segmentation was requested');
      return stored;
    }

    // A job started by a PACS notification or the QIDO poller has no FHIR ids yet. Its result is
    // stored owing a write-back, which the queue runs once a hook binds the ids (`queue.ts`).
    const { patientId, imagingStudyId } = job;
    if (patientId === undefined || imagingStudyId === undefined) {
      log.info({ studyInstanceUid: study }, 'write-back deferred: the job has no FHIR ids yet');
      return stored;
    }

    try {
      const written = await deps.writer.write({
        result,
        patientId,
        imagingStudyId,
        studyInstanceUid: study,
        ...(effectiveDateTime === undefined ? {} : { effectiveDateTime }),
        ...(job.fhirServer === undefined ? {} : { fhirServer: job.fhirServer }),
      });
      log.info(
        { studyInstanceUid: study, observationId: written.observationId, activity: written.activity },
        'observation written',
      );
      return { ...stored, observationId: written.observationId };
    } catch (error) {
      // The result is kept and shown; the queue retries only the write-back.
      const writeBackFailure = isNqo1Error(error)
        ? { code: error.code, message: error.message }
        : { code: 'ERR_FHIR_FAILED' as const, message: 'The FHIR write-back failed with an untyped error.' };
      log.warn(
        { studyInstanceUid: study, errorCode: writeBackFailure.code },
        'write-back failed; the result is stored and the write-back retried later',
      );
      return { ...stored, writeBackFailure };
    }
  };
}

/** Configuration sections the analyser is built from (a subset of the service configuration). */
export interface StudyAnalyserConfig {
  readonly dicomweb: {
    readonly baseUrl: string;
    readonly allowedBaseUrls: readonly string[];
    readonly timeoutMs: number;
    readonly retries?: number;
    readonly retryFirstDelayMs?: number;
    readonly maxResponseBytes?: number;
    readonly ctRetrieval?: 'roi-first' | 'whole-series';
  };
  readonly imaging?: {
    readonly maxSeriesInstances: number;
    readonly maxVolumeVoxels: number;
    readonly resampleIrregular: boolean;
    readonly maskToleranceMm?: number | undefined;
    readonly fractionalThreshold: number;
  };
  readonly fhir?: {
    readonly baseUrl: string;
    readonly allowedBaseUrls: readonly string[];
    readonly timeoutMs: number;
    /** Name of the environment variable holding the FHIR bearer token. */
    readonly bearerTokenEnv?: string | undefined;
  };
  readonly jobs?: {
    /** Worker threads for decoding, mask reading, features and region pictures; 0 runs them on the event loop. */
    readonly workerThreads: number;
  };
  /** Series rules as configured; the patterns are regular-expression sources, compiled case-insensitive. */
  readonly series?: {
    readonly arterialPhasePatterns: readonly string[];
    readonly requireContrast: boolean;
    readonly nonContrastPatterns: readonly string[];
    readonly sliceThicknessMm: { readonly min: number; readonly max: number };
    readonly convolutionKernel: {
      readonly allowPatterns: readonly string[];
      readonly denyPatterns: readonly string[];
    };
    readonly arterialDelaySeconds: { readonly min: number; readonly max: number };
  };
}

/**
 * Creates the analyser with a {@link DicomWebClient}, a {@link FhirWriteBack} when `config.fhir`
 * is present (both checked against their allowlists before any connection), and a pool of
 * `config.jobs.workerThreads` worker threads ({@link DEFAULT_WORKER_THREADS} when `jobs` is absent)
 * that its `close` stops.
 *
 * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` for a base URL outside its allowlist; `ERR_CONFIG_INVALID`
 *   when neither the named bearer-token variable nor its `_FILE` variable is set.
 */
export function createStudyAnalyserFromConfig(
  config: StudyAnalyserConfig,
  options: Omit<StudyAnalyserDeps, 'pacs' | 'writer'> & {
    readonly env?: Readonly<Record<string, string | undefined>>;
    /** Receives the body size of each DICOMweb response, in bytes. */
    readonly onResponseBytes?: (bytes: number) => void;
  },
): ClosableAnalyseStudy {
  const { onResponseBytes, env, ...analyserOptions } = options;
  const pacs = new DicomWebClient({
    baseUrl: config.dicomweb.baseUrl,
    allowlist: config.dicomweb.allowedBaseUrls,
    timeoutMs: config.dicomweb.timeoutMs,
    retry: {
      retries: config.dicomweb.retries ?? DEFAULT_DICOMWEB_RETRIES,
      firstDelayMs: config.dicomweb.retryFirstDelayMs ?? DEFAULT_DICOMWEB_RETRY_FIRST_DELAY_MS,
    },
    onRetry: ({ operation, path, attempt, delayMs, error }) => {
      options.logger.warn(
        { component: 'dicomweb', operation, path, attempt, delayMs, ...describeError(error) },
        'DICOMweb request failed; retrying after the delay',
      );
    },
    ...(onResponseBytes === undefined ? {} : { onResponseBytes }),
    ...(config.dicomweb.maxResponseBytes === undefined
      ? {}
      : { maxResponseBytes: config.dicomweb.maxResponseBytes }),
  });

  let writer: ResultWriter | undefined;
  if (config.fhir !== undefined) {
    const tokenEnv = config.fhir.bearerTokenEnv;
    const bearerToken =
      tokenEnv === undefined ? undefined : readSecretEnv(tokenEnv, 'fhir.bearerTokenEnv', env);
    writer = timedWriter(
      new FhirWriteBack({
        baseUrl: config.fhir.baseUrl,
        allowlist: config.fhir.allowedBaseUrls,
        timeoutMs: config.fhir.timeoutMs,
        ...(bearerToken === undefined ? {} : { bearerToken }),
      }),
      options.onStageTimed,
    );
  }

  const workerThreads = config.jobs?.workerThreads ?? DEFAULT_WORKER_THREADS;
  const analysisWorkers = workerThreads === 0 ? undefined : new AnalysisWorkerPool({ size: workerThreads });
  const analyse = createStudyAnalyser({
    ...analyserOptions,
    pacs,
    ...(config.dicomweb.ctRetrieval === undefined ? {} : { ctRetrieval: config.dicomweb.ctRetrieval }),
    ...(writer === undefined ? {} : { writer }),
    ...(config.imaging === undefined ? {} : imagingOptions(config.imaging)),
    ...(analysisWorkers === undefined ? {} : { analysisWorkers }),
    ...(config.series === undefined ? {} : { seriesRules: compileSeriesRules(config.series) }),
  });
  return Object.assign(analyse, {
    close: async () => analysisWorkers?.close(),
    ...(writer === undefined ? {} : { writer }),
  });
}

/**
 * Wraps `writer` so that each write, during an analysis or of a result that owed one, reports its
 * duration as the `write-back` stage, failed writes included.
 */
function timedWriter(writer: ResultWriter, onStageTimed: StudyAnalyserDeps['onStageTimed']): ResultWriter {
  if (onStageTimed === undefined) return writer;
  return {
    async write(input) {
      const startedAt = performance.now();
      try {
        return await writer.write(input);
      } finally {
        onStageTimed('write-back', performance.now() - startedAt);
      }
    },
  };
}

/** Maps the `imaging` configuration section onto the series and SEG reader options. */
function imagingOptions(
  imaging: NonNullable<StudyAnalyserConfig['imaging']>,
): Pick<StudyAnalyserDeps, 'series' | 'segOptions'> {
  return {
    series: {
      maxInstances: imaging.maxSeriesInstances,
      maxVoxels: imaging.maxVolumeVoxels,
      resampleIrregular: imaging.resampleIrregular,
    },
    segOptions: {
      fractionalThreshold: imaging.fractionalThreshold,
      ...(imaging.maskToleranceMm === undefined ? {} : { toleranceMm: imaging.maskToleranceMm }),
    },
  };
}

/** Compiles the `series` configuration section into rules. */
function compileSeriesRules(series: NonNullable<StudyAnalyserConfig['series']>): CtSeriesRules {
  return {
    arterialPhasePatterns: series.arterialPhasePatterns.map(compileSeriesPattern),
    requireContrast: series.requireContrast,
    nonContrastPatterns: series.nonContrastPatterns.map(compileSeriesPattern),
    sliceThicknessMm: series.sliceThicknessMm,
    convolutionKernel: {
      allowPatterns: series.convolutionKernel.allowPatterns.map(compileSeriesPattern),
      denyPatterns: series.convolutionKernel.denyPatterns.map(compileSeriesPattern),
    },
    arterialDelaySeconds: series.arterialDelaySeconds,
  };
}

/**
 * Reads the acquisition attributes of the CT series that the rules still need them for, one
 * instance per series. A series whose attributes could not be read is logged and left out of the
 * map, so the rules treat its attributes as unknown.
 */
async function readCtAcquisitions(
  pacs: StudySource,
  studyInstanceUid: string,
  seriesList: readonly SeriesSummary[],
  rules: CtSeriesRules,
  log: Logger,
): Promise<Map<string, SeriesAcquisition>> {
  const ctSeries = seriesList.filter((series) => series.modality === 'CT');
  const needed = seriesNeedingAcquisition(ctSeries, rules).map((series) => series.seriesInstanceUid);
  const fetched = await fetchSeriesAcquisitions(pacs, studyInstanceUid, needed, {
    onFailure: (seriesInstanceUid, error) => {
      log.warn(
        { studyInstanceUid, seriesInstanceUid, errorCode: error.code },
        'series attributes could not be read; the series rules treat them as unknown',
      );
    },
  });

  const acquisitions = new Map<string, SeriesAcquisition>();
  const sources: Record<string, number> = {};
  for (const [uid, { acquisition, source }] of fetched) {
    sources[source] = (sources[source] ?? 0) + 1;
    if (source !== 'none') acquisitions.set(uid, acquisition);
  }
  log.debug({ studyInstanceUid, attributeSources: sources }, 'series attributes read');
  return acquisitions;
}

function checkModel(job: AnalysisJob, card: ModelCard): void {
  if (job.modelId === card.id && job.modelVersion === card.version) return;
  throw new Nqo1Error(
    'ERR_CONFIG_INVALID',
    `The job asks for model ${job.modelId} version ${job.modelVersion}, but this worker runs ${card.id} ` +
      `version ${card.version}; enqueue the study again for the loaded card.`,
    { details: { studyInstanceUid: job.studyInstanceUid } },
  );
}

/**
 * Rejects a CT series with more instances than the configured limit, before its files are retrieved
 * when QIDO-RS counts them, and after retrieval (before decoding) otherwise.
 */
function checkSeriesSize(
  instanceCount: number | null,
  maxSeriesInstances: number,
  seriesInstanceUid: string,
): void {
  if (instanceCount === null || instanceCount <= maxSeriesInstances) return;
  throw new Nqo1Error(
    'ERR_INPUT_TOO_LARGE',
    `CT series ${seriesInstanceUid} has ${instanceCount} instances, more than the limit of ${maxSeriesInstances}; ` +
      'check that it is one phase, or raise imaging.maxSeriesInstances.',
    { details: { seriesInstanceUid, instanceCount, maxSeriesInstances } },
  );
}

/** Reads the WADO-RS metadata of every SEG and RTSTRUCT series of the study, one summary per SEG instance. */
async function listSegInstances(
  pacs: StudySource,
  studyInstanceUid: string,
  seriesList: readonly { readonly seriesInstanceUid: string; readonly modality: string }[],
): Promise<SegInstanceSummary[]> {
  const summaries: SegInstanceSummary[] = [];
  for (const series of seriesList.filter((candidate) =>
    SEGMENTATION_MODALITIES.includes(candidate.modality),
  )) {
    const metadata: DicomJsonDataset[] = await pacs.retrieveSeriesMetadata(
      studyInstanceUid,
      series.seriesInstanceUid,
    );
    // The series modality from QIDO-RS decides the reader when the metadata omits Modality.
    summaries.push(
      ...metadata.map((item) => {
        const summary = summariseSegInstance(item);
        return summary.modality === '' ? { ...summary, modality: series.modality } : summary;
      }),
    );
  }
  return summaries;
}

/**
 * Draws the tumour and its dilation over the CT (`region-pictures.ts`) from the masks the features
 * used, in a worker thread when `workers` is given. The pictures help a reader check the result, so
 * a failure to draw them is logged and the analysis goes on without them.
 */
async function drawRegions(
  workers: AnalysisWorkerPool | undefined,
  image: ImageVolume,
  labels: MaskVolume,
  card: ModelCard,
  log: Logger,
  studyInstanceUid: string,
): Promise<RoiOverlay | undefined> {
  const input = {
    image,
    labels,
    label: cardRadiomicsSettings(card).label,
    dilationMm: card.region.dilationMm,
  };
  try {
    return workers === undefined ? drawRegionPictures(input) : await workers.drawRegionPictures(input);
  } catch (error) {
    log.warn(
      { studyInstanceUid, errorCode: isNqo1Error(error) ? error.code : 'untyped' },
      'region pictures could not be drawn; the result is stored without them',
    );
    return undefined;
  }
}
