// The analysis panel: header (source, pin), the chosen token, four tabs. A token chosen in any tab
// is chosen in all of them; the host is told so it can reveal it in the editor.
import { ANALYSIS_TABS, type AnalysisState, type AnalysisTab, type AnalysisUi, type ChosenPatch, type PanelNotice, type PcaPatch, type WhyPatch } from '../protocol/webview';
import { el } from './dom';
import { fmt, num, prob, probPrecise, predictionLabel, setLocale, tokenPieces } from './format';
import { vscode } from './vscodeApi';
import type { ViewCtx } from './viewContext';
import { renderTokens } from './tokensView';
import { renderEmbeddings } from './embeddingsView';
import { renderLayers } from './layersView';
import { renderAttention } from './attentionView';
import { renderWhy } from './whyView';
import { hideTip } from './canvas';

let root: HTMLElement | undefined;
let state: AnalysisState | undefined;
let ui: AnalysisUi | undefined;
let lastSeq = -1;
/** Counts this panel's choices; the host echoes the last one it applied (state.ackSeq). */
let uiSeq = 0;

const renderers: Record<AnalysisTab, (ctx: ViewCtx) => HTMLElement> = {
  tokens: renderTokens,
  embeddings: renderEmbeddings,
  layers: renderLayers,
  attention: renderAttention,
  why: renderWhy,
};

export function renderAnalysis(target: HTMLElement, next: AnalysisState): void {
  root = target;
  setLocale(next.locale);
  // The host's ui wins, unless a choice made here has not reached it yet (then this one is newer).
  if (!ui || next.ackSeq >= uiSeq) ui = { ...next.ui };
  state = next;
  if (next.data && next.data.seq !== lastSeq) lastSeq = next.data.seq;
  render();
}

/** The editor chose a token. */
export function chooseFromHost(index: number): void {
  if (!state?.data || !ui || index === ui.chosen) return;
  ui.chosen = clamp(index, state.data.tokens.length);
  render();
}

/** Another token's own data in the same analysis: patch the state and draw; a patch for an older analysis is dropped. */
export function applyChosen(patch: ChosenPatch): void {
  const data = state?.data;
  if (!data || data.seq !== patch.seq || !ui) return;
  data.chosen = patch.chosen;
  patch.lens.forEach((predictions, l) => {
    if (data.logitLens[l]) data.logitLens[l][patch.chosen.index] = predictions;
  });
  render();
}

/** The PCA map computed after its analysis; a map for an older analysis is dropped. */
export function applyPca(patch: PcaPatch): void {
  const data = state?.data;
  if (!data || data.seq !== patch.seq || !ui) return;
  data.pca = patch.pca;
  // Only the embeddings tab draws it: another tab keeps its scroll and focus untouched.
  if (ui.tab === 'embeddings') render();
}

/** The Why tab's answers changed; answers for an older analysis are dropped. */
export function applyWhy(patch: WhyPatch): void {
  if (!state?.data || state.data.seq !== patch.why.seq || !ui) return;
  state.why = patch.why;
  if (ui.tab === 'why') render();
}

export function setBusy(busy: boolean): void {
  if (state) state.busy = busy;
  document.body.classList.toggle('busy', busy);
}

/** Re-renders on resize and theme change. */
export function rerenderAnalysis(): void {
  if (state) render();
}

function clamp(i: number, n: number): number {
  return Math.max(0, Math.min(n - 1, i));
}

function choose(index: number): void {
  if (!state?.data || !ui) return;
  const i = clamp(index, state.data.tokens.length);
  if (i === ui.chosen) return;
  ui.chosen = i;
  vscode.postMessage({ type: 'choose', index: i, seq: ++uiSeq });
  render();
}

function setUi(patch: Partial<AnalysisUi>): void {
  if (!ui) return;
  Object.assign(ui, patch);
  vscode.postMessage({ type: 'setUi', ui: patch, seq: ++uiSeq });
  render();
}

function tokenKeys(target: HTMLElement): void {
  target.addEventListener('keydown', (e) => {
    if (!ui || !state?.data) return;
    const n = state.data.tokens.length;
    const step: Record<string, number> = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1, PageUp: -10, PageDown: 10 };
    let to: number | undefined;
    if (e.key in step) to = ui.chosen + step[e.key];
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = n - 1;
    if (to === undefined) return;
    e.preventDefault();
    choose(to);
  });
}

