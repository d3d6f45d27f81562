// src/tools/: developer tools, never in the VSIX (bench/, cli/, preview/). This module is `npm run bench`: side-by-side timings of the core on the default model, as a table or --json.
// Sections plug into a registry; each returns rows measured in this run, with ratios against an
// anchor measured in the same run (absolute times vary by +-30 % between runs on this machine).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Tokenizer } from '../../core/tokenizer/tokenizer';
import { defaultThreads } from '../../core/common/threads';
import { configureRuntime, createSession } from '../../core/runtime/web';
import type { RuntimeBackendChoice } from '../../protocol/worker';
import { silentLogger } from '../../core/common/logger';
import { WorkerClient } from '../../worker/client';
import { hoverSection } from './hover';
import { panelsSection } from './panels';
import { whySection } from './why';
import type { Analysis, AnalyzeOptions } from '../../protocol/analysis';
import { completionSection, type CompletionBenchOptions } from './completion';
import { loadedClient, loadOnnxruntimeNode, median, plainFeeds, prefixOfTokens, runtimeName, timeInTurn, timeMedian, toNodeTensors, type BenchContext, type BenchRow, type BenchSection } from './shared';
import { errorMessage } from '../../core/common/errors';
import { defaultUi, panelWantsPca } from '../../host/panelData';

// ---------------------------------------------------------------------------------------------
// Sections

const tokenizerSection: BenchSection = {
  id: 'tokenizer',
  title: 'Tokenizer throughput (same text for both; different vocabularies)',
  async run(ctx) {
    const text = ctx.bulkText;
    const mb = Buffer.byteLength(text) / 1e6;
    const tok = ctx.tokenizer();
    // gpt-tokenizer's GPT-2 encoding is the anchor (about 5.5 MB/s here, notes/performance-facts.md).
    const { encode: gptEncode } = (await import('gpt-tokenizer/encoding/r50k_base')) as typeof import('gpt-tokenizer/encoding/r50k_base');
    const noSpecial = { disallowedSpecial: new Set<string>() };
    const cold = (() => {
      const fresh = Tokenizer.fromFile(path.join(ctx.modelDir, 'tokenizer.json'));
      const t0 = performance.now();
      fresh.ids(text);
      return performance.now() - t0;
    })();
    const ours = await timeMedian(ctx.runs, () => tok.ids(text));
    const withSpans = await timeMedian(ctx.runs, () => tok.encode(text));
    const reference = await timeMedian(ctx.runs, () => gptEncode(text, noSpecial));
    const mbs = (ms: number) => mb / (ms / 1000);
    const ref = mbs(reference);
    const tokens = tok.ids(text).length;
    const t1024 = prefixOfTokens(tok, ctx.heldOutText, 1024).text;
    const n1024 = await timeMedian(ctx.runs * 4, () => tok.encode(t1024), 2);
    return [
      { name: 'gpt-tokenizer r50k_base (anchor)', value: ref, unit: 'MB/s', ratio: 1, ratioTo: 'gpt-tokenizer' },
      { name: 'Tokenizer.ids, warm', value: mbs(ours), unit: 'MB/s', ratio: mbs(ours) / ref, ratioTo: 'gpt-tokenizer' },
      { name: 'Tokenizer.encode (ids, bytes, spans), warm', value: mbs(withSpans), unit: 'MB/s', ratio: mbs(withSpans) / ref, ratioTo: 'gpt-tokenizer' },
      { name: 'Tokenizer.ids, cold (fresh instance, one pass)', value: mbs(cold), unit: 'MB/s', ratio: mbs(cold) / ref, ratioTo: 'gpt-tokenizer' },
      { name: 'bytes per token (lens-tiny vocabulary)', value: Buffer.byteLength(text) / tokens, unit: 'B' },
      { name: 'Tokenizer.encode of 1024 tokens, warm', value: n1024, unit: 'ms' },
    ];
  },
};

function workerAnalyze(client: WorkerClient, text: string, options: AnalyzeOptions): Promise<Analysis> {
  return client.request('analyze', { text, options });
}

/** Samples the process's RSS (main thread, worker and its WASM heap together) every few ms. */
function rssSampler(everyMs = 5): { stop(): { baseline: number; peak: number } } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { baseline, peak };
    },
  };
}

/** The largest gap between ticks of a 1 ms timer on this thread while `f` runs. */
export async function largestGap(f: () => Promise<unknown>): Promise<{ gapMs: number; delayMaxMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  try {
    await f();
    // Let both timers fire once more, so a block that ended with the reply is recorded by both.
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    clearInterval(timer);
    h.disable();
  }
  return { gapMs: gap, delayMaxMs: h.max / 1e6 };
}

