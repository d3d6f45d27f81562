// The Why tab's side of the panel protocol: what a webview may ask (candidates, parts switched off, occlusion), how a
// result is matched to the question, and where occlusion's tokens sit in the editor's text; and the tab itself, the
// real webview bundle (dist/webview.js) in headless Chromium, for what a person does with it (cutting an attention edge).
// First: the host's string table (through panelHarness) asks for 'vscode', which this answers with the preview's stub.
import './helpers/vscodeModule';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { isWebviewToHostMessage, isIntervention, samePart, whyKey, MAX_WHY_TARGETS, MAX_INTERVENTIONS, type AnalysisState, type AnalysisUi, type PanelAnalysis, type PanelWhy } from '../../src/protocol/webview';
import type { Intervention, OccludeResult } from '../../src/protocol/why';
import { analyzeOptions, defaultUi, toPanelAnalysis } from '../../src/host/panelData';
import { tokenSpans } from '../../src/host/tokenSpans';
import { analysisPageState, launchChromium, panelPage, servePanels, type PanelServer } from '../../src/tools/preview/panelHarness';
import { sampleAnalysis, spec } from '../preview/sample';
import { sampleWhy } from '../preview/whySample';
import type { Analysis } from '../../src/protocol/analysis';

describe('why: panel messages', () => {
  it('accepts candidates, interventions, the switch-off mode and occlusion requests', () => {
    const ok: unknown[] = [
      { type: 'setUi', ui: { tab: 'why' } },
      { type: 'setUi', ui: { whyTargets: [' Paris', ' London'] }, seq: 4 },
      { type: 'setUi', ui: { whyTargets: [] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'head', layer: 3, head: 5, mode: 'zero' }, { kind: 'mlp', layer: 0, mode: 'mean' }, { kind: 'attention', layer: 1, mode: 'zero' }, { kind: 'edge', from: 2, to: 7 }] } },
      { type: 'setUi', ui: { whyMode: 'mean' } },
      { type: 'occlude' },
      { type: 'cancelOcclude' },
    ];
    for (const m of ok) assert.ok(isWebviewToHostMessage(m, 'analysis'), JSON.stringify(m));
  });

  it('rejects malformed ones, and the Why messages from other panels', () => {
    const bad: unknown[] = [
      { type: 'setUi', ui: { whyTargets: 'Paris' } },
      { type: 'setUi', ui: { whyTargets: [''] } },
      { type: 'setUi', ui: { whyTargets: [3] } },
      { type: 'setUi', ui: { whyTargets: Array.from({ length: MAX_WHY_TARGETS + 1 }, (_, i) => `t${i}`) } },
      { type: 'setUi', ui: { whyTargets: ['x'.repeat(201)] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'head', layer: 1, mode: 'zero' }] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'head', layer: -1, head: 0, mode: 'zero' }] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'mlp', layer: 1, mode: 'half' }] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'mlp', layer: 1, mode: 'zero', extra: '<img>' }] } },
      { type: 'setUi', ui: { whyInterventions: [{ kind: 'embedding', layer: 0, mode: 'zero' }] } },
      { type: 'setUi', ui: { whyInterventions: Array.from({ length: MAX_INTERVENTIONS + 1 }, () => ({ kind: 'mlp', layer: 0, mode: 'zero' })) } },
      { type: 'setUi', ui: { whyMode: 'one' } },
      { type: 'occlude', text: 'injected' },
    ];
    for (const m of bad) assert.ok(!isWebviewToHostMessage(m, 'analysis'), JSON.stringify(m));
    assert.ok(!isWebviewToHostMessage({ type: 'occlude' }, 'modelCard'));
    assert.ok(!isWebviewToHostMessage({ type: 'cancelOcclude' }, 'runtime'));
  });

  it('starts with no candidates and nothing switched off', () => {
    const ui = defaultUi();
    assert.deepEqual([ui.whyTargets, ui.whyInterventions, ui.whyMode], [[], [], 'zero']);
  });

  it('matches a result to the question it answers: position, candidates and interventions, not the mode', () => {
    const ui: AnalysisUi = { ...defaultUi(), chosen: 4, whyTargets: [' a'] };
    const other: AnalysisUi = { ...ui, whyMode: 'mean', tab: 'tokens' };
    assert.equal(whyKey(ui), whyKey(other));
    assert.notEqual(whyKey(ui), whyKey({ ...ui, chosen: 5 }));
    assert.notEqual(whyKey(ui), whyKey({ ...ui, whyTargets: [' a', ' b'] }));
    assert.notEqual(whyKey(ui), whyKey({ ...ui, whyInterventions: [{ kind: 'mlp', layer: 0, mode: 'zero' }] }));
  });

  it('treats the same part in another mode as the same part (a second click switches it back on)', () => {
    assert.ok(samePart({ kind: 'head', layer: 1, head: 2, mode: 'zero' }, { kind: 'head', layer: 1, head: 2, mode: 'mean' }));
    assert.ok(!samePart({ kind: 'head', layer: 1, head: 2, mode: 'zero' }, { kind: 'head', layer: 1, head: 3, mode: 'zero' }));
    assert.ok(!samePart({ kind: 'mlp', layer: 1, mode: 'zero' }, { kind: 'attention', layer: 1, mode: 'zero' }));
    assert.ok(samePart({ kind: 'edge', from: 1, to: 4 }, { kind: 'edge', from: 1, to: 4 }));
    assert.ok(!samePart({ kind: 'edge', from: 1, to: 4 }, { kind: 'edge', from: 4, to: 1 }));
    assert.ok(isIntervention({ kind: 'edge', from: 0, to: 0 }));
  });
});

