// Greedy generation with the KV cache on the plain graph (its own session, not the instrumented one), reusing the
// previous call's cache for the longest common token prefix: typing one more character costs the changed tail's
// prefill, not the whole prompt. Cancellable between tokens; every tensor that is not kept is disposed in `finally`.
import type { onnx } from 'onnx-proto';
import type { CompletionStopReason } from '../../protocol/completion';
import type { ModelSpec } from '../../protocol/analysis';
import { CancelledError, LensError } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { openModelFolder } from '../model/folder';
import { UnsupportedModelError } from '../model/errors';
import { encodeModel } from '../onnx/build';
import { generationGraph } from '../onnx/generation';
import { GraphIndex, findStructure } from '../onnx/graph';
import { num, readModelFile, type Int64 } from '../onnx/proto';
import { webRuntime } from '../runtime/web';
import { tensor, type InferenceRuntime, type RuntimeSession, type Tensor } from '../runtime/runtime';
import { Tokenizer } from '../tokenizer/tokenizer';


export interface GenerateOptions {
  /** Most tokens to generate. */
  maxNewTokens: number;
  /** Stop after this many milliseconds (checked between tokens; the first token is always generated). */
  timeBudgetMs?: number;
  /** Called with the text generated so far after each token; true stops generation (the token is kept). */
  stop?(text: string): boolean;
  signal?: AbortSignal;
  /**
   * Token healing: the prompt's last token was taken off, and the first generated token must start with its bytes
   * (so " =" + " " may become " = require" rather than the model's idea of what follows a lone space). That text is
   * not part of the result.
   */
  heal?: number;
}

export interface GenerateResult {
  /** Generated token ids (a stop token is not included). */
  ids: number[];
  text: string;
  stopReason: CompletionStopReason;
  promptTokens: number;
  /** Prompt tokens whose keys and values came from the previous call's cache. */
  reusedTokens: number;
  /** Prompt tokens run through the model in the prefill. */
  prefillTokens: number;
  timings: { prefillMs: number; decodeMs: number; totalMs: number };
}

export interface GeneratorLoadOptions {
  maxModelBytes?: number;
  /** The ONNX file in the folder, e.g. onnx/model_q4.onnx (default onnx/model.onnx). */
  onnxFile?: string;
  /** The tokenizer already loaded for this folder (saves reading it twice). */
  tokenizer?: Tokenizer;
  /** eos/FIM ids as the analysis session found them; default: read from the tokenizer and config. */
  spec?: Pick<ModelSpec, 'eosTokenId' | 'nCtx'>;
  logger?: Logger;
  /** false: every forward pass recomputes the whole sequence (the reference the cache is tested against). */
  cache?: boolean;
  /** Which inference runtime runs the graph (default onnxruntime-web). */
  runtime?: InferenceRuntime;
}

interface KvCache {
  /** Token ids whose keys and values the tensors hold, in order. */
  ids: number[];
  past: Tensor[];
}

interface Forward {
  /** Logits of the last position, copied out of the runtime. */
  logits: Float32Array;
  reused: number;
  fed: number;
}

const INT64 = 7;
const INT32 = 6;
const FLOAT16 = 10;

export class Generator {
  private kv: KvCache | undefined;
  private busy = false;
  private readonly healCache = new Map<number, number[]>();

  private constructor(
    readonly tokenizer: Tokenizer,
    private readonly session: RuntimeSession,
    private readonly plan: {
      inputs: string[];
      intType: 'int64' | 'int32';
      pastInputs: string[];
      presentOutputs: string[];
      pastType: 'float32' | 'float16';
      heads: number;
      headDim: number;
      logits: string;
      lastOnly: boolean;
    },
    /** Ids that end a generation: end of text and every other special token (FIM markers, padding). */
    readonly stopIds: ReadonlySet<number>,
    readonly nCtx: number,
    private readonly useCache: boolean,
  ) {}

