/**
 * The slice of the jpeg-lossless-decoder-js 2.1.2 API that NQO1 CDS calls; its npm release ships no
 * type declarations.
 */
declare module 'jpeg-lossless-decoder-js' {
  /** Decoder of JPEG lossless (process 14) codestreams into 8- or 16-bit unsigned samples. */
  export class Decoder {
    /** Frame header of the last decoded codestream. */
    readonly frame: {
      readonly dimX: number;
      readonly dimY: number;
      readonly numComp: number;
      readonly precision: number;
    };
    decode(
      buffer: ArrayBufferLike,
      offset: number,
      length: number,
      numBytes: number,
    ): Uint8Array | Uint16Array;
  }
}
