// src/tools/cli/: `npm run cli`, the core from a terminal: inspect a model folder, tokenize or analyze text (`node dist/cli.js --help`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../core/tokenizer/tokenizer';
import { errorMessage, LensError } from '../../core/common/errors';
import type { Analysis, AnalyzeOptions, InstrumentationReport, ModelSpec, ParameterBreakdown, ParameterGroup, TokenInfo } from '../../protocol/analysis';
import { foundCount } from '../../protocol/analysis';
import { WorkerClient } from '../../worker/client';
import type { Logger } from '../../core/common/logger';
import { downloadCommand } from './download';
import { whyCommand, WHY_USAGE } from './why';
import { intOption, parseOptions, UsageError } from './args';
import { architectureOf, readConfig, specFromConfig, type ModelConfig } from '../../core/model/folder';

export const USAGE = `LLM Lens command line: the same core as the extension.

Usage:
  llm-lens inspect <modelFolder> [--json] [--no-graph]
      The model's spec, its parameter breakdown and what graph instrumentation found.
      --no-graph reads only config.json and tokenizer.json (the architecture's formula for the parameters).
  llm-lens analyze <modelFolder> (--text "..." | --file F) [--top-k K] [--max-tokens N] [--json]
      Tokens, the model's top-k next tokens at each position with the surprisal of the token
      that actually follows, and a per-layer summary. --json prints the whole analysis.
  llm-lens tokenize <modelFolder | tokenizer.json> (--text "..." | --file F) [--json]
      Tokens with ids, bytes and UTF-16 spans.
${WHY_USAGE}

  llm-lens download <owner/name> [...]
      Fetches a GPT-2 or Llama-family ONNX model from the Hugging Face hub (download --help).

Options:
  --json            machine-readable output on stdout
  --top-k K         next-token candidates per position (default 5)
  --max-tokens N    refuse longer texts (default 1024)
  --threads N       onnxruntime-web threads in the worker (default 1)
  --onnx FILE       the ONNX file in the folder to read, e.g. onnx/model_q4.onnx (default onnx/model.onnx)
  -h, --help        this help

Run through npm: npm run cli -- inspect models/lens-tiny
Errors print one line on stderr and exit with status 1 (2 for a usage error).`;

export { UsageError };

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** A progress line replacing the previous one (a terminal only). */
  status?(s: string): void;
}

export interface CliOptions {
  json: boolean;
  text?: string;
  file?: string;
  topK: number;
  maxTokens: number;
  threads: number;
  noGraph: boolean;
  /** The ONNX file in the folder, e.g. onnx/model_q4.onnx. */
  onnx?: string;
}

export interface ParsedArgs {
  command: 'inspect' | 'analyze' | 'tokenize' | 'help';
  target?: string;
  options: CliOptions;
}

