// The Why tab's side of the panel protocol: what a webview may ask (candidates, parts switched off, occlusion), how a
// result is matched to the question, and where occlusion's tokens sit in the editor's text; and the tab itself, drawn
// into a small DOM, for what a person does with it (cutting an attention edge).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { isWebviewToHostMessage, isIntervention, samePart, whyKey, MAX_WHY_TARGETS, MAX_INTERVENTIONS, type AnalysisUi, type PanelWhy } from '../../src/protocol/webview';
import type { Intervention, OccludeResult } from '../../src/protocol/why';
import { defaultUi } from '../../src/host/panelData';
import { tokenSpans } from '../../src/host/tokenSpans';

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

// ---- the Why tab, drawn ----

// Compiled to out/test/unit/: the repository is three folders up.
const ROOT = path.resolve(__dirname, '../../..');

/**
 * Just enough of a DOM for the Why tab's view code: elements with attributes, children, listeners and the few
 * properties it sets; selects that answer `value` from their options; a canvas context that draws nothing. The
 * root tsconfig has no DOM types (the core must not use them), so the view is bundled and loaded here untyped.
 */
class FakeNode {
  parent: FakeElement | null = null;
  get textContent(): string {
    return '';
  }
}

class FakeText extends FakeNode {
  constructor(public data: string) {
    super();
  }
  override get textContent(): string {
    return this.data;
  }
}

class FakeElement extends FakeNode {
  readonly tagName: string;
  readonly attrs = new Map<string, string>();
  childNodes: FakeNode[] = [];
  readonly style: Record<string, string> = {};
  readonly listeners = new Map<string, ((e: unknown) => void)[]>();
  disabled = false;
  hidden = false;
  open = false;
  tabIndex = -1;
  width = 0;
  height = 0;
  private inputValue = '';
  private ctx2d: unknown;

