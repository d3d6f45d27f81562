// What the worker does for each request; the dispatcher in worker.ts stays free of model logic.
import type { WorkerParams, WorkerRequestName, WorkerResult, WorkerStartOptions, RuntimeInfo, LoadModelParams, ModelInfo } from '../protocol/worker';
import { configureRuntime, probeRuntime, runtimeSettings } from '../core/runtime/web';
import { CancelledError, LensError } from '../core/common/errors';
import { LoadedModel, inspectModel } from '../core/session/modelSession';
import { chosenDetail } from '../core/analysis/chosen';
import { RunMemory } from '../core/analysis/runMemory';
import { analyze } from '../core/analysis/analysis';
import { neighbours, score } from '../core/scoring/score';
import { NoModelError } from '../core/analysis/errors';
import { completionService } from './completion';

export type Handler<K extends WorkerRequestName> = (params: WorkerParams<K>, signal: AbortSignal) => Promise<WorkerResult<K>>;
export type Handlers = { [K in WorkerRequestName]: Handler<K> };

function checkLoadParams(p: LoadModelParams): void {
  if (typeof p?.folder !== 'string' || p.folder.length === 0) throw new LensError('invalidRequest', 'loadModel needs "folder", an absolute path.');
  if (p.maxModelBytes !== undefined && !(typeof p.maxModelBytes === 'number' && p.maxModelBytes > 0)) {
    throw new LensError('invalidRequest', '"maxModelBytes" must be a positive number of bytes.');
  }
}

export function createHandlers(options: WorkerStartOptions): Handlers {
  let info: Promise<RuntimeInfo> | undefined;
  let loaded: { key: string; model: LoadedModel; params: LoadModelParams } | undefined;
  const completion = completionService();
  // The last analysis' hidden states, for chosen-token requests; dropped with the model.
  const runs = new RunMemory();
  const keyOf = (p: LoadModelParams) => JSON.stringify([p.folder, p.maxModelBytes ?? null, p.source ?? null, p.name ?? null]);
  const unload = async () => {
    const m = loaded?.model;
    loaded = undefined;
    runs.clear();
    await completion.dispose();
    await m?.dispose();
    return m !== undefined;
  };
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
    loadModel: async (params, signal): Promise<ModelInfo> => {
      checkLoadParams(params);
      const key = keyOf(params);
      if (loaded?.key === key) return loaded.model.info;
      configureRuntime(options.wasmDir, options.numThreads);
      // The old model goes first: two models at once may not fit.
      await unload();
      const model = await LoadedModel.load(params.folder, { maxModelBytes: params.maxModelBytes, source: params.source, name: params.name, signal });
      if (signal.aborted) {
        await model.dispose();
        throw new CancelledError();
      }
      loaded = { key, model, params };
      return model.info;
    },
    inspect: async (params) => {
      checkLoadParams(params);
      const { spec, parameters, instrumentation } = inspectModel(params.folder, { maxModelBytes: params.maxModelBytes, source: params.source, name: params.name });
      return { spec, parameters, instrumentation };
    },
    analyze: async (params, signal) => {
      if (!loaded) throw new NoModelError();
      return analyze(loaded.model, params?.text, params?.options ?? {}, signal, runs);
    },
    chosen: async (params) => {
      if (!loaded) throw new NoModelError();
      return chosenDetail(loaded.model, runs.get(loaded.model, params?.runId), params?.index, params?.topK, params?.neighbours);
    },
    score: async (params, signal) => {
      if (!loaded) throw new NoModelError();
      return score(loaded.model, params, signal);
    },
    neighbours: async (params) => {
      if (!loaded) throw new NoModelError();
      return neighbours(loaded.model, params);
    },
    complete: async (params, signal) => {
      if (!loaded) throw new NoModelError();
      return completion.complete(loaded.model, loaded.params, params, signal);
    },
    unloadModel: async () => ({ unloaded: await unload() }),
  };
}