export function parseCli(argv: string[]): ParsedArgs {
  const parsed = parseOptions(argv, {
    json: { type: 'boolean', default: false },
    text: { type: 'string' },
    file: { type: 'string' },
    'top-k': { type: 'string' },
    'max-tokens': { type: 'string' },
    threads: { type: 'string' },
    onnx: { type: 'string' },
    'no-graph': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const { values, positionals } = parsed;
  const int = (name: string, v: string | undefined, def: number, min: number, max: number) => intOption(name, v, min, max) ?? def;
  const options: CliOptions = {
    json: values.json ?? false,
    text: values.text,
    file: values.file,
    topK: int('top-k', values['top-k'], 5, 1, 100),
    maxTokens: int('max-tokens', values['max-tokens'], 1024, 1, 1 << 20),
    threads: int('threads', values.threads, 1, 1, 16),
    noGraph: values['no-graph'] ?? false,
    onnx: values.onnx,
  };
  const [command, target, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help', options };
  if (command !== 'inspect' && command !== 'analyze' && command !== 'tokenize') throw new UsageError(`unknown command "${command}"`);
  if (!target) throw new UsageError(`${command} needs a model folder`);
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (command !== 'inspect') {
    if ((options.text === undefined) === (options.file === undefined)) throw new UsageError(`${command} needs exactly one of --text or --file`);
  } else if (options.text !== undefined || options.file !== undefined) {
    throw new UsageError('inspect takes no --text or --file');
  }
  return { command, target, options };
}

export function readInput(o: CliOptions): string {
  if (o.text !== undefined) return o.text;
  try {
    return fs.readFileSync(o.file!, 'utf8');
  } catch (e) {
    throw new LensError('fileNotFound', `Cannot read ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
}

/** Token text as a terminal can show it: quoted, with control, bidi and invisible characters escaped. */
export function showToken(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Left-aligned text columns; numbers right-aligned. */
export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

function tokenizerPath(target: string): string {
  if (fs.existsSync(target) && fs.statSync(target).isFile()) return target;
  const p = path.join(target, 'tokenizer.json');
  if (!fs.existsSync(target)) throw new LensError('modelNotFound', `No model folder at ${target}.`);
  if (!fs.existsSync(p)) throw new LensError('missingFile', `${target} has no tokenizer.json.`);
  return p;
}

export function tokenizeCommand(target: string, o: CliOptions, io: CliIo): void {
  const tok = Tokenizer.fromFile(tokenizerPath(target));
  const text = readInput(o);
  const t0 = performance.now();
  const tokens = tok.encode(text);
  const ms = performance.now() - t0;
  if (o.json) {
    io.out(JSON.stringify({ vocabSize: tok.vocabSize, specialTokens: tok.specialTokens(), tokens, ms }, null, 1));
    return;
  }
  io.out(`${tokens.length} tokens, ${Buffer.byteLength(text)} bytes, ${text.length} UTF-16 units (${ms.toFixed(1)} ms)\n`);
  io.out(tokenTable(tokens));
}

export function tokenTable(tokens: TokenInfo[]): string {
  return table(
    tokens.map((t) => [t.index, t.id, `${t.start}-${t.end}`, showToken(t.text) + (t.partial ? ' (partial)' : ''), t.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')]),
    ['#', 'id', 'span', 'text', 'bytes'],
  );
}

/** What `inspect` shows; the parameters and instrumentation come from the graph when the core reads it. */
export interface InspectReport {
  spec: ModelSpec;
  parameters: ParameterBreakdown;
  /** Where the parameter figures come from. */
  parameterSource: 'graph' | 'config formula';
  instrumentation?: InstrumentationReport;
  notes: string[];
}

/**
 * The parameter formula per role, from the config alone: GPT-2 (d = n_embd, V = vocab, P = positions, learned
 * positions, fused q/k/v with biases, a 4d MLP, LayerNorms) or the Llama family (grouped key/value heads, no position
 * table, a gated MLP of width m, RMSNorms; qwen2 adds q/k/v biases), as src/core/onnx/parameters.ts counts the graph.
 */
export function formulaBreakdown(c: Pick<ModelConfig, 'modelType' | 'vocabSize' | 'nCtx' | 'dModel' | 'nLayer' | 'nHead' | 'nKvHeads' | 'headDim' | 'tieWordEmbeddings' | 'raw'>): ParameterBreakdown {
  const { vocabSize: V, nCtx: P, dModel: d, nLayer: L } = c;
  const llama = architectureOf(c.modelType) === 'llama';
  const groups: ParameterGroup[] = [{ role: 'tokenEmbedding', weights: V * d, biases: 0, formula: 'V·d', tensors: [llama ? 'embed_tokens' : 'wte'] }];
  if (!llama) groups.push({ role: 'positionEmbedding', weights: P * d, biases: 0, formula: 'P·d', tensors: ['wpe'] });
  const inner = typeof c.raw.n_inner === 'number' ? c.raw.n_inner : 4 * d;
  const m = typeof c.raw.intermediate_size === 'number' ? c.raw.intermediate_size : 0;
  const { nHead: H, nKvHeads: K, headDim: h } = c;
  const qkvBias = c.modelType === 'qwen2';
  for (let l = 0; l < L; l++) {
    if (llama) {
      const at = `layers.${l}.self_attn`;
      groups.push({ role: 'attention', layer: l, weights: 2 * d * H * h + 2 * d * K * h, biases: qkvBias ? (H + 2 * K) * h : 0, formula: qkvBias ? '2d·H·h_d + 2d·H_kv·h_d + (H + 2H_kv)·h_d' : '2d·H·h_d + 2d·H_kv·h_d', tensors: [`${at}.q_proj`, `${at}.k_proj`, `${at}.v_proj`, `${at}.o_proj`] });
      groups.push({ role: 'mlp', layer: l, weights: 3 * d * m, biases: 0, formula: '3d·m', tensors: [`layers.${l}.mlp.gate_proj`, `layers.${l}.mlp.up_proj`, `layers.${l}.mlp.down_proj`] });
      groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 0, formula: '2d', tensors: [`layers.${l}.input_layernorm`, `layers.${l}.post_attention_layernorm`] });
    } else {
      groups.push({ role: 'attention', layer: l, weights: 4 * d * d, biases: 4 * d, formula: '4d² + 4d', tensors: [`h.${l}.attn.c_attn`, `h.${l}.attn.c_proj`] });
      groups.push({ role: 'mlp', layer: l, weights: 2 * d * inner, biases: inner + d, formula: inner === 4 * d ? '8d² + 5d' : '2d·i + i + d', tensors: [`h.${l}.mlp.c_fc`, `h.${l}.mlp.c_proj`] });
      groups.push({ role: 'norm', layer: l, weights: 2 * d, biases: 2 * d, formula: '4d', tensors: [`h.${l}.ln_1`, `h.${l}.ln_2`] });
    }
  }
  groups.push(llama ? { role: 'norm', weights: d, biases: 0, formula: 'd', tensors: ['norm'] } : { role: 'norm', weights: d, biases: d, formula: '2d', tensors: ['ln_f'] });
  if (!c.tieWordEmbeddings) groups.push({ role: 'lmHead', weights: V * d, biases: 0, formula: 'V·d', tensors: ['lm_head'] });
  const weights = groups.reduce((a, g) => a + g.weights, 0);
  const biases = groups.reduce((a, g) => a + g.biases, 0);
  return { total: weights + biases, weights, biases, groups, tiedLmHead: c.tieWordEmbeddings };
}

/** inspect without the graph: config.json, tokenizer.json and the file's size. */
export function inspectFromConfig(folder: string, onnxFile = path.join('onnx', 'model.onnx')): InspectReport {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw new LensError('modelNotFound', `No model folder at ${folder}.`);
  // The loader's own reading: the same model types, names and refusals as a load (a gpt2 or Llama-family config).
  const c = readConfig(path.join(folder, 'config.json'));
  const tok = Tokenizer.fromFile(tokenizerPath(folder));
  const notes: string[] = [];
  if (tok.vocabSize > c.vocabSize) notes.push(`The tokenizer has ${tok.vocabSize} tokens but the config says vocab_size ${c.vocabSize}.`);
  if (architectureOf(c.modelType) === 'llama' && typeof c.raw.intermediate_size !== 'number') notes.push('config.json has no intermediate_size: the MLP is counted as 0 (the graph says its width).');
  const sp = tok.specialTokens();
  const onnxPath = path.join(folder, onnxFile);
  const fileBytes = fs.existsSync(onnxPath) ? fs.statSync(onnxPath).size : 0;
  if (!fileBytes) notes.push(`${onnxPath} is missing.`);
  const fim = sp.fimPrefix !== undefined && sp.fimMiddle !== undefined && sp.fimSuffix !== undefined ? { prefix: sp.fimPrefix, middle: sp.fimMiddle, suffix: sp.fimSuffix } : undefined;
  const spec = specFromConfig(c, { name: path.basename(path.resolve(folder)), source: path.resolve(folder), fileBytes }, { eosTokenId: c.eosTokenId ?? sp.eos, fim });
  return { spec, parameters: formulaBreakdown(c), parameterSource: 'config formula', notes };
}

const ROLE_NAMES: Record<ParameterGroup['role'], string> = {
  tokenEmbedding: 'token embeddings',
  positionEmbedding: 'position embeddings',
  attention: 'attention',
  mlp: 'MLP',
  norm: 'norms',
  lmHead: 'LM head',
  other: 'other',
};

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function formatInspect(r: InspectReport): string {
  const s = r.spec;
  const p = r.parameters;
  const lines = [
    `${s.name} (${s.modelType}) from ${s.source}`,
    `  vector dimensions d  ${s.dModel}`,
    `  layers               ${s.nLayer}`,
    `  heads                ${s.nHead} x ${s.headDim} dims${s.nKvHeads !== s.nHead ? ` (${s.nKvHeads} key/value heads, each shared by ${s.nHead / s.nKvHeads} query heads)` : ''}`,
    `  context              ${s.nCtx} positions`,
    `  vocabulary           ${s.vocabSize} tokens`,
    `  end of text          ${s.eosTokenId ?? 'none'}`,
    `  fill-in-the-middle   ${s.fim ? `prefix ${s.fim.prefix}, middle ${s.fim.middle}, suffix ${s.fim.suffix}` : 'no'}`,
    `  model file           ${s.fileBytes ? `${(s.fileBytes / 1048576).toFixed(1)} MiB` : 'missing'}`,
    '',
    `Parameters: ${p.total.toLocaleString('en-US')} (${formatCount(p.total)}): ${p.weights.toLocaleString('en-US')} weights, ${p.biases.toLocaleString('en-US')} biases; LM head ${p.tiedLmHead ? 'tied to the token embeddings (counted once)' : 'separate'}; from the ${r.parameterSource}.`,
  ];
  if (p.formula) {
    const same = p.formulaValue === undefined || p.formulaValue === p.total;
    lines.push(`${s.architecture === 'llama' ? 'Llama-family' : 'GPT-2'} formula: ${p.formula}${p.formulaValue !== undefined ? ` = ${p.formulaValue.toLocaleString('en-US')}` : ''}${same ? '' : ` (differs from the graph's count by ${(p.total - p.formulaValue!).toLocaleString('en-US')})`}`);
  }
  if (p.constants?.tensors) lines.push(`Not counted: ${p.constants.tensors} constant tensors (${p.constants.elements.toLocaleString('en-US')} elements: masks, shapes, scalars).`);
  // By role, layers summed; then one line per layer.
  const byRole = new Map<string, { weights: number; biases: number; formula?: string; layers: number }>();
  for (const g of p.groups) {
    const key = ROLE_NAMES[g.role] + (g.layer === undefined && g.role === 'norm' ? ' (final)' : '');
    const e = byRole.get(key) ?? { weights: 0, biases: 0, formula: g.formula, layers: 0 };
    e.weights += g.weights;
    e.biases += g.biases;
    if (g.layer !== undefined) e.layers++;
    byRole.set(key, e);
  }
  lines.push(
    table(
      [...byRole].map(([k, e]) => [k, e.weights + e.biases, e.weights, e.biases, `${((100 * (e.weights + e.biases)) / p.total).toFixed(1)}%`, e.layers ? `${e.layers} x (${e.formula ?? '?'})` : (e.formula ?? '')]),
      ['role', 'total', 'weights', 'biases', 'share', 'formula'],
    ),
  );
  const layers = [...new Set(p.groups.filter((g) => g.layer !== undefined).map((g) => g.layer!))];
  if (layers.length) {
    const per = (l: number, role: ParameterGroup['role']) => p.groups.filter((g) => g.layer === l && g.role === role).reduce((a, g) => a + g.weights + g.biases, 0);
    lines.push('', table(layers.map((l) => [l, per(l, 'attention'), per(l, 'mlp'), per(l, 'norm'), per(l, 'other')]), ['layer', 'attention', 'MLP', 'norms', 'other']));
  }
  lines.push('', 'Instrumentation:');
  const ins = r.instrumentation;
  if (!ins) {
    lines.push('  not run (the graph was not read).');
  } else {
    lines.push(
      `  token embedding      ${ins.tokenEmbedding ?? 'NOT FOUND'}`,
      `  position embedding   ${ins.positionEmbedding ?? (s.architecture === 'llama' ? 'none: rotary positions inside attention' : 'NOT FOUND')}`,
      `  layer inputs         ${ins.layerInputs.length} of ${s.nLayer}${ins.layerInputs.length ? ` (${ins.layerInputs[0]} ...)` : ''}`,
      `  attention softmax    ${foundCount(ins.attentionProbs)} of ${s.nLayer}${foundCount(ins.attentionProbs) ? ` (${ins.attentionProbs.find(Boolean)} ...)` : ''}`,
      `  final norm           ${ins.finalNorm ?? 'NOT FOUND'}${ins.layerNorm === 'rms' ? ' (RMS norms: no mean subtracted, no bias)' : ''}`,
      `  LM head              ${ins.lmHead ?? 'NOT FOUND'}${ins.lmHeadTied === 'same' ? ' (the token embedding, tied)' : ins.lmHeadTied === 'copy' ? ' (a transposed copy of the token embedding, tied)' : ins.lmHeadTied === 'declared' ? ' (quantized; tied to the token embedding, as config.json says)' : ''}`,
    );
    for (const m of ins.missing) lines.push(`  missing: ${m}`);
  }
  for (const n of r.notes) lines.push(`Note: ${n}`);
  return lines.join('\n');
}

/** A probability readable at any size: 0.42, 0.031, 2.1e-5. */
export function formatProb(p: number): string {
  return p >= 0.1 ? p.toFixed(2) : p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** The mean of each row (e.g. a layer's norms over tokens). */
function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function formatAnalysis(a: Analysis): string {
  const T = a.tokens.length;
  const lines: string[] = [];
  const bits = a.predictions.map((p) => p.actual?.surprisalBits).filter((b): b is number => b !== undefined);
  const avg = mean(bits);
  lines.push(
    `${a.model.name}: ${T} tokens; tokenize ${a.timings.tokenizeMs.toFixed(1)} ms, run ${a.timings.runMs.toFixed(1)} ms, reduce ${a.timings.reduceMs.toFixed(1)} ms`,
    bits.length ? `Surprisal of the actual next token: mean ${avg.toFixed(2)} bits/token (perplexity ${Math.pow(2, avg).toFixed(1)}) over ${bits.length} predictions` : 'One token: nothing follows it to predict.',
    '',
    'Tokens and predictions (the actual next token: its probability, surprisal and rank; then the top-k):',
  );
  lines.push(
    table(
      a.tokens.map((t, i) => {
        const p = a.predictions[i];
        const next = a.tokens[i + 1];
        return [
          t.index,
          t.id,
          `${t.start}-${t.end}`,
          showToken(t.text),
          next ? showToken(next.text) : '',
          p?.actual ? formatProb(p.actual.prob) : '',
          p?.actual ? p.actual.surprisalBits.toFixed(2) : '',
          p?.actual ? p.actual.rank : '',
          (p?.top ?? []).map((c) => `${showToken(c.text)} ${formatProb(c.prob)}`).join(', '),
        ];
      }),
      ['#', 'id', 'span', 'token', 'next', 'p(next)', 'bits', 'rank', 'top-k'],
    ),
  );
  // Layer summary: how big the residual stream is, how much each layer turns it, and what the
  // logit lens reads at the last token.
  lines.push('', 'Layers (means over tokens; logit lens at the last token):');
  const L = a.hiddenNorms.length - 1;
  const rows: (string | number)[][] = [];
  for (let l = 0; l <= L; l++) {
    const lens = a.logitLens[l]?.[T - 1]?.[0];
    rows.push([
      l < L ? `${l}` : 'out',
      mean(a.hiddenNorms[l] ?? []).toFixed(2),
      l < L && a.layerCosine[l] ? mean(a.layerCosine[l]).toFixed(3) : '',
      lens ? `${showToken(lens.text)} ${formatProb(lens.prob)}` : '',
    ]);
  }
  lines.push(table(rows, ['layer', 'mean |h| in', 'mean cos(out, in)', 'logit lens top-1']));
  return lines.join('\n');
}

const stderrLogger = (verbose: boolean): Logger => ({
  trace() {},
  debug() {},
  info: (m) => verbose && process.stderr.write(`[worker] ${m}\n`),
  warn: (m) => verbose && process.stderr.write(`[worker] ${m}\n`),
  error: (m) => verbose && process.stderr.write(`[worker] ${m instanceof Error ? m.stack : m}\n`),
});

/** The worker bundle beside this one (dist/worker.js), with the onnxruntime-web wasm files in dist/. */
function startWorker(threads: number): WorkerClient {
  const dir = __dirname;
  const file = path.join(dir, 'worker.js');
  if (!fs.existsSync(file)) throw new LensError('missingFile', `${file} is missing; run "npm run build".`);
  return new WorkerClient(file, { wasmDir: dir, numThreads: threads }, stderrLogger(!!process.env.LLM_LENS_DEBUG));
}

export async function inspectCommand(folder: string, o: CliOptions, io: CliIo): Promise<void> {
  if (o.noGraph) {
    const report = inspectFromConfig(folder, o.onnx);
    io.out(o.json ? JSON.stringify(report, null, 1) : formatInspect(report));
    return;
  }
  const client = startWorker(o.threads);
  try {
    // Loading (not the worker's session-less 'inspect') runs the instrumented graph once on 3 tokens: a softmax that
    // is not [batch, heads, q, k] in practice is reported missing rather than promised.
    const info = await client.request('loadModel', { folder: path.resolve(folder), onnxFile: o.onnx });
    const report: InspectReport = { ...info, parameterSource: 'graph', notes: ['instrumentation checked by one run of the instrumented graph (3 tokens)'] };
    io.out(o.json ? JSON.stringify(report, null, 1) : formatInspect(report));
  } finally {
    await client.dispose();
  }
}

export async function analyzeCommand(folder: string, o: CliOptions, io: CliIo): Promise<void> {
  const text = readInput(o);
  const client = startWorker(o.threads);
  try {
    await client.request('loadModel', { folder: path.resolve(folder), onnxFile: o.onnx });
    const options: AnalyzeOptions = { topK: o.topK, maxTokens: o.maxTokens };
    const a = await client.request('analyze', { text, options });
    // Matrices hold Float32Arrays: written as arrays of numbers.
    io.out(o.json ? JSON.stringify(a, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)) : formatAnalysis(a));
  } finally {
    await client.dispose();
  }
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  // download has its own options and progress output (src/tools/cli/download.ts).
  if (argv[0] === 'download') return downloadCommand(argv.slice(1), io);
  // why has its own options (src/tools/cli/why.ts).
  if (argv[0] === 'why' && !argv.includes('--help') && !argv.includes('-h')) return whyCommand(argv.slice(1), io, startWorker);
  try {
    const args = parseCli(argv);
    switch (args.command) {
      case 'help':
        io.out(USAGE);
        return 0;
      case 'tokenize':
        tokenizeCommand(args.target!, args.options, io);
        return 0;
      case 'inspect':
        await inspectCommand(args.target!, args.options, io);
        return 0;
      case 'analyze':
        await analyzeCommand(args.target!, args.options, io);
        return 0;
    }
  } catch (e) {
    const msg = errorMessage(e);
    io.err(`llm-lens: ${msg.split('\n')[0]}`);
    if (process.env.LLM_LENS_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module && path.basename(__filename) === 'cli.js') {
  // `llm-lens analyze ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const io: CliIo = {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
    status: process.stderr.isTTY ? (s) => process.stderr.write(`\r${s}\x1b[K`) : undefined,
  };
  main(process.argv.slice(2), io).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`llm-lens: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
