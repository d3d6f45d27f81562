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
import { instrumentation, parameters, sampleAnalysis, spec } from './sample';

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
    const a = await b.analyze(text, analyzeOptions(u, b.info.spec.nLayer));
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
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(states));
  await b.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
