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

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