describe('why: occlusion tokens in the text', () => {
  it('lays whole tokens end to end', () => {
    assert.deepEqual(tokenSpans('Hello world', [{ text: 'Hello' }, { text: ' world' }]), [
      { start: 0, end: 5 },
      { start: 5, end: 11 },
    ]);
  });

  it('gives tokens that split a character the span of that character', () => {
    // "👩" in three byte-level pieces, each decoded alone as U+FFFD.
    const text = 'a 👩 b';
    const spans = tokenSpans(text, [{ text: 'a' }, { text: ' \uFFFD' }, { text: '\uFFFD' }, { text: ' b' }]);
    assert.deepEqual(spans, [
      { start: 0, end: 1 },
      { start: 1, end: 4 },
      { start: 1, end: 4 },
      { start: 4, end: 6 },
    ]);
    assert.deepEqual(tokenSpans('x👩', [{ text: 'x' }, { text: '\uFFFD' }, { text: '\uFFFD' }]), [
      { start: 0, end: 1 },
      { start: 1, end: 3 },
      { start: 1, end: 3 },
    ]);
  });

  it('says so when the tokens do not spell the text, rather than colour the wrong words', () => {
    assert.equal(tokenSpans('Hello world', [{ text: 'Hello' }, { text: ' there' }]), undefined);
    assert.equal(tokenSpans('Hello world', [{ text: 'Hello' }]), undefined);
  });
});

// ---- the Why tab, drawn by the real webview in headless Chromium ----

// Compiled to out/test/unit/: the repository is three folders up.
const ROOT = path.resolve(__dirname, '../../..');

// "The cat sat on the mat": six tokens, the prediction after " the" (index 4).
const TEXT = 'The cat sat on the mat';
const WORDS = ['The', ' cat', ' sat', ' on', ' the', ' mat'];

