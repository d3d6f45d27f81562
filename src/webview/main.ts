// Webview entry: routes the host's state to the view named on <body data-view>.
import { onHostMessage, vscode } from './vscodeApi';
import { renderRuntime } from './runtimeView';
import { el } from './dom';

const root = document.getElementById('app')!;

onHostMessage((m) => {
  if (m.type === 'error') {
    root.replaceChildren(el('p', { class: 'error', role: 'alert' }, m.message));
    return;
  }
  switch (m.state.view) {
    case 'runtime':
      renderRuntime(root, m.state);
      break;
  }
});

window.addEventListener('error', (e) => vscode.postMessage({ type: 'log', level: 'error', message: String(e.message) }));
vscode.postMessage({ type: 'ready' });
