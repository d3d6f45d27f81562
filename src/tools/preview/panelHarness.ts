// The panels outside VS Code, for the bench's panels section and the dev preview (test/preview): VS Code's theme
// variables, a page that stands in for the webview (acquireVsCodeApi stubbed), a server for dist/ and media/, and
// headless Chromium. Imports the host's string table, so a bundle of it aliases 'vscode' to src/tools/preview/vscodeStub.ts.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import type { AnalysisState, AnalysisUi, PanelAnalysis, ViewState } from '../../protocol/webview';
import { analysisStrings } from '../../host/panelStrings';

export type ThemeName = 'light' | 'dark' | 'hc';

/** The font variables, the same in every theme. */
const FONTS = { 'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"DejaVu Sans Mono", monospace', 'editor-font-size': '13px' };

/** VS Code's theme variables (Light Modern, Dark Modern, High Contrast), as a webview receives them. */
export const themes: Record<ThemeName, { bodyClass: string; vars: Record<string, string> }> = {
  light: {
    bodyClass: 'vscode-light',
    vars: {
      ...FONTS,
      foreground: '#3b3b3b', descriptionForeground: '#6e7681', 'editor-background': '#ffffff', focusBorder: '#005fb8', 'panel-border': '#e5e5e5',
      'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc',
      'dropdown-background': '#ffffff', 'dropdown-border': '#cecece', 'dropdown-foreground': '#3b3b3b', 'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b',
      'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'charts-green': '#388a34', 'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-purple': '#652d90',
      'textLink-foreground': '#005fb8', errorForeground: '#f85149', 'editorWarning-foreground': '#bf8803', 'editorHoverWidget-background': '#f8f8f8', 'editorHoverWidget-foreground': '#3b3b3b', 'editorHoverWidget-border': '#c8c8c8',
      'progressBar-background': '#005fb8', 'textBlockQuote-background': '#f8f8f8', 'toolbar-hoverBackground': 'rgba(184, 184, 184, 0.31)', 'editorWhitespace-foreground': 'rgba(51, 51, 51, 0.2)', 'editor-selectionBackground': '#add6ff', 'panelTitle-activeBorder': '#005fb8', 'testing-iconPassed': '#388a34',
    },
  },
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      ...FONTS,
      foreground: '#cccccc', descriptionForeground: '#9d9d9d', 'editor-background': '#1f1f1f', focusBorder: '#0078d4', 'panel-border': '#2b2b2b',
      'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c',
      'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c', 'dropdown-foreground': '#cccccc', 'badge-background': '#616161', 'badge-foreground': '#f8f8f8',
      'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#4daafc', errorForeground: '#f85149', 'editorWarning-foreground': '#cca700', 'editorHoverWidget-background': '#202020', 'editorHoverWidget-foreground': '#cccccc', 'editorHoverWidget-border': '#454545',
      'progressBar-background': '#0078d4', 'textBlockQuote-background': '#2b2b2b', 'toolbar-hoverBackground': 'rgba(90, 93, 94, 0.31)', 'editorWhitespace-foreground': 'rgba(227, 228, 226, 0.16)', 'editor-selectionBackground': '#264f78', 'panelTitle-activeBorder': '#0078d4', 'testing-iconPassed': '#73c991',
    },
  },
  hc: {
    bodyClass: 'vscode-high-contrast',
    vars: {
      ...FONTS,
      foreground: '#ffffff', descriptionForeground: 'rgba(255, 255, 255, 0.7)', 'editor-background': '#000000', focusBorder: '#f38518', 'panel-border': '#6fc3df', contrastBorder: '#6fc3df',
      'button-background': '#000000', 'button-foreground': '#ffffff', 'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'dropdown-background': '#000000', 'dropdown-border': '#6fc3df', 'dropdown-foreground': '#ffffff', 'badge-background': '#000000', 'badge-foreground': '#ffffff',
      'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#21a6ff', errorForeground: '#f48771', 'editorWarning-foreground': '#ffd370', 'editorHoverWidget-background': '#0c141f', 'editorHoverWidget-foreground': '#ffffff', 'editorHoverWidget-border': '#6fc3df',
      'progressBar-background': '#6fc3df', 'textBlockQuote-background': '#000000', 'editorWhitespace-foreground': 'rgba(124, 124, 124, 0.6)', 'editor-selectionBackground': '#ffffff', 'panelTitle-activeBorder': '#6fc3df', 'testing-iconPassed': '#73c991',
    },
  },
};

