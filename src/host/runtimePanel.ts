// The "Runtime Info" panel: what the inference worker reports about onnxruntime-web.
import * as vscode from 'vscode';
import type { PanelView } from './panelController';
import type { ModelService } from './modelService';
import type { RuntimeState } from '../protocol/webview';
import { errorMessage } from '../core/common/errors';

export function runtimePanel(models: ModelService): PanelView<'runtime'> {
  return {
    id: 'runtime',
    title: () => vscode.l10n.t('LLM Lens: Runtime'),
    async state(): Promise<RuntimeState> {
      const strings = {
        heading: vscode.l10n.t('Inference runtime'),
        intro: vscode.l10n.t('LLM Lens runs its language model with ONNX Runtime in a worker thread, so the editor never waits for it: native code (onnxruntime-node) where this platform’s package carries it, else WebAssembly (onnxruntime-web). The setting llmLens.runtime.backend chooses.'),
        backend: vscode.l10n.t('Runtime in use'),
        native: vscode.l10n.t('native (onnxruntime-node)'),
        web: vscode.l10n.t('WebAssembly (onnxruntime-web)'),
        why: vscode.l10n.t('Why'),
        version: vscode.l10n.t('onnxruntime version'),
        threads: vscode.l10n.t('Threads'),
        wasm: vscode.l10n.t('WebAssembly files'),
        create: vscode.l10n.t('Session start (trivial graph)'),
        node: vscode.l10n.t('Node.js'),
        refresh: vscode.l10n.t('Refresh'),
        failed: vscode.l10n.t('The runtime did not start.'),
      };
      try {
        const info = await models.runtimeInfo();
        return { view: 'runtime', info, strings };
      } catch (e) {
        return { view: 'runtime', info: undefined, error: errorMessage(e), strings };
      }
    },
  };
}
