// Which inference runtime the worker uses, chosen once at its first need: onnxruntime-node when the setting allows and
// its addon loads, else onnxruntime-web. A native failure (addon missing, wrong architecture, a corrupt binary, a
// session that will not create) falls back to WebAssembly with one warning, never a broken extension.
import type { RuntimeBackendChoice, RuntimeInfo, WorkerStartOptions } from '../protocol/worker';
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
  let reason: string;
  if (choice === 'web') reason = options.webReason ?? 'llmLens.runtime.backend is "web"';
  else {
    const loaded = loadNative(options.numThreads);
    if ('runtime' in loaded) {
      native = loaded.runtime;
      reason = `llmLens.runtime.backend is "${choice}" and the native addon loaded`;
    } else reason = `${loaded.reason}; using WebAssembly`;
  }
  if (native) {
    try {
      const ms = await probeSession(native);
      configureRuntime(options.wasmDir, options.numThreads);
      return {
        runtime: native,
        web: webRuntime,
        info: { backend: 'native', backendReason: reason, onnxruntimeVersion: native.version, wasmPaths: '', numThreads: native.numThreads, simd: true, sessionCreateMs: ms, nodeVersion: process.version },
      };
    } catch (e) {
      reason = `the native runtime failed its first session (${errorMessage(e).split('\n')[0]}); using WebAssembly`;
    }
  }
  if (choice !== 'web') log.warn(`inference runtime: ${reason}`);
  configureRuntime(options.wasmDir, options.numThreads);
  const probe = await probeRuntime();
  const s = runtimeSettings();
  return {
    runtime: webRuntime,
    web: webRuntime,
    info: { backend: 'web', backendReason: reason, onnxruntimeVersion: probe.version, wasmPaths: s.wasmPaths, numThreads: s.numThreads, simd: true, sessionCreateMs: probe.sessionCreateMs, nodeVersion: process.version },
  };
}
