// Draws the runtime panel: which inference runtime the worker uses, why, and what it reported.
import type { ViewState } from '../protocol/webview';
import { el } from './dom';
import { vscode } from './vscodeApi';

export function renderRuntime(root: HTMLElement, state: Extract<ViewState, { view: 'runtime' }>): void {
  const s = state.strings;
  // [label, value, a sentence rather than a value (set in the UI font, broken between words)]
  const rows: [string, string, boolean?][] = state.info
    ? [
        [s.backend, state.info.backend === 'native' ? s.native : s.web],
        [s.why, state.why ?? state.info.backendReason, true],
        [s.version, state.info.onnxruntimeVersion],
        [s.threads, String(state.info.numThreads)],
        ...(state.info.wasmPaths ? [[s.wasm, state.info.wasmPaths] as [string, string]] : []),
        [s.create, `${state.info.sessionCreateMs.toFixed(0)} ms`],
        [s.node, state.info.nodeVersion],
      ]
    : [];
  const table = el('table', { class: 'kv' });
  for (const [k, v, prose] of rows) table.append(el('tr', {}, el('th', {}, k), el('td', prose ? { class: 'prose' } : {}, v)));
  const refresh = el('button', { type: 'button' }, s.refresh);
  refresh.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'refresh' }));
  root.replaceChildren(
    el('h1', {}, s.heading),
    el('p', { class: 'explain' }, s.intro),
    state.error ? el('p', { class: 'error', role: 'alert' }, `${s.failed} ${state.error}`) : table,
    refresh,
  );
}