const LENGTHS = [128, 512, 1024];

const analysisSection: BenchSection = {
  id: 'analysis',
  title: 'Analysis in the worker vs onnxruntime-node and onnxruntime-web on the plain graph, same thread count',
  perRuntime: true,
  async run(ctx) {
    const tok = ctx.tokenizer();
    const inputs = LENGTHS.map((n) => ({ n, ...prefixOfTokens(tok, ctx.heldOutText, n) }));
    // The PCA map as the panel asks for it on its default tab (without: only the embeddings tab draws it, and asks
    // for it from the kept run when shown). The map's cost stays in view: a 512-token row with it, and the later request.
    const pca = panelWantsPca(defaultUi());
    const options: AnalyzeOptions = { maxTokens: 1024, topK: 5, pca };
    const withPca: AnalyzeOptions = { ...options, pca: true };
    const pcaLabel = (on: boolean | undefined) => (on ? 'with the PCA map' : "no PCA map (the panel's default tab)");
    const full = inputs.find((i) => i.n === 512)!;

    // Worker side first, while RSS says what the worker costs (onnxruntime-node comes later).
    const rss = rssSampler();
    const client = await loadedClient(ctx);
    const loadMs = ctx.shared.get('loaded') as number;
    // One analysis of each length here (the RSS peak); their times are taken later, interleaved with the anchors.
    for (const input of inputs) await workerAnalyze(client, input.text, options);
    const longest = inputs[inputs.length - 1];
    let gap = { gapMs: 0, delayMaxMs: 0 };
    for (let i = 0; i < ctx.runs; i++) {
      const g = await largestGap(() => workerAnalyze(client, longest.text, options));
      gap = { gapMs: Math.max(gap.gapMs, g.gapMs), delayMaxMs: Math.max(gap.delayMaxMs, g.delayMaxMs) };
    }
    // What crosses to this thread: the reply's size, and what copying it costs here (a proxy for the
    // deserialisation that happens on the host's event loop).
    const reply = await workerAnalyze(client, longest.text, options);
    const replyMiB = Buffer.byteLength(JSON.stringify(reply)) / 2 ** 20;
    const cloneMs = await timeMedian(ctx.runs, () => structuredClone(reply));
    const spec = (await workerAnalyze(client, full.text, options)).model;
    const allLayers = Array.from({ length: spec.nLayer }, (_, i) => i);
    const fullOptions: AnalyzeOptions = { ...options, attentionLayers: allLayers, attentionThumbnails: true, chosenToken: full.ids.length - 1 };
    const fullMs = await timeMedian(ctx.runs, () => workerAnalyze(client, full.text, fullOptions));
    // Choosing another token: its vectors, neighbours and logit lens from the worker's last run, not a new one.
    const last = await workerAnalyze(client, full.text, options);
    const middle = Math.floor(full.ids.length / 2);
    const chosenMs = await timeMedian(ctx.runs, () => client.request('chosen', { runId: last.runId!, index: middle, topK: 5, neighbours: 8 }));
    const mem = rss.stop();

    // The anchors: onnxruntime-node and onnxruntime-web (on this thread, same thread count) running the plain model
    // file on the same ids. What the analysis adds over the plain pass is ours; what web costs over node is
    // WebAssembly's. The three are timed in turn, run by run, so that a slow moment of this noisy machine falls on
    // all three alike.
    const ort = loadOnnxruntimeNode();
    const session = await ort.InferenceSession.create(path.join(ctx.modelDir, 'onnx', 'model.onnx'), {
      intraOpNumThreads: ctx.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    configureRuntime(__dirname, ctx.threads);
    const webSession = await createSession(fs.readFileSync(path.join(ctx.modelDir, 'onnx', 'model.onnx')));
    const lens: number[] = [];
    const native: number[] = [];
    const web: number[] = [];
    /** Where the analysis's time goes, as the worker measured it (medians). */
    const profile: Analysis['timings'][] = [];
    /** The 512-token analysis with the map, timed in the same turns as the one without. */
    let eager = { ms: NaN, reduceMs: NaN };
    const medianTimings = (parts: Analysis['timings'][]): Analysis['timings'] => ({ tokenizeMs: median(parts.map((p) => p.tokenizeMs)), runMs: median(parts.map((p) => p.runMs)), reduceMs: median(parts.map((p) => p.reduceMs)) });
    try {
      for (const input of inputs) {
        // The input names and past shapes of the file, read from the onnxruntime-node session.
        const feeds = plainFeeds(session, input.ids);
        const nodeFeeds = toNodeTensors(ort, feeds);
        const parts: Analysis['timings'][] = [];
        const eagerParts: Analysis['timings'][] = [];
        const analyzeTimed = async () => parts.push((await workerAnalyze(client, input.text, options)).timings);
        const timed: (() => unknown)[] = [analyzeTimed, () => session.run(nodeFeeds), () => webSession.run(feeds)];
        if (input === full && !options.pca) timed.push(async () => eagerParts.push((await workerAnalyze(client, input.text, withPca)).timings));
        const [l, n, w, e] = await timeInTurn(ctx.runs, timed);
        profile.push(medianTimings(parts));
        if (e !== undefined) eager = { ms: e, reduceMs: medianTimings(eagerParts).reduceMs };
        lens.push(l);
        native.push(n);
        web.push(w);
        ctx.log(`${input.ids.length} tokens: worker analyze ${l.toFixed(1)} ms${e !== undefined ? ` (with the PCA map ${e.toFixed(1)} ms)` : ''}, onnxruntime-node ${n.toFixed(1)} ms, onnxruntime-web ${w.toFixed(1)} ms`);
      }
    } finally {
      await session.release();
      await webSession.release();
    }
    // The embeddings tab shown after an analysis without the map: the map of the input embeddings from that run. Timed
    // after the analyses with the map, so that the PCA's code is as warm here as in them.
    const kept = await workerAnalyze(client, full.text, options);
    const pcaMs = await timeMedian(ctx.runs, () => client.request('pca', { runId: kept.runId!, layer: -1 }));
    const rows: BenchRow[] = [{ name: 'load model in the worker (first request)', value: loadMs, unit: 'ms' }];
    // Issue #18's targets: what the analysis adds over the plain pass of the runtime it runs on.
    const plainOfRuntime = ctx.backend === 'native' ? native : web;
    const limit = ctx.backend === 'native' ? 1.6 : 1.3;
    inputs.forEach((input, i) => {
      rows.push({ name: `onnxruntime-node forward, ${input.ids.length} tokens`, value: native[i], unit: 'ms' });
      rows.push({ name: `onnxruntime-web forward (plain graph), ${input.ids.length} tokens`, value: web[i], unit: 'ms', ratio: web[i] / native[i], ratioTo: 'onnxruntime-node', note: 'what WebAssembly costs' });
      const own = lens[i] / plainOfRuntime[i];
      rows.push({
        name: `analysis, ${input.ids.length} tokens, ${pcaLabel(options.pca)}`,
        value: lens[i],
        unit: 'ms',
        ratio: own,
        ratioTo: `${runtimeName(ctx.backend)} plain pass`,
        ...(input.n === 512 ? { target: `<= ${limit}x`, ok: own <= limit } : {}),
        note: `${fmt(lens[i] / native[i])}x onnxruntime-node's plain pass`,
      });
      // The profile: tokenizing, the instrumented graph's run (the plain pass plus what the lens reads and reduces
      // in the graph), the reduction in JS, and the rest (messages between threads, scheduling).
      const p = profile[i];
      const rest = lens[i] - p.tokenizeMs - p.runMs - p.reduceMs;
      rows.push({ name: `  where it goes: instrumented graph run`, value: p.runMs, unit: 'ms', ratio: p.runMs / plainOfRuntime[i], ratioTo: 'plain pass', note: `tokenize ${fmt(p.tokenizeMs)} ms, reduce in JS ${fmt(p.reduceMs)} ms, messages and the rest ${fmt(rest)} ms` });
    });
    const i512 = inputs.indexOf(full);
    if (!options.pca) {
      rows.push({
        name: `analysis, ${full.ids.length} tokens, with the PCA map (the embeddings tab)`,
        value: eager.ms,
        unit: 'ms',
        ratio: eager.ms / plainOfRuntime[i512],
        ratioTo: `${runtimeName(ctx.backend)} plain pass`,
        note: `+${fmt(eager.ms - lens[i512])} ms over the row without it (timed in turn); reduce in JS ${fmt(eager.reduceMs)} ms vs ${fmt(profile[i512].reduceMs)} ms`,
      });
      rows.push({ name: `PCA map from the last run of ${full.ids.length} tokens (embeddings tab shown later, no new run)`, value: pcaMs, unit: 'ms', ratio: pcaMs / lens[i512], ratioTo: 'its analysis', note: 'worker request pca, input embeddings' });
    }
    rows.push({ name: `analysis, ${full.ids.length} tokens, all attention + thumbnails + chosen token, ${pcaLabel(fullOptions.pca)}`, value: fullMs, unit: 'ms', ratio: fullMs / plainOfRuntime[i512], ratioTo: `${runtimeName(ctx.backend)} plain pass` });
    rows.push({ name: `another token chosen in an analysis of ${full.ids.length} tokens (no new run)`, value: chosenMs, unit: 'ms', ratio: chosenMs / lens[i512], ratioTo: 'its analysis', note: 'vectors per layer, neighbours, logit lens in JS' });
    rows.push({ name: `largest event-loop gap, analyzing ${longest.ids.length} tokens`, value: gap.gapMs, unit: 'ms', target: '<= 16 ms', ok: gap.gapMs <= 16, note: `perf_hooks delay max ${gap.delayMaxMs.toFixed(1)} ms` });
    rows.push({ name: `reply of ${longest.ids.length} tokens as JSON`, value: replyMiB, unit: 'MiB' });
    rows.push({ name: `structuredClone of that reply on this thread`, value: cloneMs, unit: 'ms', note: 'what the host pays to receive it' });
    rows.push({ name: `peak RSS over baseline (worker on ${runtimeName(ctx.backend)}: load + analyses)`, value: (mem.peak - mem.baseline) / 2 ** 20, unit: 'MiB', note: `peak ${(mem.peak / 2 ** 20).toFixed(0)} MiB, process-wide, before any anchor loads` });
    return rows;
  },
};

// ---------------------------------------------------------------------------------------------
// Running and printing

/** Set from --quick / --positions before the sections run. */
const completionOptions: CompletionBenchOptions = { positions: 200 };

export const SECTIONS: BenchSection[] = [analysisSection, tokenizerSection, hoverSection, completionSection(() => completionOptions), panelsSection, whySection];

export function machine(): { cpu: string; cpus: number; node: string; platform: string; memoryGiB: number } {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model.trim() ?? 'unknown', cpus: cpus.length, node: process.version, platform: `${os.platform()} ${os.arch()}`, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function formatTable(results: { section: BenchSection; rows: BenchRow[]; error?: string }[]): string {
  const lines: string[] = [];
  for (const { section, rows, error } of results) {
    lines.push('', `## ${section.title}`);
    if (error) {
      lines.push(`  skipped: ${error}`);
      continue;
    }
    const cells = rows.map((r) => [
      r.name,
      `${fmt(r.value)} ${r.unit}`,
      r.ratio === undefined ? '' : `${fmt(r.ratio)}x${r.ratioTo ? ` ${r.ratioTo}` : ''}`,
      r.target ? `${r.target} ${r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED'}`.trim() : '',
      r.note ?? '',
    ]);
    const header = ['measure', 'value', 'ratio', 'target', 'note'];
    const w = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => c.map((x, i) => (i === 1 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ').trimEnd();
    lines.push(line(header), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line));
  }
  return lines.join('\n');
}

function readFirst(candidates: string[], maxBytes: number): { text: string; source: string } {
  for (const c of candidates) {
    if (fs.existsSync(c)) return { text: fs.readFileSync(c, 'utf8').slice(0, maxBytes), source: c };
  }
  throw new Error(`none of the benchmark texts exist: ${candidates.join(', ')}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string', default: '5' },
      model: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      positions: { type: 'string' },
      threads: { type: 'string' },
      backend: { type: 'string', default: 'both' },
    },
  });
  if (values.help) {
    console.log(`npm run bench [-- --json] [--only ${SECTIONS.map((s) => s.id).join(',')}] [--runs N] [--model folder] [--verbose] [--quick] [--positions N (completion, default 200; --quick 40)] [--threads N (default: the extension's auto, ${defaultThreads(os.cpus().length)} here)] [--backend both|web|native|auto (the worker's runtime; default both: the sections whose rows depend on it run once on onnxruntime-node, then again on onnxruntime-web, each in a process of its own)]`);
    return 0;
  }
  const root = path.resolve(__dirname, '..');
  const modelDir = path.resolve(values.model ?? path.join(root, 'models/lens-tiny'));
  const runs = Math.max(1, Number(values.runs) || 5);
  const threads = Math.max(1, Number(values.threads) || defaultThreads(os.cpus().length));
  if (values.backend === 'both') return bothRuntimes(values.json ?? false, values.only?.split(','));
  const backend = values.backend as RuntimeBackendChoice;
  if (!['web', 'native', 'auto'].includes(backend)) throw new Error(`--backend must be both, web, native or auto, not ${backend}`);
  completionOptions.positions = Math.max(1, Number(values.positions) || (values.quick ? 40 : 200));
  const nm = (p: string) => path.join(root, 'node_modules', p);
  // semver is one of the corpus's held-out packages: the model never saw it.
  const held = readFirst([nm('semver/classes/range.js'), nm('semver/classes/semver.js'), nm('typescript/lib/lib.es5.d.ts')], 1 << 20);
  const bulk = readFirst([nm('typescript/lib/lib.dom.d.ts')], 1 << 20);
  let tokenizer: Tokenizer | undefined;
  let client: WorkerClient | undefined;
  const log = (m: string) => {
    if (values.verbose) process.stderr.write(`  ${m}\n`);
  };
  const ctx: BenchContext = {
    root,
    modelDir,
    runs,
    heldOutText: held.text,
    heldOutSource: path.relative(root, held.source),
    bulkText: bulk.text,
    bulkSource: path.relative(root, bulk.source),
    tokenizer: () => (tokenizer ??= Tokenizer.fromFile(path.join(modelDir, 'tokenizer.json'))),
    client: () => (client ??= new WorkerClient(path.join(__dirname, 'worker.js'), { wasmDir: __dirname, numThreads: threads, backend }, silentLogger)),
    backend: 'web',
    threads,
    shared: new Map(),
    log,
  };
  const only = values.only?.split(',');
  const selected = SECTIONS.filter((s) => !only || only.includes(s.id));
  const m = machine();
  const info = await ctx.client().request('version', {});
  ctx.backend = info.backend;
  if (!values.json) {
    console.log(`LLM Lens benchmark, ${new Date().toISOString()}`);
    console.log(`machine: ${m.cpu}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}; ${threads} inference thread${threads === 1 ? '' : 's'} (onnxruntime-web and the native anchors alike)`);
    console.log(`model: ${path.relative(root, modelDir) || modelDir}; median of ${runs} runs after a warm-up; texts: ${ctx.heldOutSource} (held out), ${ctx.bulkSource} (1 MB)`);
    console.log(`worker runtime (--backend ${backend}): ${runtimeName(info.backend)} ${info.onnxruntimeVersion}, ${info.backendReason}; every "worker" row below ran on it`);
  }
  const results: { section: BenchSection; rows: BenchRow[]; error?: string }[] = [];
  try {
    for (const section of selected) {
      log(`running ${section.id}...`);
      try {
        results.push({ section, rows: await section.run(ctx) });
      } catch (e) {
        results.push({ section, rows: [], error: errorMessage(e) });
      }
    }
  } finally {
    await client?.dispose();
  }
  const titled = results.map((r) => (r.section.perRuntime ? { ...r, section: { ...r.section, title: `${r.section.title} [worker on ${runtimeName(ctx.backend)}]` } } : r));
  results.splice(0, results.length, ...titled);
  if (values.json) {
    console.log(JSON.stringify({ machine: m, model: modelDir, runs, threads, backend: ctx.backend, texts: { heldOut: ctx.heldOutSource, bulk: ctx.bulkSource }, sections: results.map((r) => ({ id: r.section.id, title: r.section.title, rows: r.rows, error: r.error })) }, null, 1));
  } else {
    console.log(formatTable(results));
  }
  return results.some((r) => r.error) ? 1 : 0;
}

/**
 * `--backend both`: this benchmark once with the worker on onnxruntime-node (every section), then once on
 * onnxruntime-web (the sections whose rows depend on the runtime), each in a process of its own so that peak memory
 * is each runtime's own. Same arguments otherwise; with --json, one object holding both runs.
 */
function bothRuntimes(json: boolean, only: string[] | undefined): number {
  const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--backend') && all[i - 1] !== '--backend' && !a.startsWith('--only') && all[i - 1] !== '--only');
  const wanted = SECTIONS.filter((s) => !only || only.includes(s.id));
  const runs: { backend: string; only: string[] }[] = [
    { backend: 'native', only: wanted.map((s) => s.id) },
    { backend: 'web', only: wanted.filter((s) => s.perRuntime).map((s) => s.id) },
  ].filter((r) => r.only.length);
  const outputs: unknown[] = [];
  let code = 0;
  for (const run of runs) {
    const child = spawnSync(process.execPath, [__filename, ...args, '--backend', run.backend, '--only', run.only.join(',')], { stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 });
    if (child.status !== 0) code = child.status ?? 1;
    if (json && child.stdout) outputs.push(JSON.parse(child.stdout));
    if (!json && run !== runs[runs.length - 1]) console.log('');
  }
  if (json) console.log(JSON.stringify({ runs: outputs }, null, 1));
  return code;
}

if (require.main === module && path.basename(__filename) === 'bench.js') {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`bench: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
