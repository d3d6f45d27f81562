// onnxruntime-node (native code: AVX-512 where the CPU has it, where WebAssembly has 128-bit SIMD) as the runtime
// interface (runtime.ts). The addon is loaded at run time, never bundled: a VSIX without it (the universal one, a
// platform with no binary) gets a reason instead of a runtime, and the worker falls back to onnxruntime-web.
import { createRequire } from 'node:module';
import { errorMessage, RuntimeUnavailableError } from '../common/errors';
import type { InferenceRuntime, RuntimeSession, Tensor } from './runtime';
import type { BackendWhy } from '../../protocol/worker';

type Ort = typeof import('onnxruntime-node');

/** onnxruntime-node's backend object (dist/backend.js) and the session handler it makes: what InferenceSession wraps. */
interface NativeHandler {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, InstanceType<Ort['Tensor']>>, fetches: Record<string, null>, options: object): Promise<Record<string, { type: string; data: unknown; dims: readonly number[] }>>;
  dispose(): Promise<void>;
}
interface NativeBackend {
  createInferenceSessionHandler(model: Uint8Array, options: object): Promise<NativeHandler>;
}

/** Why the addon cannot be had here. */
export type NativeUnavailable = Extract<BackendWhy, { code: 'addonMissing' | 'addonFailed' }>;

export interface NativeRuntime extends InferenceRuntime {
  readonly version: string;
  readonly numThreads: number;
}

/** The native runtime, or why it cannot be had here (addon missing, wrong architecture, a corrupt binary). */
export function loadNativeRuntime(numThreads: number, require: NodeRequire = createRequire(__filename)): { runtime: NativeRuntime } | { why: NativeUnavailable } {
  let ort: Ort;
  let backend: NativeBackend;
  try {
    ort = require('onnxruntime-node') as Ort;
    // The addon's own backend, not InferenceSession.create: onnxruntime-common keeps one registry of backends per copy
    // of the package, and where onnxruntime-web was loaded first into the same copy (any bundle that leaves packages
    // external, as the unit tier's do) its "cpu" backend stays registered whatever onnxruntime-node's priority
    // (registerBackend 1.30 never replaces a lower one): "native" sessions then ran on WebAssembly. No exports map in
    // the package, and dist/*.js travels in the platform VSIX (scripts/package.js).
    backend = (require('onnxruntime-node/dist/backend') as { onnxruntimeBackend: NativeBackend }).onnxruntimeBackend;
  } catch (e) {
    const msg = errorMessage(e).split('\n')[0];
    const platform = `${process.platform}-${process.arch}`;
    return { why: /Cannot find module/.test(msg) ? { code: 'addonMissing', platform } : { code: 'addonFailed', platform, detail: msg } };
  }
  const threads = Math.max(1, numThreads);
  // Options that suit an editor: one inter-op thread, sequential execution, no spin-waiting (a spinning pool would
  // hold a core while the person types), quiet logging.
  const options = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all' as const,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential' as const,
    logSeverityLevel: 3 as const,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  const createSession = async (model: Uint8Array): Promise<RuntimeSession> => {
    let session: NativeHandler;
    try {
      session = await backend.createInferenceSessionHandler(model, options);
    } catch (e) {
      throw new RuntimeUnavailableError(`onnxruntime-node could not create a session: ${errorMessage(e)}`);
    }
    return {
      async run(feeds, fetches) {
        const inputs: Record<string, InstanceType<Ort['Tensor']>> = {};
        for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
        const wanted: Record<string, null> = {};
        for (const name of fetches ?? session.outputNames) wanted[name] = null;
        const out = await session.run(inputs, wanted, {});
        const result: Record<string, Tensor> = {};
        // The addon copies outputs into JS arrays of their own: nothing to release afterwards.
        for (const [name, t] of Object.entries(out)) result[name] = { type: t.type, data: t.data, dims: t.dims } as Tensor;
        return result;
      },
      release: () => session.dispose(),
    };
  };
  const version = String((ort as unknown as { env?: { versions?: { node?: string } } }).env?.versions?.node ?? (require('onnxruntime-node/package.json') as { version: string }).version);
  return { runtime: { name: 'onnxruntime-node (native)', createSession, version, numThreads: threads } };
}
