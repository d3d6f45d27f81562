// Bench section "panels": the analysis panel's real webview bundle in headless Chromium, fed a real 512-token
// analysis the way the host feeds it; times, in the page, from the analysis message to the panel drawn, per tab,
// and redrawing after switching attention heads (targets of issue #4: 100 ms and 50 ms).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadedClient, prefixOfTokens, type BenchContext, type BenchRow, type BenchSection } from './shared';
import { analyzeOptions, chosenPatch, defaultUi, toPanelAnalysis } from '../../host/panelData';
import { analysisPageState, launchChromium, panelPage, servePanels, type Drawn } from '../preview/panelHarness';
import type { Analysis } from '../../protocol/analysis';
import { ANALYSIS_TABS, type AnalysisTab } from '../../protocol/webview';

const TOKENS = 512;
const DRAWN_TARGET_MS = 100;
const HEAD_TARGET_MS = 50;
/** The preview's page size, a wide editor column; on a 1x and a 2x screen (a canvas has 4x the pixels at 2x). */
const VIEWPORT = { width: 1000, height: 900 };
const SCALES = [1, 2];

/** What this section adds to the page (a string: it runs in the browser, and this file is type-checked for Node). */
const PAGE_HELPERS = `
window.__bench = {
  async load() {
    window.__benchState = await (await fetch('/state.json')).json();
  },
  /** The analysis message as the panel receives it: cloned, then dispatched to its listener. */
  deliver(tab, seq) {
    const state = window.__benchState;
    state.ui.tab = tab;
    state.data.seq = seq;
    const message = { type: 'init', view: 'analysis', state };
    return window.__timeDrawn(() => window.dispatchEvent(new MessageEvent('message', { data: structuredClone(message) })));
  },
  /** Picks a head in the attention tab's head list, as a person does. */
  head(h) {
    return window.__timeDrawn(() => {
      const select = document.getElementById('att-head');
      select.value = String(h);
      select.dispatchEvent(new Event('change'));
    });
  },
  /** What is wrong with the tab's panel, or '' when it has drawn. */
  problem(tab, head) {
    const panel = document.getElementById('panel-' + tab);
    if (!panel) return 'no panel for tab ' + tab;
    const error = panel.querySelector('.error');
    if (error) return error.textContent;
    // The Why tab draws its charts when the worker's answer comes (a message of its own); until then, its controls.
    if (tab === 'why' && !panel.querySelector('.why')) return 'no Why view';
    if (tab !== 'tokens' && tab !== 'why' && !panel.querySelector('canvas')) return 'no canvas in tab ' + tab;
    if (tab === 'attention' && !panel.querySelector('[data-key="att-matrix"]')) return 'no attention matrix';
    if (head !== undefined && document.getElementById('att-head').value !== String(head)) return 'head ' + head + ' not shown';
    return '';
  },
};`;

// page.evaluate's functions run in the page, serialized: they reach what is there through globalThis, not closures.
interface PageBench {
  __bench: {
    load(): Promise<void>;
    deliver(tab: AnalysisTab, seq: number): Promise<Drawn>;
    head(h: number): Promise<Drawn>;
    problem(tab: AnalysisTab, head?: number): string;
  };
  __sent: { type: string; level?: string; message?: string }[];
  __alerts: number;
}

function median(xs: number[]): number {
  const t = xs.slice().sort((a, b) => a - b);
  return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
}

interface Measured {
  /** The first analysis the fresh page received (tokens tab). */
  cold: Drawn;
  tabs: Map<AnalysisTab, Drawn[]>;
  switches: Drawn[];
}