  constructor(tag: string) {
    super();
    this.tagName = tag.toUpperCase();
  }
  setAttribute(k: string, v: string): void {
    this.attrs.set(k, String(v));
  }
  getAttribute(k: string): string | null {
    return this.attrs.get(k) ?? null;
  }
  hasAttribute(k: string): boolean {
    return this.attrs.has(k);
  }
  get id(): string {
    return this.attrs.get('id') ?? '';
  }
  get title(): string {
    return this.attrs.get('title') ?? '';
  }
  set title(v: string) {
    this.attrs.set('title', v);
  }
  get className(): string {
    return this.attrs.get('class') ?? '';
  }
  set className(v: string) {
    this.attrs.set('class', v);
  }
  get classList() {
    const list = () => this.className.split(/\s+/).filter(Boolean);
    const set = (l: string[]) => this.attrs.set('class', l.join(' '));
    return {
      contains: (c: string) => list().includes(c),
      add: (...cs: string[]) => set([...new Set([...list(), ...cs])]),
      remove: (...cs: string[]) => set(list().filter((x) => !cs.includes(x))),
      toggle: (c: string, on?: boolean) => {
        const want = on ?? !list().includes(c);
        set(want ? [...new Set([...list(), c])] : list().filter((x) => x !== c));
        return want;
      },
    };
  }
  get children(): FakeElement[] {
    return this.childNodes.filter((n): n is FakeElement => n instanceof FakeElement);
  }
  append(...nodes: (FakeNode | string)[]): void {
    for (const n of nodes) {
      const node = typeof n === 'string' ? new FakeText(n) : n;
      node.parent = this;
      this.childNodes.push(node);
    }
  }
  replaceChildren(...nodes: (FakeNode | string)[]): void {
    this.childNodes = [];
    this.append(...nodes);
  }
  override get textContent(): string {
    return this.childNodes.map((n) => n.textContent).join('');
  }
  override set textContent(v: string) {
    this.replaceChildren(new FakeText(v));
  }
  /** A select's value is its selected option's; an option's is its value attribute or its text. */
  get value(): string {
    if (this.tagName === 'SELECT') {
      const opts = this.options;
      return (opts.find((o) => o.hasAttribute('selected')) ?? opts[0])?.value ?? '';
    }
    if (this.tagName === 'OPTION') return this.attrs.get('value') ?? this.textContent;
    return this.inputValue;
  }
  set value(v: string) {
    if (this.tagName === 'SELECT') {
      for (const o of this.options) o.attrs.delete('selected');
      this.options.find((o) => o.value === String(v))?.attrs.set('selected', '');
    } else this.inputValue = String(v);
  }
  get options(): FakeElement[] {
    return this.children.filter((c) => c.tagName === 'OPTION');
  }
  addEventListener(type: string, fn: (e: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  dispatch(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn({ type, target: this, preventDefault() {} });
  }
  /** What a person's click does: nothing on a disabled control. */
  click(): void {
    if (!this.disabled) this.dispatch('click');
  }
  /** Chooses an option as a person does: the value, then the change event. */
  choose(value: number): void {
    assert.ok(!this.disabled, `${this.id} is disabled`);
    assert.ok(this.options.some((o) => o.value === String(value)), `${this.id} offers ${value}`);
    this.value = String(value);
    this.dispatch('change');
  }
  getContext(): unknown {
    this.ctx2d ??= new Proxy({} as Record<string | symbol, unknown>, {
      get: (t, k) => (k in t ? t[k] : k === 'measureText' ? (x: string) => ({ width: x.length * 7 }) : k === 'getImageData' ? () => ({ data: new Uint8ClampedArray(4) }) : () => undefined),
      set: (t, k, v) => ((t[k] = v), true),
    });
    return this.ctx2d;
  }
  /** Every element below, depth first. */
  all(): FakeElement[] {
    return this.children.flatMap((c) => [c, ...c.all()]);
  }
  /** One simple selector: tag, #id, .class and [attr] / [attr="value"], combined. */
  matches(sel: string): boolean {
    for (const m of sel.matchAll(/([a-z0-9]+)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:="([^"]*)")?\]/gi)) {
      if (m[1] && this.tagName !== m[1].toUpperCase()) return false;
      if (m[2] && this.id !== m[2]) return false;
      if (m[3] && !this.classList.contains(m[3])) return false;
      if (m[4] && (m[5] === undefined ? !this.hasAttribute(m[4]) : this.getAttribute(m[4]) !== m[5])) return false;
    }
    return true;
  }
  /** Simple selectors separated by spaces, each below the one before it. */
  querySelectorAll(sel: string): FakeElement[] {
    const [first, ...rest] = sel.trim().split(/\s+/);
    const here = this.all().filter((e) => e.matches(first));
    return rest.length ? [...new Set(here.flatMap((e) => e.querySelectorAll(rest.join(' '))))] : here;
  }
  querySelector(sel: string): FakeElement | null {
    return this.querySelectorAll(sel)[0] ?? null;
  }
}

interface WhyBundle {
  renderWhy(ctx: unknown): FakeElement;
  analysisStrings(): Record<string, string>;
}

let bundled: string | undefined;

/** The Why view and the host's English strings, bundled as the webview gets them, in a fresh module each time. */
function loadWhy(): WhyBundle {
  bundled ??= esbuild.buildSync({
    stdin: { contents: "export { renderWhy } from './src/webview/whyView';\nexport { analysisStrings } from './src/host/panelStrings';\n", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    alias: { vscode: path.join(ROOT, 'src/tools/preview/vscodeStub.ts') },
  }).outputFiles[0].text;
  const mod = { exports: {} as WhyBundle };
  new Function('module', 'exports', bundled)(mod, mod.exports);
  return mod.exports;
}

const g = globalThis as Record<string, unknown>;
const GLOBALS = ['document', 'window', 'getComputedStyle', 'requestAnimationFrame', 'acquireVsCodeApi'];

/** Installs the fake DOM's globals for one test; what the view posts to the host is collected. */
function installDom(): { posted: unknown[]; restore(): void } {
  const saved = GLOBALS.map((k) => [k, Object.getOwnPropertyDescriptor(g, k)] as const);
  const posted: unknown[] = [];
  const body = new FakeElement('body');
  body.setAttribute('class', 'vscode-dark');
  g.document = { body, activeElement: null, createElement: (tag: string) => new FakeElement(tag), createTextNode: (t: string) => new FakeText(t) };
  g.window = { devicePixelRatio: 1, innerWidth: 1000, innerHeight: 800, addEventListener() {} };
  g.getComputedStyle = () => ({ getPropertyValue: () => '' });
  g.requestAnimationFrame = () => 0;
  g.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => posted.push(m), getState: () => undefined, setState() {} });
  return {
    posted,
    restore() {
      for (const [k, d] of saved) {
        if (d) Object.defineProperty(g, k, d);
        else delete g[k];
      }
    },
  };
}

