/**
 * The slice of the dcmjs 0.51.1 API that NQO1 CDS calls. dcmjs ships no type declarations, so
 * every value it returns is typed `unknown` here and narrowed by `dicom-dataset.ts` at run time.
 */
declare module 'dcmjs' {
  /** Options of `DicomMessage.readFile`, as documented in dcmjs `src/DicomMessage.js`. */
  interface ReadFileOptions {
    readonly ignoreErrors?: boolean;
    readonly untilTag?: string | null;
    readonly includeUntilTagValue?: boolean;
    readonly noCopy?: boolean;
    readonly forceStoreRaw?: boolean;
  }

  /** A loglevel logger, as dcmjs exposes it. */
  interface DcmjsLogger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  interface DcmjsApi {
    readonly log: { getLogger(name: string): DcmjsLogger };
    readonly data: {
      readonly DicomMessage: {
        readFile(buffer: ArrayBuffer, options?: ReadFileOptions): unknown;
      };
      readonly DicomMetaDictionary: {
        naturalizeDataset(dataset: unknown): unknown;
      };
    };
  }

  const dcmjs: DcmjsApi;
  export default dcmjs;
}