function render(): void {
  if (!root || !state || !ui) return;
  const s = state.strings;
  hideTip();
  document.body.classList.toggle('busy', state.busy);
  // Keep focus and scroll across the re-render: elements that take focus carry a data-key.
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset?.key;
  const scrollY = window.scrollY;

  const children: HTMLElement[] = [header(state, ui)];
  if (state.notice) children.push(notice(state.notice));
  const data = state.data;
  if (data && data.tokens.length > 0) {
    ui.chosen = clamp(ui.chosen, data.tokens.length);
    const ctx: ViewCtx = {
      data,
      ui,
      s,
      width: Math.max(280, root.clientWidth || document.body.clientWidth - 32),
      attentionMissing: state.attentionMissing,
      why: state.why && state.why.seq === data.seq ? state.why : undefined,
      choose,
      setUi,
      tokenKeys,
    };
    children.push(tabs(ui.tab, s), chosenStrip(ctx));
    const panel = el('section', { class: 'tabpanel', role: 'tabpanel', id: `panel-${ui.tab}`, 'aria-labelledby': `tab-${ui.tab}` });
    try {
      panel.append(renderers[ui.tab](ctx));
    } catch (e) {
      panel.append(el('p', { class: 'error', role: 'alert' }, String(e instanceof Error ? e.message : e)));
      vscode.postMessage({ type: 'log', level: 'error', message: `render ${ui.tab}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
    }
    children.push(panel);
  } else if (!state.notice) {
    children.push(
      el('p', { class: 'explain' }, state.busy ? s.analyzing : s.emptyPanel),
      state.busy ? el('span') : actionButton(s.analyzeSelectionAction, 'analyzeSelection'),
    );
  }
  root.replaceChildren(...children);
  window.scrollTo({ top: scrollY });
  if (focusKey) root.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
}

function actionButton(label: string, command: NonNullable<PanelNotice['action']>['command']): HTMLElement {
  const b = el('button', { type: 'button', 'data-key': `action-${command}` }, label);
  b.addEventListener('click', () => vscode.postMessage({ type: 'command', command }));
  return b;
}

function notice(n: PanelNotice): HTMLElement {
  const p = el('div', { class: `notice ${n.kind}`, role: n.kind === 'error' ? 'alert' : 'status' }, el('p', {}, n.message));
  if (n.action) p.append(actionButton(n.action.label, n.action.command));
  return p;
}

function header(st: AnalysisState, u: AnalysisUi): HTMLElement {
  const s = st.strings;
  const info = el('div', { class: 'source' });
  if (st.source) {
    info.append(el('span', { class: 'source-label' }, st.source.label));
    if (st.source.stale) info.append(el('span', { class: 'stale' }, s.stale));
  }
  if (st.data) {
    const m = st.data.model;
    info.append(el('span', { class: 'muted' }, m.nKvHeads < m.nHead ? fmt(s.modelLineGrouped, m.name, m.dModel, m.nLayer, m.nHead, m.nKvHeads) : fmt(s.modelLine, m.name, m.dModel, m.nLayer, m.nHead)));
  }
  const pin = el('button', { type: 'button', class: 'secondary toggle', 'aria-pressed': String(u.pinned), 'data-key': 'pin', title: u.pinned ? s.unpinTitle : s.pinTitle }, u.pinned ? s.pinned : s.pin);
  pin.addEventListener('click', () => setUi({ pinned: !u.pinned }));
  const card = el('button', { type: 'button', class: 'secondary', 'data-key': 'card' }, s.modelCard);
  card.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'showModelCard' }));
  return el('header', { class: 'topbar' }, info, el('div', { class: 'actions' }, pin, card), el('div', { class: 'progress', 'aria-hidden': 'true' }));
}

function tabs(active: AnalysisTab, s: Record<string, string>): HTMLElement {
  const list = el('div', { class: 'tabs', role: 'tablist', 'aria-label': s.views });
  const buttons = ANALYSIS_TABS.map((t) => {
    const b = el(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${t}`,
        'aria-selected': String(t === active),
        'aria-controls': `panel-${t}`,
        tabindex: t === active ? '0' : '-1',
        'data-key': `tab-${t}`,
      },
      s[`tab.${t}`],
    );
    b.addEventListener('click', () => t !== active && setUi({ tab: t }));
    return b;
  });
  list.addEventListener('keydown', (e) => {
    const i = ANALYSIS_TABS.indexOf(active);
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? ANALYSIS_TABS.length - 1 : undefined;
    if (to === undefined) return;
    e.preventDefault();
    setUi({ tab: ANALYSIS_TABS[(to + ANALYSIS_TABS.length) % ANALYSIS_TABS.length] });
  });
  list.append(...buttons);
  return list;
}

/** The chosen token, shown above every tab, with what the model thought of it and expected next. */
function chosenStrip(ctx: ViewCtx): HTMLElement {
  const { data, ui: u, s } = ctx;
  const i = u.chosen;
  const t = data.tokens[i];
  const prev = el('button', { type: 'button', class: 'icon', 'aria-label': s.previousToken, title: s.previousToken, 'data-key': 'prev' }, '‹');
  const next = el('button', { type: 'button', class: 'icon', 'aria-label': s.nextToken, title: s.nextToken, 'data-key': 'next' }, '›');
  prev.disabled = i === 0;
  next.disabled = i === data.tokens.length - 1;
  prev.addEventListener('click', () => choose(i - 1));
  next.addEventListener('click', () => choose(i + 1));
  const chip = el('span', { class: 'tok chosen-tok' });
  for (const p of tokenPieces(t, false)) chip.append(p.mark ? el('span', { class: p.esc ? 'esc' : 'ws' }, p.text) : document.createTextNode(p.text));
  const facts: string[] = [fmt(s.tokenOf, i + 1, data.tokens.length), fmt(s.idIs, t.id)];
  if (t.partial) facts.push(s.partialUtf8);
  const came = i > 0 ? data.predictions[i - 1]?.actual : undefined;
  if (came) facts.push(fmt(s.surprisalIs, num(came.surprisalBits, 1), probPrecise(came.prob), came.rank));
  const expected = data.predictions[i]?.top.slice(0, 3) ?? [];
  const strip = el(
    'section',
    { class: 'chosen-strip', 'aria-label': s.chosenToken, 'aria-live': 'polite' },
    prev,
    chip,
    next,
    el('span', { class: 'muted' }, facts.join(' · ')),
  );
  if (expected.length) {
    strip.append(
      el('span', { class: 'muted' }, s.expectsNext),
      ...expected.map((p) => el('span', { class: 'pred' }, `${predictionLabel(p.text, 12)} ${prob(p.prob)}`)),
    );
  }
  return strip;
}