// "The cat sat on the mat": six tokens, the prediction after " the" (index 4).
const WORDS = ['The', ' cat', ' sat', ' on', ' the', ' mat'];
const TOKENS = WORDS.map((text, index) => ({ index, id: 100 + index, text, bytes: [...Buffer.from(text)], start: 0, end: 0, partial: false }));

function occlusion(position: number, delta: number[]): PanelWhy['occlusion'] {
  const result: OccludeResult = {
    tokens: TOKENS.map((t) => ({ id: t.id, text: t.text })),
    position,
    target: { text: ' mat', tokenIds: [105], logProb: -1.2 },
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

describe('why: cutting an attention edge in the tab', () => {
  let dom: ReturnType<typeof installDom>;
  let view: WhyBundle;
  let s: Record<string, string>;
  beforeEach(() => {
    dom = installDom();
    view = loadWhy();
    s = view.analysisStrings();
  });
  afterEach(() => dom.restore());

  /** Draws the tab for this UI; each setUi patch is recorded, and `again` draws it as the host would after one. */
  function draw(ui: Partial<AnalysisUi>, why?: Partial<PanelWhy>) {
    const patches: Partial<AnalysisUi>[] = [];
    const state: AnalysisUi = { ...defaultUi(), tab: 'why', chosen: 4, ...ui };
    const render = () =>
      view.renderWhy({
        data: { tokens: TOKENS, model: { nHead: 2, nLayer: 2 } },
        ui: state,
        s,
        width: 800,
        why: why && { seq: 1, key: '', busy: false, ...why },
        choose() {},
        setUi(patch: Partial<AnalysisUi>) {
          patches.push(patch);
          Object.assign(state, patch);
        },
        tokenKeys() {},
      });
    let root = render();
    return {
      patches,
      get root() {
        return root;
      },
      again() {
        root = render();
        return root;
      },
    };
  }

  const values = (sel: FakeElement | null) => (sel?.options ?? []).map((o) => Number(o.value));
  const ids = (root: FakeElement) => ({ to: root.querySelector('#why-edge-to')!, from: root.querySelector('#why-edge-from')!, cut: root.querySelector('[data-key="why-edge-cut"]')! });

  it('offers every reader, and as sources only that token and those before it', () => {
    const t = draw({ chosen: 4 });
    const { to, from, cut } = ids(t.root);
    assert.deepEqual(values(to), [0, 1, 2, 3, 4, 5]);
    // The chosen token reads; the one before it is what it reads, to start with.
    assert.deepEqual([to.value, from.value], ['4', '3']);
    assert.deepEqual(values(from), [0, 1, 2, 3, 4]);
    assert.equal(t.root.querySelector('label[for="why-edge-to"]')?.textContent, 'Cut the attention from');
    assert.match(to.options[4].textContent, /^5\. ·the$/);
    to.choose(1);
    assert.deepEqual(values(from), [0, 1], 'no source after the reader');
    assert.equal(from.value, '1', 'a source after the new reader comes back to the reader');
    to.choose(5);
    assert.deepEqual(values(from), [0, 1, 2, 3, 4, 5]);
    assert.equal(from.value, '1', 'the source chosen stays while it can be read');
    assert.ok(!cut.disabled);
    assert.deepEqual(t.patches, [], 'choosing a pair changes nothing yet');
  });

  it('starts at the first token with its attention to itself, the only pair it has', () => {
    const { to, from } = ids(draw({ chosen: 0 }).root);
    assert.deepEqual([to.value, from.value, values(from)], ['0', '0', [0]]);
  });

  it('cuts exactly the pair chosen, beside what is already off; a second press restores it', () => {
    const head: Intervention = { kind: 'head', layer: 1, head: 0, mode: 'zero' };
    const t = draw({ chosen: 4, whyInterventions: [head] });
    const { to, from, cut } = ids(t.root);
    to.choose(5);
    from.choose(1);
    assert.equal(cut.textContent, 'Cut');
    assert.equal(cut.title, 'Cut the attention from ·mat to ·cat');
    cut.click();
    assert.deepEqual(t.patches, [{ whyInterventions: [head, { kind: 'edge', from: 1, to: 5 }] }]);
    // Drawn again (the answer came): the pair is kept, the banner names the edge, the button now restores it.
    const after = ids(t.again());
    assert.deepEqual([after.to.value, after.from.value], ['5', '1']);
    assert.equal(after.cut.textContent, 'Restore');
    // The answer is far above the control: it says there that the numbers are the intervened run's now.
    assert.match(t.root.querySelector('.why-edge [role="status"]')!.textContent, /now come from the intervened run/);
    assert.match(t.root.querySelector('ul.chips')!.textContent, /attention from ·mat to ·cat/);
    after.cut.click();
    assert.deepEqual(t.patches[1], { whyInterventions: [head] });
  });

  it('cuts nothing more when the list of parts is full, and says why', () => {
    const many: Intervention[] = Array.from({ length: MAX_INTERVENTIONS }, (_, i) => ({ kind: 'edge', from: 0, to: i % 6 === 0 ? 0 : 1 }));
    const t = draw({ chosen: 4, whyInterventions: many });
    const { cut } = ids(t.root);
    assert.ok(cut.disabled);
    assert.match(t.root.querySelector('.why-edge [role="status"]')!.textContent, new RegExp(`At most ${MAX_INTERVENTIONS} parts`));
    cut.click();
    assert.deepEqual(t.patches, []);
  });

  it('offers the tokens occlusion found most needed as one-click cuts of the chosen token’s attention to them', () => {
    // Token 1 (" cat") is needed most, then 3 (" on"); 2 raised the prediction and is not offered.
    const t = draw({ chosen: 4 }, { occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
    const buttons = t.root.querySelectorAll('ul.needed button');
    assert.deepEqual(
      buttons.map((b) => b.getAttribute('data-key')),
      ['edge-cut-1', 'edge-cut-3', 'edge-cut-0', 'edge-cut-4'],
    );
    const cat = t.root.querySelector('[data-key="edge-cut-1"]')!;
    assert.equal(cat.getAttribute('aria-label'), 'Cut the attention from ·the to ·cat');
    assert.equal(cat.getAttribute('aria-pressed'), 'false');
    cat.click();
    assert.deepEqual(t.patches, [{ whyInterventions: [{ kind: 'edge', from: 1, to: 4 }] }]);
    const pressed = t.again().querySelector('[data-key="edge-cut-1"]')!;
    assert.equal(pressed.getAttribute('aria-pressed'), 'true');
    assert.equal(t.root.querySelector('[data-key="edge-cut-3"]')!.getAttribute('aria-pressed'), 'false');
    pressed.click();
    assert.deepEqual(t.patches[1], { whyInterventions: [] });
  });

  it('disables the control and the shortcuts, with the reason, where the graph cannot cut edges', () => {
    const reason = 'attention is one fused operator (GroupQueryAttention): attention edges cannot be cut';
    const t = draw({ chosen: 4 }, { edgesUnavailable: reason, occlusion: occlusion(4, [-0.2, -2.5, 0.4, -0.9, -0.1]) });
    const { to, from, cut } = ids(t.root);
    assert.deepEqual([to.disabled, from.disabled, cut.disabled], [true, true, true]);
    const hint = t.root.querySelector('.why-edge [role="status"]')!;
    assert.ok(!hint.hidden);
    assert.equal(hint.textContent, `This model’s graph does not let the lens cut attention edges. (${reason})`);
    const shortcut = t.root.querySelector('[data-key="edge-cut-1"]')!;
    assert.ok(shortcut.disabled);
    assert.match(shortcut.title, /GroupQueryAttention/);
    cut.click();
    shortcut.click();
    assert.deepEqual(t.patches, []);
    // Where edges can be cut, nothing is said and everything is enabled.
    const ok = ids(draw({ chosen: 4 }, { edgesUnavailable: undefined }).root);
    assert.deepEqual([ok.to.disabled, ok.from.disabled, ok.cut.disabled], [false, false, false]);
  });

  it('puts token text in as text, never as markup', () => {
    const hostile = [...TOKENS];
    hostile[3] = { ...hostile[3], text: '<img src=x onerror=alert(1)>' };
    const root = view.renderWhy({ data: { tokens: hostile, model: { nHead: 2, nLayer: 2 } }, ui: { ...defaultUi(), tab: 'why', chosen: 4 }, s, width: 800, choose() {}, setUi() {}, tokenKeys() {} });
    const from = root.querySelector('#why-edge-from')!;
    assert.match(from.options[3].textContent, /^4\. <img·src=x·onerror=/);
    assert.ok(!root.all().some((e) => e.tagName === 'IMG'));
  });
});
