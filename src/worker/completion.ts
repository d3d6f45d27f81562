// The worker's completion state: one engine (its own plain-graph session and KV cache) for the loaded model, made on
// the first `complete` and released with the model.
import type { CompleteParams, CompleteResult } from '../protocol/completion';
import type { LoadModelParams } from '../protocol/worker';
import type { LoadedModel } from '../core/session/modelSession';
import type { Logger } from '../core/common/logger';
import { CompletionEngine } from '../core/completion/engine';
import { checkModelMemory } from '../core/model/memory';

export interface CompletionService {
  complete(model: LoadedModel, load: LoadModelParams, params: CompleteParams, signal: AbortSignal): Promise<CompleteResult>;
  dispose(): Promise<void>;
}

export function completionService(logger?: Logger): CompletionService {
  let current: { model: LoadedModel; engine: Promise<CompletionEngine> } | undefined;
  const dispose = async () => {
    const c = current;
    current = undefined;
    if (c) await (await c.engine.catch(() => undefined))?.dispose();
  };
  return {
    async complete(model, load, params, signal) {
      if (current?.model !== model) {
        await dispose();
        const engine = (async () => {
          // The engine's session is a second copy of the weights in the same runtime: refused with the figure when the
          // WebAssembly heap cannot hold both, rather than failing inside onnxruntime (core/model/memory.ts).
          checkModelMemory(load.folder, { onnxFile: load.onnxFile, runtime: model.runtime, purpose: 'completions' });
          return CompletionEngine.create(load.folder, model, { maxModelBytes: load.maxModelBytes, onnxFile: load.onnxFile, logger });
        })();
        current = { model, engine };
        engine.catch(() => current?.engine === engine && (current = undefined));
      }
      const engine = await current.engine;
      return engine.complete(params, signal);
    },
    dispose,
  };
}
