// What the worker does for each request; the dispatcher in worker.ts stays free of model logic.
import type { WorkerParams, WorkerRequestName, WorkerResult, WorkerStartOptions, RuntimeInfo, LoadModelParams, ModelInfo } from '../protocol/worker';
import { CancelledError, errorMessage, LensError, RuntimeUnavailableError } from '../core/common/errors';
import { silentLogger, type Logger } from '../core/common/logger';
import { chooseRuntime, type RuntimeChoice } from './runtimeChoice';
import { LoadedModel, inspectModel } from '../core/session/modelSession';
import { chosenDetail } from '../core/analysis/chosen';
import { pcaOfRun } from '../core/analysis/pcaMap';
import { RunMemory } from '../core/analysis/runMemory';
import { analyze } from '../core/analysis/analysis';
import { neighbours, score } from '../core/scoring/score';
import { NoModelError } from '../core/analysis/errors';
import { completionService } from './completion';
import { why } from '../core/why/why';
import { occlude } from '../core/why/occlusion';

/** `progress` sends a {type: 'progress'} message for the request (long requests call it between their runs). */
export type Handler<K extends WorkerRequestName> = (params: WorkerParams<K>, signal: AbortSignal, progress?: (done: number, total: number) => void) => Promise<WorkerResult<K>>;
export type Handlers = { [K in WorkerRequestName]: Handler<K> };

function checkLoadParams(p: LoadModelParams): void {
  if (typeof p?.folder !== 'string' || p.folder.length === 0) throw new LensError('invalidRequest', 'loadModel needs "folder", an absolute path.');
  if (p.onnxFile !== undefined && (typeof p.onnxFile !== 'string' || p.onnxFile.length === 0)) throw new LensError('invalidRequest', '"onnxFile" must be a path inside the model folder.');
  if (p.maxModelBytes !== undefined && !(typeof p.maxModelBytes === 'number' && p.maxModelBytes > 0)) {
    throw new LensError('invalidRequest', '"maxModelBytes" must be a positive number of bytes.');
  }
}

export function createHandlers(options: WorkerStartOptions, log: Logger = silentLogger): Handlers {
  // Chosen once, at the first request that needs it: the first session fixes onnxruntime-web's thread count.
  let choice: Promise<RuntimeChoice> | undefined;
  const runtime = (): Promise<RuntimeChoice> => {
    choice ??= chooseRuntime(options, log);
    choice.catch(() => (choice = undefined));
    return choice;
  };
  let loaded: { key: string; model: LoadedModel; params: LoadModelParams } | undefined;
  const completion = completionService();
  // The last analysis' hidden states, for chosen-token and PCA requests; dropped with the model.
  const runs = new RunMemory();
  const keyOf = (p: LoadModelParams) => JSON.stringify([p.folder, p.maxModelBytes ?? null, p.source ?? null, p.name ?? null, p.onnxFile ?? null]);
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
    version: async (): Promise<RuntimeInfo> => (await runtime()).info,
    loadModel: async (params, signal): Promise<ModelInfo> => {
      checkLoadParams(params);
      const key = keyOf(params);
      if (loaded?.key === key) return loaded.model.info;
      const c = await runtime();
      // The old model goes first: two models at once may not fit.
      await unload();
      const load = (rt: RuntimeChoice['runtime']) => LoadedModel.load(params.folder, { maxModelBytes: params.maxModelBytes, onnxFile: params.onnxFile, source: params.source, name: params.name, signal, runtime: rt });
      let model: LoadedModel;
      try {
        model = await load(c.runtime);
      } catch (e) {
        // A session the native runtime cannot create (an operator it lacks, a fault in the addon): WebAssembly takes over.
        if (c.runtime === c.web || !(e instanceof RuntimeUnavailableError)) throw e;
        log.warn(`${params.folder}: ${errorMessage(e)}; loading it with onnxruntime-web instead`);
        model = await load(c.web);
      }
      if (signal.aborted) {
        await model.dispose();
        throw new CancelledError();
      }
      loaded = { key, model, params };
      return model.info;
    },
    inspect: async (params) => {
      checkLoadParams(params);
      const { spec, parameters, instrumentation } = inspectModel(params.folder, { maxModelBytes: params.maxModelBytes, onnxFile: params.onnxFile, source: params.source, name: params.name });
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
    pca: async (params) => {
      if (!loaded) throw new NoModelError();
      return pcaOfRun(loaded.model, runs.get(loaded.model, params?.runId), params?.layer);
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
    why: async (params, signal) => {
      if (!loaded) throw new NoModelError();
      return why(loaded.model, params, signal);
    },
    occlude: async (params, signal, progress) => {
      if (!loaded) throw new NoModelError();
      return occlude(loaded.model, params, signal, progress);
    },
    unloadModel: async () => ({ unloaded: await unload() }),
  };
}
