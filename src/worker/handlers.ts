// What the worker does for each request; the dispatcher in worker.ts stays free of model logic.
import type { WorkerParams, WorkerRequestName, WorkerResult, WorkerStartOptions, RuntimeInfo } from '../protocol/worker';
import { configureRuntime, probeRuntime, runtimeSettings } from '../core/onnx/runtime';

export type Handler<K extends WorkerRequestName> = (params: WorkerParams<K>, signal: AbortSignal) => Promise<WorkerResult<K>>;
export type Handlers = { [K in WorkerRequestName]: Handler<K> };

export function createHandlers(options: WorkerStartOptions): Handlers {
  let info: Promise<RuntimeInfo> | undefined;
  return {
    ping: async () => ({ pong: true, at: Date.now() }),
    version: () => {
      // Probed once: the first session fixes the thread count for the life of the worker.
      info ??= (async () => {
        configureRuntime(options.wasmDir, options.numThreads);
        const probe = await probeRuntime();
        const s = runtimeSettings();
        return {
          onnxruntimeVersion: probe.version,
          wasmPaths: s.wasmPaths,
          numThreads: s.numThreads,
          simd: true,
          sessionCreateMs: probe.sessionCreateMs,
          nodeVersion: process.version,
        };
      })();
      info.catch(() => (info = undefined));
      return info;
    },
  };
}
