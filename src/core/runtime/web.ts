// The one module that imports onnxruntime-web: configures where its wasm files live, and implements the runtime
// interface (runtime.ts) with it. Tensors are wrapped on the way in and copied out on the way back; every ort
// tensor is disposed before `run` returns.
import * as ort from 'onnxruntime-web';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { errorMessage, RuntimeUnavailableError } from '../common/errors';
import { probeSession, type InferenceRuntime, type RuntimeSession, type Tensor } from './runtime';

const WASM_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

let configured: { wasmDir: string; numThreads: number } | undefined;

/**
 * Points onnxruntime-web at the wasm files shipped beside our bundle (never a CDN).
 * Must run before the first session: the thread count is fixed at the first create.
 */
export function configureRuntime(wasmDir: string, numThreads: number): void {
  for (const f of WASM_FILES) {
    if (!fs.existsSync(path.join(wasmDir, f))) {
      throw new RuntimeUnavailableError(`${f} is missing from ${wasmDir}. Rebuild with "npm run build" or reinstall the extension.`);
    }
  }
  if (configured) return;
  // A file URL with a trailing slash: the Node build resolves the .mjs by dynamic import.
  ort.env.wasm.wasmPaths = pathToFileURL(wasmDir + path.sep).href;
  ort.env.wasm.numThreads = Math.max(1, numThreads);
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';
  configured = { wasmDir, numThreads: ort.env.wasm.numThreads };
}

export function runtimeSettings(): { wasmPaths: string; numThreads: number } {
  return { wasmPaths: String(ort.env.wasm.wasmPaths ?? ''), numThreads: Number(ort.env.wasm.numThreads ?? 0) };
}

export async function createSession(model: Uint8Array): Promise<RuntimeSession> {
  if (!configured) throw new RuntimeUnavailableError('the runtime was used before configureRuntime().');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw wrapRuntimeError(e);
  }
  return {
    async run(feeds, fetches) {
      const inputs: Record<string, ort.Tensor> = {};
      let out: ort.InferenceSession.OnnxValueMapType | undefined;
      try {
        for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
        out = fetches ? await session.run(inputs, [...fetches]) : await session.run(inputs);
        const result: Record<string, Tensor> = {};
        // A CPU tensor's data is a JS array of its own (copied out of the WASM heap): it outlives dispose().
        for (const [name, t] of Object.entries(out)) result[name] = { type: t.type, data: t.data, dims: t.dims } as Tensor;
        return result;
      } finally {
        for (const t of Object.values(out ?? {})) t.dispose();
        for (const t of Object.values(inputs)) t.dispose();
      }
    },
    release: () => session.release(),
  };
}

/**
 * The WebAssembly heap's ceiling: ort-wasm-simd-threaded.mjs creates its memory with `maximum: 65536` pages of 64 KiB
 * (wasm32), 4 GiB for every session together, however much memory the machine has.
 */
export const WASM_HEAP_BYTES = 65536 * 64 * 1024;

/** onnxruntime-web as the runtime interface. */
export const webRuntime: InferenceRuntime = { name: 'onnxruntime-web (WebAssembly)', memoryLimitBytes: WASM_HEAP_BYTES, createSession };

function wrapRuntimeError(e: unknown): Error {
  const msg = errorMessage(e);
  if (/wasm|\.mjs|fetch|ENOENT|Cannot find module/i.test(msg)) return new RuntimeUnavailableError(msg);
  return e instanceof Error ? e : new Error(msg);
}

/** onnxruntime-web's version, and how long its first (trivial) session took: proves the wasm files load. */
export async function probeRuntime(): Promise<{ version: string; sessionCreateMs: number }> {
  return { version: ort.env.versions.web ?? 'unknown', sessionCreateMs: await probeSession(webRuntime) };
}
