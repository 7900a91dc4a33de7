/**
 * Synchronous, lazy start of the cornerstone WebAssembly codecs.
 *
 * Each codec package ships an Emscripten module factory (MODULARIZE build) that normally compiles its
 * WASM file asynchronously. The decoders are called from synchronous readers, so the module is
 * compiled and instantiated synchronously through Emscripten's documented `instantiateWasm` hook,
 * which the factory calls with the import object and which returns the instance exports. The
 * runtime then starts within the factory call, and the Embind classes are on the module object when
 * it returns. Each module is started once, on first use, and kept for the life of the process.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The Emscripten module object of one codec; its Embind classes are read by name. */
export type EmscriptenModule = Readonly<Record<string, unknown>>;

type ModuleFactory = (moduleArg: Record<string, unknown>) => Promise<unknown>;

const started = new Map<string, EmscriptenModule>();

/**
 * Returns the started module of a codec package, starting it on the first call.
 *
 * @param factorySpecifier - the package export of the Emscripten JavaScript, e.g.
 *   "@cornerstonejs/codec-charls/decodewasmjs"
 * @param wasmSpecifier - the package export of its WASM file
 * @param className - an Embind class the module must define once started
 */
export function loadWasmCodec(
  factorySpecifier: string,
  wasmSpecifier: string,
  className: string,
): EmscriptenModule {
  const cached = started.get(factorySpecifier);
  if (cached !== undefined) return cached;

  const loaded: unknown = require(factorySpecifier);
  const factory = (typeof loaded === 'function' ? loaded : (loaded as { default?: unknown }).default) as
    ModuleFactory | undefined;
  if (typeof factory !== 'function') {
    throw new TypeError(`${factorySpecifier} does not export an Emscripten module factory`);
  }
  const wasmModule = new WebAssembly.Module(readFileSync(require.resolve(wasmSpecifier)));

  const moduleArg: Record<string, unknown> = {
    // OpenJPEG reports progress through Emscripten's print; the imaging core does not log.
    print: () => undefined,
    printErr: () => undefined,
    instantiateWasm(
      imports: WebAssembly.Imports,
      receiveInstance: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ): WebAssembly.Exports {
      const instance = new WebAssembly.Instance(wasmModule, imports);
      receiveInstance(instance, wasmModule);
      return instance.exports;
    },
  };
  // The factory's promise resolves to moduleArg itself; the classes are needed now, not later.
  void factory(moduleArg).catch(() => undefined);
  if (typeof moduleArg[className] !== 'function') {
    throw new TypeError(`${factorySpecifier} did not start synchronously: ${className} is missing`);
  }

  started.set(factorySpecifier, moduleArg);
  return moduleArg;
}
