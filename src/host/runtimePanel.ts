// The "Runtime Info" panel: which inference runtime the worker uses, why (worded here, in the display language),
// and what it reported.
import * as vscode from 'vscode';
import type { PanelView } from './panelController';
import type { ModelService } from './modelService';
import type { RuntimeState } from '../protocol/webview';
import type { BackendWhy } from '../protocol/worker';
import { SETTINGS } from './commands';
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
        return { view: 'runtime', info, why: whyText(info.backendWhy), strings };
      } catch (e) {
        return { view: 'runtime', info: undefined, error: errorMessage(e), strings };
      }
    },
  };
}

/** Why the worker runs on its runtime, in the display language. */
export function whyText(why: BackendWhy): string {
  const t = vscode.l10n.t;
  switch (why.code) {
    case 'setting':
      return why.setting === 'web' ? t('{0} is "web"', SETTINGS.runtimeBackend) : t('{0} is "{1}" and the native addon loaded', SETTINGS.runtimeBackend, why.setting);
    case 'addonMissing':
      return t('native addon missing for {0}; using WebAssembly', why.platform);
    case 'addonFailed':
      return t('native addon failed to load on {0}: {1}; using WebAssembly', why.platform, why.detail);
    case 'firstSessionFailed':
      return t('the native runtime failed its first session ({0}); using WebAssembly', why.detail);
    case 'crashedBefore':
      return t('the native runtime stopped the extension host when it last loaded; "{0}" retries it', t('LLM Lens: Try the Native Runtime Again'));
  }
}
