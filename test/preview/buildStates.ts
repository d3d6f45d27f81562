// Dev-only: builds analysis / model-card view states the way the host does, from the sample
// Analysis (or, with --real, from the real worker and model), and writes them as JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeOptions, defaultUi, toPanelAnalysis } from '../../src/host/panelData';
import { analysisStrings, modelCardStrings } from '../../src/host/panelStrings';
import { analysisPageState } from '../../src/tools/preview/panelHarness';
import { modelCard } from '../../src/host/modelCardPanel';
import type { Analysis, AnalyzeOptions } from '../../src/protocol/analysis';
import type { AnalysisState, AnalysisUi, ModelCardState } from '../../src/protocol/webview';
import type { ModelInfo } from '../../src/protocol/worker';
import { instrumentation, llamaInstrumentation, llamaParameters, llamaSpec, parameters, sampleAnalysis, spec } from './sample';
import { inspectModel } from '../../src/core/session/modelSession';
import { env, setPreviewLanguage } from '../../src/tools/preview/vscodeStub';
import { whyKey } from '../../src/protocol/webview';
import type { Intervention } from '../../src/protocol/why';
import { WHY_TEXT, sampleOcclusion, sampleWhy, whyPosition } from './whySample';

const root = path.resolve(__dirname, '../..');
const out = process.argv[2] ?? path.join(root, 'out/preview/states.json');
const real = process.argv.includes('--real');

type Analyze = (text: string, o: AnalyzeOptions) => Promise<Analysis>;

async function backend(): Promise<{ info: ModelInfo; analyze: Analyze; close(): Promise<void> }> {
  if (!real) return { info: { spec, parameters: parameters(), instrumentation }, analyze: async (t, o) => sampleAnalysis(t, o), close: async () => {} };
  const { WorkerClient } = await import('../../src/worker/client');
  const { silentLogger } = await import('../../src/core/common/logger');
  const dist = path.join(root, 'dist');
  const client = new WorkerClient(path.join(dist, 'worker.js'), { wasmDir: dist, numThreads: 1 }, silentLogger);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const req = client.request.bind(client) as (m: string, p: unknown) => Promise<any>;
  const info = (await req('loadModel', { folder: path.join(root, 'models/lens-tiny') })) as ModelInfo;
  return { info, analyze: (text, options) => req('analyze', { text, options }), close: () => client.dispose() };
}

async function main() {
  const b = await backend();
  const states: Record<string, AnalysisState | ModelCardState> = {};
  const analysisState = async (text: string, ui: Partial<AnalysisUi>, label: string): Promise<AnalysisState> => {
    const u = { ...defaultUi(), ...ui };
    const t0 = Date.now();
    // The preview page switches tabs without a host to ask for the PCA map later: every state carries it.
    const a = await b.analyze(text, { ...analyzeOptions(u, b.info.spec.nLayer), pca: true });
    const ms = Date.now() - t0;
    const data = await toPanelAnalysis(a, 1, u.layer, u.head);
    console.log(`${label}: ${a.tokens.length} tokens, analyze ${ms} ms, payload ${(JSON.stringify(data).length / 1024).toFixed(0)} KiB`);
    return analysisPageState(data, u, label);
  };
  const code = fs.readFileSync(path.join(root, 'samples/greet.ts'), 'utf8');
  const fn = code.slice(code.indexOf('/** Greets'), code.indexOf('export function fibonacci'));
  states.code = await analysisState(fn, { chosen: 12 }, 'greet.ts:8–17');
  states.codeLayer2 = await analysisState(fn, { chosen: 12, tab: 'attention', layer: 2, head: 1 }, 'greet.ts:8–17');
  states.hostile = await analysisState('<img src=x onerror=alert(1)></script>\t"naïve" café 👩‍💻 \u202Eevil\u202C\r\nend\u0007', { chosen: 3, colorBy: 'surprisal', showIds: true }, 'hostile.txt:1–2');
  const english = fs.readFileSync(path.join(root, 'samples/english.md'), 'utf8');
  let long = '';
  while (long.length < 2600) long += english;
  states.long = await analysisState(long, { chosen: 40 }, 'english.md:1–40');
  states.notice = {
    view: 'analysis',
    strings: analysisStrings(),
    locale: 'en',
    ui: defaultUi(),
    busy: false,
    ackSeq: 0,
    notice: { kind: 'error', message: 'The selection has 90,112 characters, more than 1024 tokens can hold. Select less text, or raise the limit in the setting "llmLens.analysis.maxTokens".', action: { label: 'Open Settings', command: 'openSettings' } },
  };
  states.card = { view: 'modelCard', strings: modelCardStrings(), locale: 'en', busy: false, card: modelCard({ ...b.info, folder: 'models/lens-tiny' }) };
  Object.assign(states, await llamaStates(fn));
  Object.assign(states, await whyStates());
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(states));
  await b.close();
}