  /** Reads the model folder again and creates a session for its plain graph (logits of the last position only). */
  static async load(folder: string, options: GeneratorLoadOptions = {}): Promise<Generator> {
    const log = options.logger ?? silentLogger;
    const t0 = performance.now();
    const f = openModelFolder(folder, { maxModelBytes: options.maxModelBytes, onnxFile: options.onnxFile });
    const tokenizer = options.tokenizer ?? Tokenizer.fromFile(f.tokenizerPath);
    const model = readModelFile(f.onnxPath, { folder: f.folder, maxBytes: options.maxModelBytes ?? Number.MAX_SAFE_INTEGER });
    const g = new GraphIndex(model);
    const s = findStructure(g, { nLayer: f.config.nLayer, vocabSize: f.config.vocabSize, tied: f.config.tieWordEmbeddings });
    const gen = generationGraph(model, g, s);
    const decl = new Map((model.graph?.input ?? []).map((v) => [v.name ?? '', v]));
    const elem = (name: string) => decl.get(name)?.type?.tensorType?.elemType ?? INT64;
    if (!g.inputs.includes('input_ids')) throw new UnsupportedModelError(f.onnxPath, 'the graph has no "input_ids" input.');
    const unknown = g.inputs.filter((n) => !/^(input_ids|attention_mask|position_ids|past_key_values\.\d+\.(key|value))$/.test(n));
    if (unknown.length) throw new UnsupportedModelError(f.onnxPath, `the graph has inputs generation does not know how to feed: ${unknown.join(', ')}.`);
    const firstPast = gen.pastInputs[0];
    const pastDims = firstPast ? (decl.get(firstPast)?.type?.tensorType?.shape?.dim ?? []) : [];
    const dimOr = (i: number, d: number) => (pastDims.length === 4 ? num(pastDims[i].dimValue as Int64) || d : d);
    const plan = {
      inputs: g.inputs,
      intType: elem('input_ids') === INT32 ? ('int32' as const) : ('int64' as const),
      pastInputs: gen.pastInputs,
      presentOutputs: gen.presentOutputs,
      pastType: firstPast && elem(firstPast) === FLOAT16 ? ('float16' as const) : ('float32' as const),
      // The cache holds key/value heads: fewer than the query heads with grouped-query attention.
      heads: dimOr(1, f.config.nKvHeads),
      headDim: dimOr(3, f.config.headDim),
      logits: gen.logits,
      lastOnly: gen.lastOnly,
    };
    const bytes = encodeModel(gen.model as onnx.IModelProto);
    const session = await (options.runtime ?? webRuntime).createSession(bytes);
    const special = tokenizer.specialTokens();
    const stopIds = new Set<number>();
    for (let id = 0; id < tokenizer.vocabSize; id++) if (tokenizer.isSpecial(id)) stopIds.add(id);
    const eos = options.spec?.eosTokenId ?? f.config.eosTokenId ?? special.eos;
    if (eos !== undefined) stopIds.add(eos);
    const generator = new Generator(tokenizer, session, plan, stopIds, options.spec?.nCtx ?? f.config.nCtx, options.cache !== false);
    log.info(`generation session for ${f.name}: ${plan.pastInputs.length ? 'KV cache' : 'no KV cache in the graph'}, ${plan.lastOnly ? 'last-position logits' : 'full logits'}, created in ${(performance.now() - t0).toFixed(0)} ms`);
    return generator;
  }

  /** Whether the graph takes past keys and values (otherwise every token recomputes the sequence). */
  get hasKvCache(): boolean {
    return this.plan.pastInputs.length > 0;
  }

  /** Whether the graph was rewritten to compute logits for the last position only (see onnx/generation.ts). */
  get lastPositionLogits(): boolean {
    return this.plan.lastOnly;
  }

  /** Token ids whose keys and values are cached now. */
  get cachedIds(): readonly number[] {
    return this.kv?.ids ?? [];
  }

  /** Drops the cache: the next call prefills its whole prompt. */
  reset(): void {
    this.dropCache();
  }

  /** Logits for the token after `ids`, reusing the cache for their common prefix with the previous call. */
  async nextLogits(ids: number[]): Promise<{ logits: Float32Array; reused: number }> {
    this.enter();
    try {
      const r = await this.forward(ids);
      return { logits: r.logits, reused: r.reused };
    } finally {
      this.busy = false;
    }
  }

  /** Greedy generation after `promptIds`. Throws CancelledError between tokens when the signal aborts. */
  async generate(promptIds: number[], options: GenerateOptions): Promise<GenerateResult> {
    this.enter();
    try {
      return await this.run(promptIds, options);
    } finally {
      this.busy = false;
    }
  }

  async dispose(): Promise<void> {
    this.dropCache();
    await this.session.release();
  }

  private enter(): void {
    // One run at a time: the cache is one sequence. The worker's queue already guarantees it; this says so loudly.
    if (this.busy) throw new LensError('generatorBusy', 'A generation is already running on this session.');
    this.busy = true;
  }

  private async run(promptIds: number[], o: GenerateOptions): Promise<GenerateResult> {
    const t0 = performance.now();
    if (promptIds.length === 0) throw new LensError('emptyPrompt', 'Generation needs at least one prompt token.');
    if (promptIds.length >= this.nCtx) throw new LensError('promptTooLong', `The prompt has ${promptIds.length} tokens; the model reads at most ${this.nCtx}.`);
    await checkpoint(o.signal);
    const first = await this.forward(promptIds);
    const prefillMs = performance.now() - t0;
    const ids = promptIds.slice();
    const out: number[] = [];
    let logits = first.logits;
    let stopReason: CompletionStopReason = 'maxTokens';
    let text = '';
    const healed = o.heal === undefined ? undefined : this.tokenizer.tokenText(o.heal);
    let allowed = o.heal === undefined ? undefined : this.startingWith(o.heal);
    for (;;) {
      const next = allowed ? argmaxOf(logits, allowed) : argmax(logits);
      allowed = undefined;
      if (this.stopIds.has(next)) {
        stopReason = 'eos';
        break;
      }
      out.push(next);
      ids.push(next);
      text = this.tokenizer.decode(out);
      if (healed !== undefined) text = text.slice(healed.length);
      if (o.stop?.(text)) {
        stopReason = 'stop';
        break;
      }
      if (out.length >= o.maxNewTokens) break;
      if (ids.length >= this.nCtx) {
        stopReason = 'context';
        break;
      }
      if (o.timeBudgetMs !== undefined && performance.now() - t0 >= o.timeBudgetMs) {
        stopReason = 'time';
        break;
      }
      await checkpoint(o.signal);
      logits = (await this.forward(ids)).logits;
    }
    const total = performance.now() - t0;
    return {
      ids: out,
      text: dropPartialChar(text),
      stopReason,
      promptTokens: promptIds.length,
      reusedTokens: first.reused,
      prefillTokens: first.fed,
      timings: { prefillMs, decodeMs: total - prefillMs, totalMs: total },
    };
  }

