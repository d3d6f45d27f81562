// The inference runtimes the model checks run on: onnxruntime-web always, onnxruntime-node where its addon loads
// (in this repository it is installed for the bench and the native runtime), each with one thread.
import { loadNativeRuntime } from '../../../src/core/runtime/native';
import { backendReasonText } from '../../../src/protocol/worker';
import type { InferenceRuntime } from '../../../src/core/runtime/runtime';
import { configureRuntime, webRuntime } from '../../../src/core/runtime/web';

export interface TestRuntime {
  name: 'web' | 'native';
  runtime: InferenceRuntime;
}

export function testRuntimes(dist: string): TestRuntime[] {
  configureRuntime(dist, 1);
  const native = loadNativeRuntime(1);
  if (!('runtime' in native)) throw new Error(`the unit tier runs the model checks on both runtimes, but: ${backendReasonText(native.why)} (npm ci installs onnxruntime-node)`);
  return [
    { name: 'web', runtime: webRuntime },
    { name: 'native', runtime: native.runtime },
  ];
}