/**
 * Llama-family states, in English and in pt-br: the card of the tiny qwen2 fixture as the core reads it (q/k/v biases,
 * 4 query heads on 2 key/value heads), and the card and attention tab of a sample with SmolLM2-135M's shape (9 on 3).
 */
async function llamaStates(text: string): Promise<Record<string, AnalysisState | ModelCardState>> {
  const qwen = inspectModel(path.join(root, 'test/fixtures/qwen2-tiny'));
  const qwenInfo: ModelInfo = { spec: qwen.spec, parameters: qwen.parameters, instrumentation: qwen.instrumentation };
  const smolInfo: ModelInfo = { spec: llamaSpec, parameters: llamaParameters(), instrumentation: llamaInstrumentation };
  const card = (info: ModelInfo, folder: string): ModelCardState => ({ view: 'modelCard', strings: modelCardStrings(), locale: env.language, busy: false, card: modelCard({ ...info, folder }) });
  const attention = async (): Promise<AnalysisState> => {
    const u = { ...defaultUi(), chosen: 12, tab: 'attention' as const, layer: 1, head: 4 };
    const a = sampleAnalysis(text, { ...analyzeOptions(u, llamaSpec.nLayer), pca: true }, llamaSpec);
    const data = await toPanelAnalysis(a, 1, u.layer, u.head);
    return { ...analysisPageState(data, u, 'greet.ts:8–17'), strings: analysisStrings(), locale: env.language };
  };
  const build = async (suffix: string) => ({
    [`qwenCard${suffix}`]: card(qwenInfo, 'test/fixtures/qwen2-tiny'),
    [`smolCard${suffix}`]: card(smolInfo, 'SmolLM2-135M'),
    [`smolAttention${suffix}`]: await attention(),
  });
  const english = await build('');
  setPreviewLanguage('pt-br', JSON.parse(fs.readFileSync(path.join(root, 'l10n/bundle.l10n.pt-br.json'), 'utf8')) as Record<string, string>);
  try {
    return { ...english, ...(await build('Pt')) };
  } finally {
    setPreviewLanguage('en');
  }
}

/**
 * The Why tab on "why Mary and not John": clean (dark, light, high contrast), with two parts switched off, while
 * occlusion runs, and in pt-br. The answers are hand-made (whySample.ts) in the shape of the worker's.
 */
async function whyStates(): Promise<Record<string, AnalysisState>> {
  const build = async (interventions: Intervention[], occlusion: 'done' | 'running' | 'none', model = spec): Promise<AnalysisState> => {
    const a0 = sampleAnalysis(WHY_TEXT, { pca: true }, model);
    const position = whyPosition(a0);
    const ui: AnalysisUi = { ...defaultUi(), tab: 'why', chosen: position, whyTargets: [' Mary', ' John', ' Mary Ann'].slice(0, interventions.length ? 2 : 3), whyInterventions: interventions, whyMode: 'zero' };
    const a = sampleAnalysis(WHY_TEXT, { ...analyzeOptions(ui, model.nLayer), pca: true }, model);
    const data = await toPanelAnalysis(a, 1, ui.layer, ui.head);
    const result = sampleWhy(a, position, interventions);
    const occ = occlusion === 'none' ? undefined : occlusion === 'running' ? { position, target: ui.whyTargets[0], running: true, cap: 256, progress: { done: 3, total: 8 } } : { position, target: ui.whyTargets[0], running: false, cap: 256, result: sampleOcclusion(a, position) };
    return { ...analysisPageState(data, ui, 'story.md:1'), strings: analysisStrings(), locale: env.language, why: { seq: 1, key: whyKey(ui), busy: false, result, occlusion: occ } };
  };
  const out: Record<string, AnalysisState> = {};
  out.whyTab = await build([], 'done');
  out.whyIntervened = await build([{ kind: 'head', layer: 3, head: 1, mode: 'zero' }, { kind: 'mlp', layer: 2, mode: 'mean' }], 'running');
  // SmolLM2-135M's shape: 30 layers of 9 heads in the grid and the bars.
  out.whySmol = await build([{ kind: 'head', layer: 17, head: 4, mode: 'mean' }], 'none', llamaSpec);
  setPreviewLanguage('pt-br', JSON.parse(fs.readFileSync(path.join(root, 'l10n/bundle.l10n.pt-br.json'), 'utf8')) as Record<string, string>);
  try {
    out.whyTabPt = await build([{ kind: 'head', layer: 3, head: 1, mode: 'zero' }], 'done');
  } finally {
    setPreviewLanguage('en');
  }
  return out;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