  /** One forward pass over what the cache lacks of `ids`; the cache then holds all of `ids`. */
  private async forward(ids: number[]): Promise<Forward> {
    const n = ids.length;
    const p = this.plan;
    const old = this.kv;
    this.kv = undefined;
    const useKv = this.useCache && p.pastInputs.length > 0;
    const reused = useKv && old ? Math.min(commonPrefix(old.ids, ids), n - 1) : 0;
    const fedIds = useKv ? ids.slice(reused) : ids;
    const start = useKv ? reused : 0;
    const m = fedIds.length;
    const feeds: Record<string, Tensor> = {};
    const int = (values: ArrayLike<number>, dims: number[]) => (p.intType === 'int64' ? tensor.i64(values, dims) : tensor.i32(values, dims));
    for (const name of p.inputs) {
      if (name === 'input_ids') feeds[name] = int(fedIds, [1, m]);
      else if (name === 'attention_mask') feeds[name] = int(new Array(start + m).fill(1), [1, start + m]);
      else if (name === 'position_ids') feeds[name] = int(Array.from({ length: m }, (_, i) => start + i), [1, m]);
    }
    p.pastInputs.forEach((name, i) => {
      if (!useKv || reused === 0 || !old) feeds[name] = this.emptyPast();
      else if (reused === old.ids.length) feeds[name] = old.past[i];
      else feeds[name] = slicePast(old.past[i], reused);
    });
    const out = await this.session.run(feeds);
    const lt = out[p.logits];
    if (!lt || lt.type !== 'float32') throw new UnsupportedModelError(p.logits, `the generation graph's logits are ${lt ? lt.type : 'missing'}, not float32.`);
    const V = lt.dims[lt.dims.length - 1];
    const rows = lt.dims.length === 3 ? lt.dims[1] : 1;
    const data = lt.data as Float32Array;
    const logits = data.slice((rows - 1) * V, rows * V);
    // The present keys and values are plain arrays the runtime no longer owns: the next step feeds them back.
    if (useKv) this.kv = { ids: ids.slice(), past: p.presentOutputs.map((name) => out[name]) };
    return { logits, reused, fed: m };
  }

  /** Ids of the tokens whose bytes start with token `id`'s bytes (itself included), for token healing. */
  private startingWith(id: number): number[] {
    const hit = this.healCache.get(id);
    if (hit) return hit;
    const head = this.tokenizer.tokenBytes(id);
    const out: number[] = [];
    for (let t = 0; t < this.tokenizer.vocabSize; t++) {
      if (this.stopIds.has(t)) continue;
      const b = this.tokenizer.tokenBytes(t);
      if (b.length < head.length) continue;
      let ok = true;
      for (let i = 0; i < head.length && ok; i++) ok = b[i] === head[i];
      if (ok) out.push(t);
    }
    if (this.healCache.size > 256) this.healCache.clear();
    this.healCache.set(id, out);
    return out;
  }

  private emptyPast(): Tensor {
    const p = this.plan;
    return tensor.emptyPast(p.pastType, [1, p.heads, 0, p.headDim]);
  }

  private dropCache(): void {
    this.kv = undefined;
  }
}

/** A turn of the event loop (so a cancel message can arrive), then the signal is looked at. */
async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new CancelledError();
}

export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The first `r` positions of a [1, heads, past, headDim] tensor, as a new tensor. */
function slicePast(t: Tensor, r: number): Tensor {
  const [b, h, past, d] = t.dims;
  const src = t.data as Float32Array | Uint16Array;
  const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(b * h * r * d);
  for (let i = 0; i < b * h; i++) dst.set(src.subarray(i * past * d, i * past * d + r * d), i * r * d);
  return { type: t.type, data: dst, dims: [b, h, r, d] } as Tensor;
}

function argmaxOf(x: Float32Array, ids: number[]): number {
  let best = ids[0];
  for (const i of ids) if (x[i] > x[best]) best = i;
  return best;
}

function argmax(x: Float32Array): number {
  let best = 0;
  let v = x[0];
  for (let i = 1; i < x.length; i++) {
    if (x[i] > v) {
      v = x[i];
      best = i;
    }
  }
  return best;
}

/** A generation cut inside a multi-byte character ends in U+FFFD: leave that character out. */
function dropPartialChar(text: string): string {
  return text.endsWith('\uFFFD') ? text.replace(/\uFFFD+$/, '') : text;
}
