// Webview entry: routes the host's messages to the view named in the state.
import { onHostMessage, vscode } from './vscodeApi';
import { renderRuntime } from './runtimeView';
import { applyChosen, applyPca, applyWhy, chooseFromHost, renderAnalysis, rerenderAnalysis, setBusy } from './analysisView';
import { renderModelCard } from './modelCardView';
import { onThemeChange } from './theme';
import { el } from './dom';

const root = document.getElementById('app')!;
let view: string | undefined;
let rerender: (() => void) | undefined;

onHostMessage((m) => {
  switch (m.type) {
    case 'error':
      root.replaceChildren(el('p', { class: 'error', role: 'alert' }, m.message));
      return;
    case 'choose':
      if (view === 'analysis') chooseFromHost(m.index);
      return;
    case 'chosen':
      if (view === 'analysis') applyChosen(m);
      return;
    case 'pca':
      if (view === 'analysis') applyPca(m);
      return;
    case 'why':
      if (view === 'analysis') applyWhy(m);
      return;
    case 'busy':
      if (view === 'analysis') setBusy(m.busy);
      else document.body.classList.toggle('busy', m.busy);
      return;
    case 'init':
      break;
    default:
      return;
  }
  const state = m.state;
  view = state.view;
  switch (state.view) {
    case 'runtime':
      renderRuntime(root, state);
      rerender = undefined;
      break;
    case 'analysis':
      renderAnalysis(root, state);
      rerender = rerenderAnalysis;
      break;
    case 'modelCard':
      renderModelCard(root, state);
      rerender = () => renderModelCard(root, state);
      break;
  }
});

// Charts depend on the width and the theme's colours: redraw (once per frame) when either changes.
let lastWidth = root.clientWidth;
let queued = false;
new ResizeObserver(() => {
  if (Math.abs(root.clientWidth - lastWidth) < 8 || queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    lastWidth = root.clientWidth;
    rerender?.();
  });
}).observe(root);
onThemeChange(() => rerender?.());

window.addEventListener('error', (e) => vscode.postMessage({ type: 'log', level: 'error', message: String(e.message) }));
vscode.postMessage({ type: 'ready' });
