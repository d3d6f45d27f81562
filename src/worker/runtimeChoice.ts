// Which inference runtime the worker uses, chosen once at its first need: onnxruntime-node when the setting allows and
// its addon loads, else onnxruntime-web. A native failure (addon missing, wrong architecture, a corrupt binary, a
// session that will not create) falls back to WebAssembly with one warning, never a broken extension.
import { backendReasonText, type BackendWhy, type RuntimeBackendChoice, type RuntimeInfo, type WorkerStartOptions } from '../protocol/worker';
import { errorMessage } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import { loadNativeRuntime, type NativeRuntime } from '../core/runtime/native';
import { probeSession, type InferenceRuntime } from '../core/runtime/runtime';
import { configureRuntime, probeRuntime, runtimeSettings, webRuntime } from '../core/runtime/web';

export interface RuntimeChoice {
  runtime: InferenceRuntime;
  info: RuntimeInfo;
  /** onnxruntime-web, configured: the fallback when a native session fails to create. */
  web: InferenceRuntime;
}

export async function chooseRuntime(options: WorkerStartOptions, log: Logger, loadNative: (threads: number) => ReturnType<typeof loadNativeRuntime> = loadNativeRuntime): Promise<RuntimeChoice> {
  const choice: RuntimeBackendChoice = options.backend ?? 'web';
  let native: NativeRuntime | undefined;
  let why: BackendWhy;
  if (choice === 'web') why = options.nativeCrashed ? { code: 'crashedBefore' } : { code: 'setting', setting: 'web' };
  else {
    const loaded = loadNative(options.numThreads);
    if ('runtime' in loaded) {
      native = loaded.runtime;
      why = { code: 'setting', setting: choice };
    } else why = loaded.why;
  }
  if (native) {
    try {
      const ms = await probeSession(native);
      configureRuntime(options.wasmDir, options.numThreads);
      return {
        runtime: native,
        web: webRuntime,
        info: { backend: 'native', backendReason: backendReasonText(why), backendWhy: why, onnxruntimeVersion: native.version, wasmPaths: '', numThreads: native.numThreads, simd: true, sessionCreateMs: ms, nodeVersion: process.version },
      };
    } catch (e) {
      why = { code: 'firstSessionFailed', detail: errorMessage(e).split('\n')[0] };
    }
  }
  const reason = backendReasonText(why);
  if (choice !== 'web') log.warn(`inference runtime: ${reason}`);
  configureRuntime(options.wasmDir, options.numThreads);
  const probe = await probeRuntime();
  const s = runtimeSettings();
  return {
    runtime: webRuntime,
    web: webRuntime,
    info: { backend: 'web', backendReason: reason, backendWhy: why, onnxruntimeVersion: probe.version, wasmPaths: s.wasmPaths, numThreads: s.numThreads, simd: true, sessionCreateMs: probe.sessionCreateMs, nodeVersion: process.version },
  };
}