/** What the page's `__timeDrawn(action)` resolves to, in ms from just before the action. */
export interface Drawn {
  /** The action itself: for a message or a click, the panel's whole synchronous render, canvases included. */
  sync: number;
  /** Until the next animation frame began (the wait for it included). */
  frame: number;
  /** Until the frame after the action has been laid out and painted (a task posted from its animation frame). */
  drawn: number;
}

/**
 * A page like the one the panel controller writes, with acquireVsCodeApi stubbed: what the panel sends is kept in
 * `__sent`; with `state`, the page answers `ready` with it, as the host does. `__timeDrawn(action)` times an action
 * until the frame after it is drawn (see Drawn).
 */
export function panelPage(theme: ThemeName, view: ViewState['view'], state?: ViewState): string {
  const t = themes[theme];
  const vars = Object.entries(t.vars).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><link rel="stylesheet" href="/media/panel.css"><style>html { ${vars} }</style>
<script>
  window.__sent = [];
  window.__alerts = 0;
  window.alert = () => { window.__alerts++; };
  const state = ${state ? JSON.stringify(state).replace(/</g, '\\u003c') : 'undefined'};
  window.acquireVsCodeApi = () => ({
    postMessage(m) {
      window.__sent.push(m);
      if (m.type === 'ready') {
        window.__ready = true;
        if (state) setTimeout(() => window.postMessage({ type: 'init', view: state.view, state }, '*'));
      }
      if (m.type === 'setUi' && state) Object.assign(state.ui, m.ui);
    },
    getState() {}, setState() {},
  });
  window.__timeDrawn = (action) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    try { action(); } catch (e) { reject(e); return; }
    const sync = performance.now() - t0;
    // Animation-frame callbacks run before the frame's style, layout and paint; a task posted from one runs after.
    requestAnimationFrame(() => {
      const frame = performance.now() - t0;
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve({ sync, frame, drawn: performance.now() - t0 });
      ch.port2.postMessage(0);
    });
  });
</script></head><body class="${t.bodyClass}" data-view="${view}"><main id="app" aria-live="polite"></main><script type="module" src="/dist/webview.js"></script></body></html>`;
}

/** The analysis panel's state as the host posts it (AnalysisView.currentState) for a payload from toPanelAnalysis. */
export function analysisPageState(data: PanelAnalysis, ui: AnalysisUi, label: string): AnalysisState {
  return { view: 'analysis', strings: analysisStrings(), locale: 'en', ui, busy: false, source: { label, stale: false }, data, ackSeq: 0 };
}

export interface PanelServer {
  base: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

/** Serves dist/ and media/ of `root` (the webview's localResourceRoots) and whatever `route` answers, on 127.0.0.1. */
export async function servePanels(root: string, route: (pathname: string) => { type: string; body: string } | undefined): Promise<PanelServer> {
  const allowed = ['dist', 'media'].map((d) => path.join(root, d) + path.sep);
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const r = route(pathname);
    if (r) {
      res.writeHead(200, { 'content-type': r.type });
      res.end(r.body);
      return;
    }
    const file = path.join(root, pathname);
    if (!allowed.some((d) => file.startsWith(d)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Debian's chromium, as scripts/setup.sh installs it (and the integration tests use), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless Chromium through playwright-core (loaded at run time: a bundle cannot hold it); a clear error when missing. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing (${CHROMIUM}): apt-get install chromium (scripts/setup.sh does), or set CHROMIUM_PATH`);
  let playwright: typeof import('playwright-core');
  try {
    playwright = createRequire(__filename)('playwright-core') as typeof import('playwright-core');
  } catch {
    throw new Error('playwright-core is missing from node_modules: run npm ci');
  }
  return playwright.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}
