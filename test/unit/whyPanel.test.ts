// The Why tab's side of the panel protocol: what a webview may ask (candidates, parts switched off, occlusion), how a
// result is matched to the question, and where occlusion's tokens sit in the editor's text.
import * as assert from 'node:assert/strict';
import { isWebviewToHostMessage, isIntervention, samePart, whyKey, MAX_WHY_TARGETS, MAX_INTERVENTIONS, type AnalysisUi } from '../../src/protocol/webview';
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