/** Occlusion's answer in the worker's shape: how much replacing each token changed the log-probability of " mat". */
function occlusion(position: number, delta: number[]): PanelWhy['occlusion'] {
  const tokens = sampleAnalysis(TEXT).tokens.map((t) => ({ id: t.id, text: t.text }));
  const result: OccludeResult = {
    tokens,
    position,
    target: { text: ' mat', tokenIds: [tokens[5].id], logProb: -1.2 },
    method: 'mask',
    delta,
    occluded: position + 1,
    skipped: 0,
    batches: 1,
    maskToken: { id: 1, text: ' the' },
    timings: { totalMs: 12 },
  };
  return { position, running: false, cap: 256, result };
}

/** What the page keeps (panelHarness.panelPage): every message the panel posted to the host, and alert() calls. */
interface PageGlobals {
  __sent: { type: string; ui?: Partial<AnalysisUi>; level?: string; message?: string }[];
  __alerts: number;
}

describe('why: cutting an attention edge in the tab', function () {
  this.timeout(60000);
  let browser: Browser | undefined;
  /** One browser context for the describe; each test's page is new, with the panel's script state of its own. */
  let context: BrowserContext | undefined;
  let server: PanelServer | undefined;
  /** The pages the server answers, by path: each test's panel page with its own state. */
  const pages = new Map<string, string>();
  const open: Page[] = [];

  before(async function () {
    this.timeout(60000);
    const bundle = path.join(ROOT, 'dist/webview.js');
    if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run -s build first`);
    server = await servePanels(ROOT, (pathname) => {
      const body = pages.get(pathname);
      return body === undefined ? undefined : { type: 'text/html', body };
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  });

  after(async function () {
    this.timeout(60000);
    await browser?.close();
    await server?.close();
  });

  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });

  /**
   * The analysis panel as the host fills it (sample analysis, toPanelAnalysis, analysisPageState), on the Why tab, in
   * a fresh page: its first draw, then what a person does there and what the panel posts back.
   */
  async function draw(ui: Partial<AnalysisUi>, whyOf?: Partial<PanelWhy> | ((a: Analysis, u: AnalysisUi) => Partial<PanelWhy>), edit?: (data: PanelAnalysis) => void) {
    const u: AnalysisUi = { ...defaultUi(), tab: 'why', chosen: 4, ...ui };
    const analysis = sampleAnalysis(TEXT, analyzeOptions(u, spec.nLayer));
    const why = typeof whyOf === 'function' ? whyOf(analysis, u) : whyOf;
    const data = await toPanelAnalysis(analysis, 1, u.layer, u.head);
    assert.deepEqual(data.tokens.map((t) => t.text), WORDS, 'the sample tokenizer splits the text as this test expects');
    edit?.(data);
    const state: AnalysisState = { ...analysisPageState(data, u, 'cat.txt:1'), ...(why ? { why: { seq: data.seq, key: whyKey(u), busy: false, ...why } } : {}) };
    const name = `/page/${pages.size + 1}`;
    pages.set(name, panelPage('dark', 'analysis', state));
    const page = await context!.newPage();
    open.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(`${server!.base}${name}`);
    const sent = () => page.evaluate(() => (globalThis as unknown as PageGlobals).__sent);
    // Drawn: the edge control, or the error the panel shows in the tab's place when its view throws.
    await page.locator('#why-edge-to, #panel-why .error').first().waitFor({ state: 'attached', timeout: 30000 }).catch((e: unknown) => {
      throw new Error(`the Why tab was not drawn (did dist/webview.js start?)${errors.length ? `: ${errors.join('; ')}` : ''}: ${String(e)}`);
    });
    const failed = await page.locator('#panel-why .error').count();
    if (failed) throw new Error(`the Why tab failed to draw: ${(await sent()).filter((m) => m.type === 'log').map((m) => m.message).join('; ')}`);
    /** The option values of a select, in order. */
    const values = (sel: string) => page.locator(`${sel} option`).evaluateAll((os) => os.map((o) => Number((o as unknown as { value: string }).value)));
    /** What the panel asked the host to change, in order (its setUi messages). */
    const patches = async () => (await sent()).filter((m) => m.type === 'setUi').map((m) => m.ui);
    return {
      page,
      values,
      patches,
      value: (sel: string) => page.locator(sel).inputValue(),
      text: (sel: string) => page.locator(sel).textContent(),
      attr: (sel: string, name: string) => page.locator(sel).getAttribute(name),
      disabled: (sel: string) => page.locator(sel).isDisabled(),
      visible: (sel: string) => page.locator(sel).isVisible(),
      /** Chooses an option as a person does (the select must be enabled and offer it): input and change events. */
      async choose(sel: string, value: number) {
        assert.ok(!(await page.locator(sel).isDisabled()), `${sel} is disabled`);
        assert.ok((await values(sel)).includes(value), `${sel} offers ${value}`);
        await page.selectOption(sel, String(value));
      },
      /** A person's click. On a disabled control it does nothing: `force` clicks there without waiting for it to enable. */
      click: (sel: string, opts: { disabled?: boolean } = {}) => page.click(sel, opts.disabled ? { force: true, timeout: 5000 } : { timeout: 10000 }),
      /** The host's answer to the question the panel asks now came (a `why` message, as the host posts it): drawn again. */
      async answered(answer: Partial<PanelWhy> = {}) {
        const asked: AnalysisUi = Object.assign({ ...u }, ...(await patches()));
        const message = { type: 'why', why: { seq: data.seq, key: whyKey(asked), busy: false, ...answer } };
        await page.evaluate((m) => {
          const g = globalThis as unknown as { dispatchEvent(e: unknown): void; MessageEvent: new (type: string, init: { data: unknown }) => unknown };
          g.dispatchEvent(new g.MessageEvent('message', { data: m }));
        }, message);
      },
      /** Nothing went wrong in the page: no script error, nothing the panel logged to the host, no alert(). */
      async quiet() {
        const logged = (await sent()).filter((m) => m.type === 'log').map((m) => `${m.level}: ${m.message}`);
        const alerts = await page.evaluate(() => (globalThis as unknown as PageGlobals).__alerts);
        assert.deepEqual([...errors, ...logged, ...(alerts ? [`alert ran ${alerts} times`] : [])], []);
      },
    };
  }

  const TO = '#why-edge-to';
  const FROM = '#why-edge-from';
  const CUT = '[data-key="why-edge-cut"]';
  const HINT = '.why-edge [role="status"]';

  it('offers every reader, and as sources only that token and those before it', async () => {
    const t = await draw({ chosen: 4 });
    assert.deepEqual(await t.values(TO), [0, 1, 2, 3, 4, 5]);
    // The chosen token reads; the one before it is what it reads, to start with.
    assert.deepEqual([await t.value(TO), await t.value(FROM)], ['4', '3']);
    assert.deepEqual(await t.values(FROM), [0, 1, 2, 3, 4]);
    assert.equal(await t.text('label[for="why-edge-to"]'), 'Cut the attention from');
    assert.match((await t.page.locator(`${TO} option`).nth(4).textContent()) ?? '', /^5\. ·the$/);
    await t.choose(TO, 1);
    assert.deepEqual(await t.values(FROM), [0, 1], 'no source after the reader');
    assert.equal(await t.value(FROM), '1', 'a source after the new reader comes back to the reader');
    await t.choose(TO, 5);
    assert.deepEqual(await t.values(FROM), [0, 1, 2, 3, 4, 5]);
    assert.equal(await t.value(FROM), '1', 'the source chosen stays while it can be read');
    assert.ok(!(await t.disabled(CUT)));
    assert.deepEqual(await t.patches(), [], 'choosing a pair changes nothing yet');
    await t.quiet();
  });

  it('starts at the first token with its attention to itself, the only pair it has', async () => {
    const t = await draw({ chosen: 0 });
    assert.deepEqual([await t.value(TO), await t.value(FROM), await t.values(FROM)], ['0', '0', [0]]);
    await t.quiet();
  });

  it('cuts exactly the pair chosen, beside what is already off; a second press restores it', async () => {
    const head: Intervention = { kind: 'head', layer: 1, head: 0, mode: 'zero' };
    const t = await draw({ chosen: 4, whyInterventions: [head] });
    await t.choose(TO, 5);
    await t.choose(FROM, 1);
    assert.equal(await t.text(CUT), 'Cut');
    assert.equal(await t.attr(CUT, 'title'), 'Cut the attention from ·mat to ·cat');
    await t.click(CUT);
    assert.deepEqual(await t.patches(), [{ whyInterventions: [head, { kind: 'edge', from: 1, to: 5 }] }]);
    // Drawn at once, and again when the answer comes: the pair is kept, the button now restores it.
    for (const when of ['at once', 'answered']) {
      if (when === 'answered') await t.answered();
      assert.deepEqual([await t.value(TO), await t.value(FROM)], ['5', '1'], when);
      assert.equal(await t.text(CUT), 'Restore', when);
      // The answer is far above the control: it says there that the numbers are the intervened run's now.
      assert.match((await t.text(HINT)) ?? '', /now come from the intervened run/, when);
      assert.ok(await t.visible(HINT), when);
      assert.match((await t.text('ul.chips')) ?? '', /attention from ·mat to ·cat/, when);
    }
    await t.click(CUT);
    assert.deepEqual((await t.patches())[1], { whyInterventions: [head] });
    assert.equal((await t.patches()).length, 2);
    await t.quiet();
  });

  it('cuts nothing more when the list of parts is full, and says why', async () => {
    const many: Intervention[] = Array.from({ length: MAX_INTERVENTIONS }, (_, i) => ({ kind: 'edge', from: 0, to: i % 6 === 0 ? 0 : 1 }));
    const t = await draw({ chosen: 4, whyInterventions: many });
    assert.ok(await t.disabled(CUT));
    assert.match((await t.text(HINT)) ?? '', new RegExp(`At most ${MAX_INTERVENTIONS} parts`));
    assert.ok(await t.visible(HINT));
    await t.click(CUT, { disabled: true });
    assert.deepEqual(await t.patches(), []);
    await t.quiet();
  });

  it('offers the tokens occlusion found most needed as one-click cuts of the chosen token’s attention to them', async () => {
    // Token 1 (" cat") is needed most, then 3 (" on"); 2 raised the prediction and is not offered.
    const t = await draw({ chosen: 4 }, { occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
    assert.deepEqual(await t.page.locator('ul.needed button').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-key'))), ['edge-cut-1', 'edge-cut-3', 'edge-cut-0', 'edge-cut-4']);
    const CAT = '[data-key="edge-cut-1"]';
    assert.equal(await t.attr(CAT, 'aria-label'), 'Cut the attention from ·the to ·cat');
    assert.equal(await t.attr(CAT, 'aria-pressed'), 'false');
    await t.click(CAT);
    assert.deepEqual(await t.patches(), [{ whyInterventions: [{ kind: 'edge', from: 1, to: 4 }] }]);
    // Drawn at once, and again when the answer comes (the occlusion with it): pressed, and only that one.
    for (const when of ['at once', 'answered']) {
      if (when === 'answered') await t.answered({ occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
      assert.equal(await t.attr(CAT, 'aria-pressed'), 'true', when);
      assert.equal(await t.attr('[data-key="edge-cut-3"]', 'aria-pressed'), 'false', when);
    }
    await t.click(CAT);
    assert.deepEqual((await t.patches())[1], { whyInterventions: [] });
    assert.equal((await t.patches()).length, 2);
    await t.quiet();
  });

  it('disables the control and the shortcuts, with the reason, where the graph cannot cut edges', async () => {
    const reason = 'attention is one fused operator (GroupQueryAttention): attention edges cannot be cut';
    const t = await draw({ chosen: 4 }, { unavailable: { edge: reason }, occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
    assert.deepEqual([await t.disabled(TO), await t.disabled(FROM), await t.disabled(CUT)], [true, true, true]);
    assert.ok(await t.visible(HINT));
    assert.equal(await t.text(HINT), `This model’s graph does not let the lens cut attention edges. (${reason})`);
    const SHORTCUT = '[data-key="edge-cut-1"]';
    assert.ok(await t.disabled(SHORTCUT));
    assert.match((await t.attr(SHORTCUT, 'title')) ?? '', /GroupQueryAttention/);
    await t.click(CUT, { disabled: true });
    await t.click(SHORTCUT, { disabled: true });
    assert.deepEqual(await t.patches(), []);
    await t.quiet();
    // Where edges can be cut, nothing is said and everything is enabled.
    const ok = await draw({ chosen: 4 }, { unavailable: {}, occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
    assert.deepEqual([await ok.disabled(TO), await ok.disabled(FROM), await ok.disabled(CUT), await ok.disabled(SHORTCUT)], [false, false, false, false]);
    assert.ok(!(await ok.visible(HINT)));
    await ok.quiet();
  });

  it('lets no head, attention or MLP be pressed where the graph cannot switch that kind off, and says why', async () => {
    const reason = 'the attention output projection was not found after the attention probabilities: heads cannot be switched off or attributed';
    const withResult = (unavailable: PanelWhy['unavailable'], interventions: Intervention[] = []) => (a: Analysis) => ({ unavailable, result: sampleWhy(a, 4, interventions) });
    const t = await draw({ chosen: 4 }, withResult({ head: reason }));
    const HEAD = '[data-key="head-1-2"]';
    const BAR = '[data-key="bar-a-1"]';
    assert.ok(await t.disabled(HEAD));
    assert.match((await t.attr(HEAD, 'title')) ?? '', /does not let the lens switch this part off\. \(the attention output projection was not found/);
    assert.ok(!(await t.disabled(BAR)), 'attention blocks can still be switched off');
    await t.click(HEAD, { disabled: true });
    assert.deepEqual(await t.patches(), []);
    await t.click(BAR);
    assert.deepEqual(await t.patches(), [{ whyInterventions: [{ kind: 'attention', layer: 1, mode: 'zero' }] }]);
    await t.quiet();
    // A part already off (from before the model changed) can still be switched back on.
    const off: Intervention = { kind: 'head', layer: 1, head: 2, mode: 'zero' };
    const back = await draw({ chosen: 4, whyInterventions: [off] }, withResult({ head: reason }, [off]));
    assert.ok(!(await back.disabled(HEAD)));
    await back.click(HEAD);
    assert.deepEqual(await back.patches(), [{ whyInterventions: [] }]);
    // Where every kind can be switched off, the cells are enabled.
    const ok = await draw({ chosen: 4 }, withResult({}));
    assert.ok(!(await ok.disabled(HEAD)));
    await ok.quiet();
  });

  it('puts token text in as text, never as markup', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    // In the edge lists, in the banner's chip for a cut edge and in the needed-most row of an occlusion.
    const t = await draw({ chosen: 4, whyInterventions: [{ kind: 'edge', from: 3, to: 4 }] }, { occlusion: occlusion(4, [-0.2, -0.5, 0.4, -2.5, -0.1]) }, (data) => {
      data.tokens[3] = { ...data.tokens[3], text: hostile, bytes: [...Buffer.from(hostile)] };
    });
    assert.match((await t.page.locator(`${FROM} option`).nth(3).textContent()) ?? '', /^4\. <img·src=x·onerror=/);
    assert.match((await t.text('ul.chips')) ?? '', /<img/);
    assert.match((await t.text('ul.needed')) ?? '', /<img/);
    assert.equal(await t.page.locator('img').count(), 0, 'no image element anywhere');
    assert.equal(await t.page.locator('#why-edge-to option *, #why-edge-from option *').count(), 0, 'options hold text only');
    await t.quiet();
  });
});