/** One fresh page at one device scale: every tab's draw after an analysis message, then switching heads. */
async function measure(ctx: BenchContext, browser: Browser, base: string, scale: number, nHead: number): Promise<Measured> {
  const errors: string[] = [];
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: scale });
  try {
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/page`);
    await page.waitForFunction(() => (globalThis as unknown as { __ready?: boolean }).__ready === true, undefined, { timeout: 30_000 }).catch(() => {
      throw new Error(`the panel never sent ready (dist/webview.js did not start)${errors.length ? `: ${errors.join('; ')}` : ''}`);
    });
    await page.evaluate(PAGE_HELPERS);
    await page.evaluate(() => (globalThis as unknown as PageBench).__bench.load());
    let seq = 1;
    const deliver = async (tab: AnalysisTab): Promise<Drawn> => {
      const d = await page.evaluate(([t, s]) => (globalThis as unknown as PageBench).__bench.deliver(t, s), [tab, ++seq] as const);
      const problem = await page.evaluate((t) => (globalThis as unknown as PageBench).__bench.problem(t), tab);
      if (problem) throw new Error(`the ${tab} tab did not draw: ${problem}`);
      return d;
    };
    const show = (runs: Drawn[]) => runs.map((r) => `${r.sync.toFixed(0)}/${r.frame.toFixed(0)}/${r.drawn.toFixed(0)}`).join(', ');

    // The first analysis a fresh panel receives (nothing compiled or cached yet), then each tab warm.
    const cold = await deliver('tokens');
    const tabs = new Map<AnalysisTab, Drawn[]>();
    for (const tab of ANALYSIS_TABS) {
      await deliver(tab);
      const runs: Drawn[] = [];
      for (let i = 0; i < ctx.runs; i++) runs.push(await deliver(tab));
      tabs.set(tab, runs);
      ctx.log(`panels ${scale}x: ${tab}: render/frame/drawn ${show(runs)} ms`);
    }

    // Switching heads in the attention tab (the last tab delivered): every head and the average, in turn.
    const order = [...Array.from({ length: nHead }, (_, h) => h), -1];
    const switches: Drawn[] = [];
    for (let round = 0; round <= ctx.runs; round++) {
      for (const h of order) {
        const d = await page.evaluate((x) => (globalThis as unknown as PageBench).__bench.head(x), h);
        const problem = await page.evaluate(([x]) => (globalThis as unknown as PageBench).__bench.problem('attention', x), [h] as const);
        if (problem) throw new Error(`switching to head ${h}: ${problem}`);
        if (round > 0) switches.push(d); // round 0 warms up
      }
    }
    ctx.log(`panels ${scale}x: heads: render/frame/drawn ${show(switches)} ms`);

    const logged = await page.evaluate(() => (globalThis as unknown as PageBench).__sent.filter((m) => m.type === 'log').map((m) => `${m.level}: ${m.message}`));
    const alerts = await page.evaluate(() => (globalThis as unknown as PageBench).__alerts);
    errors.push(...logged, ...(alerts ? [`alert ran ${alerts} times`] : []));
    if (errors.length) throw new Error(`the panel reported errors: ${errors.join('; ')}`);
    return { cold, tabs, switches };
  } finally {
    await page.close();
  }
}

function row(name: string, runs: Drawn[], target: number, note = ''): BenchRow {
  const v = median(runs.map((r) => r.drawn));
  const parts = `render ${median(runs.map((r) => r.sync)).toFixed(0)} ms, layout+paint ${median(runs.map((r) => r.drawn - r.frame)).toFixed(0)} ms`;
  return {
    name,
    value: v,
    unit: 'ms',
    ratio: v / target,
    ratioTo: 'target',
    target: `<= ${target} ms`,
    ok: v <= target,
    note: `${parts}, max ${Math.max(...runs.map((r) => r.drawn)).toFixed(0)} ms of ${runs.length}${note}`,
  };
}

export const panelsSection: BenchSection = {
  id: 'panels',
  title: `Analysis panel in headless Chromium (real webview bundle, ${VIEWPORT.width}x${VIEWPORT.height}, dark theme, software canvas): analysis message or head switch to panel drawn`,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!fs.existsSync(path.join(ctx.root, 'dist', 'webview.js'))) throw new Error('dist/webview.js is missing: npm run build');
    // Chromium first: without it nothing here can be measured, and the worker need not start.
    const browser = await launchChromium();
    try {
      const client = await loadedClient(ctx);
      const info = await client.request('loadModel', { folder: ctx.modelDir });
      const input = prefixOfTokens(ctx.tokenizer(), ctx.heldOutText, TOKENS);
      // The last token chosen: the head view then draws a line to every token (the most work it does).
      const ui = { ...defaultUi(), chosen: input.ids.length - 1 };
      // Every tab is drawn from this one message, the embeddings tab's map included: the panel asks for the map only
      // on that tab (and gets it with the analysis there), so it is asked for here whatever the default tab.
      const options = { ...analyzeOptions(ui, info.spec.nLayer), pca: true };
      const a: Analysis = await client.request('analyze', { text: input.text, options });
      const T = a.tokens.length;
      ctx.log(`panels: analysis of ${T} tokens, options ${JSON.stringify(options)}`);

      // The host's part: the worker's Analysis to the panel's payload (quantized matrices, one attention layer).
      let data = await toPanelAnalysis(a, 1, ui.layer, ui.head);
      const converts: number[] = [];
      let longestSlice = 0;
      for (let i = 0; i < ctx.runs; i++) {
        const t0 = performance.now();
        data = await toPanelAnalysis(a, 1, ui.layer, ui.head);
        converts.push(performance.now() - t0);
        // As the host runs it: a turn of the event loop after each matrix; the longest stretch between turns.
        let last = performance.now();
        await toPanelAnalysis(a, 1, ui.layer, ui.head, undefined, async () => {
          const now = performance.now();
          longestSlice = Math.max(longestSlice, now - last);
          await new Promise<void>((resolve) => setImmediate(resolve));
          last = performance.now();
        });
        longestSlice = Math.max(longestSlice, performance.now() - last);
      }
      const convertMs = median(converts);
      const allHeads = data.attention?.heads.every((h) => h !== null) ?? false;
      const stateJson = JSON.stringify(analysisPageState(data, ui, `${path.basename(ctx.heldOutSource)}, ${T} tokens`));

      const server = await servePanels(ctx.root, (pathname) =>
        pathname === '/page' ? { type: 'text/html', body: panelPage('dark', 'analysis') } : pathname === '/state.json' ? { type: 'application/json', body: stateJson } : undefined,
      );
      // Another token chosen: the worker's answer from the last run, posted as a patch instead of the whole state.
      const other = Math.floor(T / 2);
      const c = await client.request('chosen', { runId: a.runId!, index: other, topK: options.topK, neighbours: options.neighbours });
      a.chosen = { index: c.index, hidden: c.hidden, neighbours: c.neighbours };
      c.lens.forEach((predictions, l) => (a.logitLens[l][other] = predictions));
      const patchJson = JSON.stringify(chosenPatch(data.seq, a, other));
      const rows: BenchRow[] = [
        { name: `host: another token chosen in ${T} tokens, message posted`, value: patchJson.length / 1024, unit: 'KiB', ratio: patchJson.length / stateJson.length, ratioTo: 'the whole state', target: '<= 0.1x', ok: patchJson.length * 10 <= stateJson.length, note: `whole state ${(stateJson.length / 1024).toFixed(0)} KiB` },
        { name: `host: toPanelAnalysis of ${T} tokens`, value: convertMs, unit: 'ms', note: `message ${(stateJson.length / 2 ** 20).toFixed(2)} MiB as JSON; not in the times below` },
        { name: `host: longest stretch without an event-loop turn while building it`, value: longestSlice, unit: 'ms', note: `a turn after each matrix, as the host's analysis view does; max of ${ctx.runs}` },
      ];
      try {
        for (const scale of SCALES) {
          const m = await measure(ctx, browser, server.base, scale, a.model.nHead);
          for (const tab of ANALYSIS_TABS) {
            const cold = tab === 'tokens' ? `; first message to the fresh page ${m.cold.drawn.toFixed(0)} ms` : '';
            rows.push(row(`${T} tokens arrive, ${tab} tab drawn, ${scale}x`, m.tabs.get(tab)!, DRAWN_TARGET_MS, cold));
          }
          rows.push(row(`attention head switched, redrawn, ${scale}x`, m.switches, HEAD_TARGET_MS, allHeads ? '' : '; some heads were left out of the message'));
        }
      } finally {
        await server.close();
      }
      return rows;
    } finally {
      await browser.close();
    }
  },
};
