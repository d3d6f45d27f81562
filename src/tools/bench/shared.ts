// What every bench section shares: the row and section shapes, the run's context, and small helpers. The
// sections (completion.ts, hover.ts, panels.ts, why.ts) and main.ts import this module, never each other.
import { createRequire } from 'node:module';
import type { Tokenizer } from '../../core/tokenizer/tokenizer';
import type { Tensor } from '../../core/runtime/runtime';
import type { WorkerClient } from '../../worker/client';

export interface BenchRow {
  /** What was measured, e.g. "analysis, 512 tokens". */
  name: string;
  value: number;
  unit: string;
  /** value / anchor value, measured in the same run. */
  ratio?: number;
  /** What the ratio is against, e.g. "onnxruntime-node". */
  ratioTo?: string;
  /** The target from the issue, e.g. "<= 3x". */
  target?: string;
  /** Whether the target is met, when there is one. */
  ok?: boolean;
  note?: string;
}

export interface BenchSection {
  id: string;
  title: string;
  /** Its rows depend on the worker's runtime: with `--backend both` it runs once per runtime. */
  perRuntime?: boolean;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export interface BenchContext {
  root: string;
  modelDir: string;
  runs: number;
  /** Held-out source text (a package the model never saw), for analysis inputs. */
  heldOutText: string;
  heldOutSource: string;
  /** About 1 MB of TypeScript declarations, for tokenizer throughput. */
  bulkText: string;
  bulkSource: string;
  tokenizer(): Tokenizer;
  /** The inference worker from dist/, started on first use, with `threads` threads. */
  client(): WorkerClient;
  /** The runtime the worker runs on (what it chose, after any fallback). */
  backend: 'web' | 'native';
  /** Threads for onnxruntime-web and for every native anchor alike (--threads; default: the extension's "auto"). */
  threads: number;
  /** Shared results between sections (e.g. analysis times for later ratios). */
  shared: Map<string, unknown>;
  log(message: string): void;
}

/** Median of n timed runs after `warmup` untimed ones. */
export async function timeMedian(n: number, f: () => unknown, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** The median of `xs` (sorted in place). */
export function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  return xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2;
}

/** Medians of n timed runs of each of `fs`, timed in turn (f0, f1, ..., f0, f1, ...) after one untimed round. */
export async function timeInTurn(n: number, fs: (() => unknown)[]): Promise<number[]> {
  const t: number[][] = fs.map(() => []);
  for (let round = 0; round <= n; round++) {
    for (const [i, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      if (round > 0) t[i].push(performance.now() - t0);
    }
  }
  return t.map(median);
}

/** The first `n` tokens of `text` as a text that encodes to exactly those tokens (or as close as BPE allows). */
export function prefixOfTokens(tok: Tokenizer, text: string, n: number): { text: string; ids: number[] } {
  const tokens = tok.encode(text);
  if (tokens.length < n) throw new Error(`the benchmark text has only ${tokens.length} tokens, fewer than ${n}`);
  // Spans start on character boundaries, so the cut is well formed; BPE at the cut may differ: re-encode.
  for (let cut = n; cut > 0; cut--) {
    const prefix = cut < tokens.length ? text.slice(0, tokens[cut].start) : text;
    const ids = tok.ids(prefix);
    if (ids.length <= n) return { text: prefix, ids };
  }
  return { text: '', ids: [] };
}

/** The worker with the benchmark's model loaded (once per run, shared by sections). */
export async function loadedClient(ctx: BenchContext): Promise<WorkerClient> {
  const client = ctx.client();
  if (!ctx.shared.has('loaded')) {
    const t0 = performance.now();
    await workerLoad(client, ctx.modelDir);
    ctx.shared.set('loaded', performance.now() - t0);
  }
  return client;
}

function workerLoad(client: WorkerClient, folder: string): Promise<unknown> {
  return client.request('loadModel', { folder });
}

/** The package a worker runtime is. */
export function runtimeName(backend: 'web' | 'native'): string {
  return backend === 'native' ? 'onnxruntime-node' : 'onnxruntime-web';
}

/** onnxruntime-node, loaded at run time from node_modules (a native addon esbuild cannot bundle). */
export function loadOnnxruntimeNode(): typeof import('onnxruntime-node') {
  return createRequire(__filename)('onnxruntime-node') as typeof import('onnxruntime-node');
}

type Ort = ReturnType<typeof loadOnnxruntimeNode>;
type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/** onnxruntime-node tensors for plain ones. */
export function toNodeTensors(ort: Ort, feeds: Record<string, Tensor>): Record<string, InstanceType<Ort['Tensor']>> {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
}

/** Feeds for a GPT-2 export, as plain tensors: ids, an all-ones mask, positions, and empty past key/values. */
export function plainFeeds(session: OrtSession, ids: number[]): Record<string, Tensor> {
  const T = ids.length;
  const feeds: Record<string, Tensor> = {};
  const meta = new Map((session.inputMetadata as unknown as { name: string; shape?: (number | string)[] }[]).map((m) => [m.name, m]));
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, T] };
    else if (name === 'attention_mask') feeds[name] = { type: 'int64', data: new BigInt64Array(T).fill(1n), dims: [1, T] };
    else if (name === 'position_ids') feeds[name] = { type: 'int64', data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), dims: [1, T] };
    else if (name.startsWith('past_key_values')) {
      // [batch, heads, past, headDim] with past = 0; the numeric dims come from the graph.
      const shape = (meta.get(name)?.shape ?? []).map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 0));
      feeds[name] = { type: 'float32', data: new Float32Array(0), dims: shape };
    } else throw new Error(`the plain graph wants an input the benchmark does not know: ${name}`);
  }
  return feeds;
}
