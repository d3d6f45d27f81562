// core/session/: a model loaded for inference, over the runtime interface (core/runtime/runtime.ts): this module's
// LoadedModel for analyses and scores, generate.ts's Generator for completions with a KV cache. A LoadedModel is the
// folder checked, the tokenizer, the graph read and instrumented, and one runtime session for it, created once and
// reused.
import type { onnx } from 'onnx-proto';
import type { InstrumentationReport, ModelSpec, ParameterBreakdown } from '../../protocol/analysis';
import type { ModelInfo } from '../../protocol/worker';

export type { ModelInfo };
import { CancelledError } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { openModelFolder, toModelSpec, type ModelFolder } from '../model/folder';
import { checkModelMemory } from '../model/memory';
import { ModelConfigError, UnsupportedModelError, VocabMismatchError } from '../model/errors';
import { cleanText, quoteName, quoteNames } from '../model/untrusted';
import { parameterBreakdown } from '../onnx/parameters';
import { GraphIndex, findStructure, type GraphStructure } from '../onnx/graph';
import { instrument, LENS, type InstrumentedGraph } from '../onnx/instrument';
import { floatData, num, readModelFile, tensorDims, type Int64 } from '../onnx/proto';
import { WHY, type WhyPoints } from '../onnx/interventions';
import { webRuntime } from '../runtime/web';
import { tensor, type InferenceRuntime, type RuntimeSession, type Tensor } from '../runtime/runtime';
import { encodeModel } from '../onnx/build';
import { Tokenizer } from '../tokenizer/tokenizer';
import { embeddingMatrix, lensHeadOf, type LensHead } from '../onnx/lensHead';

export interface LoadOptions {
  /** Largest ONNX file (and external data file) accepted. */
  maxModelBytes?: number;
  /** The ONNX file in the folder, e.g. onnx/model_q4.onnx (default onnx/model.onnx). */
  onnxFile?: string;
  /** What ModelSpec.source says: "built-in", the folder, "hf:owner/repo@rev". */
  source?: string;
  /** What ModelSpec.name says; default: the folder's name. */
  name?: string;
  logger?: Logger;
  signal?: AbortSignal;
  /** Which inference runtime runs the graph (default onnxruntime-web). */
  runtime?: InferenceRuntime;
}


/** What one instrumented run returns, as plain typed arrays (the ort tensors are already disposed). */
export interface RunResult {
  T: number;
  k: number;
  /** hidden[i]: [T*d], the residual stream entering layer i; hidden[L] enters the final norm. */
  hidden: Float32Array[];
  predTopV: Float32Array;
  predTopI: Int32Array;
  predLse: Float32Array;
  predActual: Float32Array;
  predRank: Float32Array;
  /** [L*P*k] for layers 0..L-1 at the P positions asked for (row l*P + p), when the graph has the lens branch. */
  lensPositions?: number[];
  lensTopV?: Float32Array;
  lensTopI?: Int32Array;
  lensLse?: Float32Array;
  similarity: Float32Array;
  /** layer -> [H*T*T] */
  attention: Map<number, Float32Array>;
  /** layer -> [H*n*n] block sums, with the block geometry. */
  thumbnails?: { n: number; b: number; data: Map<number, Float32Array> };
}

export interface RunRequest {
  ids: number[];
  topK: number;
  attentionLayers?: number[];
  thumbnails?: boolean;
  /** Positions whose logit lens to compute; default all, [] none. */
  lensPositions?: number[];
  signal?: AbortSignal;
}

/** Inspects a model folder without creating a session: spec, parameters, what instrumentation finds. */
export function inspectModel(folder: string, options: LoadOptions = {}): ModelInfo & { structure: GraphStructure } {
  const parts = readParts(folder, options);
  return { spec: parts.spec, parameters: parts.parameters, instrumentation: parts.report, structure: parts.structure };
}

interface Parts {
  folder: ModelFolder;
  tokenizer: Tokenizer;
  model: onnx.ModelProto;
  graph: GraphIndex;
  structure: GraphStructure;
  spec: ModelSpec;
  parameters: ParameterBreakdown;
  report: InstrumentationReport;
}

function readParts(folderPath: string, options: LoadOptions): Parts {
  const folder = openModelFolder(folderPath, { maxModelBytes: options.maxModelBytes, onnxFile: options.onnxFile });
  const tokenizer = Tokenizer.fromFile(folder.tokenizerPath);
  const cfg = folder.config;
  if (tokenizer.vocabSize > cfg.vocabSize) throw new VocabMismatchError(folder.folder, tokenizer.vocabSize, cfg.vocabSize);
  const model = readModelFile(folder.onnxPath, { folder: folder.folder, maxBytes: options.maxModelBytes ?? Number.MAX_SAFE_INTEGER });
  const graph = new GraphIndex(model);
  const structure = findStructure(graph, { nLayer: cfg.nLayer, vocabSize: cfg.vocabSize, tied: cfg.tieWordEmbeddings });
  const emb = structure.tokenEmbedding;
  if (emb) {
    if (emb.vocab !== cfg.vocabSize) throw new ModelConfigError(folder.configPath, `vocab_size is ${cfg.vocabSize} but the graph's token embedding has ${emb.vocab} rows.`);
    if (emb.d !== cfg.dModel) throw new ModelConfigError(folder.configPath, `n_embd is ${cfg.dModel} but the graph's token embedding has ${emb.d} columns.`);
    if (tokenizer.vocabSize > emb.vocab) throw new VocabMismatchError(folder.folder, tokenizer.vocabSize, emb.vocab);
  }
  if (structure.finalNorm && structure.layers.length !== cfg.nLayer) {
    throw new ModelConfigError(folder.configPath, `n_layer is ${cfg.nLayer} but the graph has ${structure.layers.length} layers.`);
  }
  const special = tokenizer.specialTokens();
  const fim = special.fimPrefix !== undefined && special.fimMiddle !== undefined && special.fimSuffix !== undefined ? { prefix: special.fimPrefix, middle: special.fimMiddle, suffix: special.fimSuffix } : undefined;
  const spec = toModelSpec(folder, options.source ?? folder.folder, { eosTokenId: cfg.eosTokenId ?? special.eos, fim }, options.name);
  const parameters = parameterBreakdown(graph, structure, cfg.nCtx, {
    architecture: spec.architecture,
    nHead: cfg.nHead,
    nKvHeads: cfg.nKvHeads,
    headDim: cfg.headDim,
    intermediate: typeof cfg.raw.intermediate_size === 'number' ? cfg.raw.intermediate_size : undefined,
    qkvBias: cfg.modelType === 'qwen2' || cfg.raw.attention_bias === true,
  });
  const report = reportOf(structure, graph);
  // The position table bounds the context, whatever config.json says: position n_positions-1 of a table with fewer
  // rows is a Gather out of range inside onnxruntime. spec.nCtx is what the analysis, score and completion limits
  // read, so a longer text is refused up front as over the context.
  const rows = structure.positionEmbedding?.rows;
  if (rows !== undefined && rows > 0 && rows < cfg.nCtx) {
    spec.nCtx = rows;
    const note = `context: config.json gives ${cfg.nCtx} positions but the graph's position embedding ${quoteName(structure.positionEmbedding!.initializer, 60)} has ${rows} rows; texts are limited to ${rows} tokens`;
    report.missing.push(note);
    options.logger?.warn(`model ${spec.name}: ${note}`);
  }
  return { folder, tokenizer, model, graph, structure, spec, parameters, report };
}

function reportOf(s: GraphStructure, g: GraphIndex): InstrumentationReport {
  const kinds = new Set([...s.layers.flatMap((l) => [l.norm1.kind, l.norm2.kind]), ...(s.finalNorm ? [s.finalNorm.kind] : [])]);
  // Tensor names are the file's text and are only shown (model card, CLI, logs): bounded and escaped, so that a
  // hostile name cannot write terminal escapes or kilobytes into them.
  const shown = <T extends string | undefined>(name: T): T => (name === undefined ? name : (cleanText(name, 120) as T));
  return {
    tokenEmbedding: shown(s.tokenEmbedding?.initializer),
    positionEmbedding: shown(s.positionEmbedding?.initializer),
    layerInputs: s.layers.map((l) => shown(l.input)),
    attentionProbs: s.layers.map((l) => shown(l.softmax ?? '')),
    finalNorm: shown(s.finalNorm?.output),
    lmHead: shown(s.lmHead?.weight),
    // The words for the tie are the host's (localized) and the CLI's.
    lmHeadTied: s.lmHead?.tied || undefined,
    missing: s.missing.slice(),
    opset: g.opset,
    layerNorm: kinds.size === 1 ? [...kinds][0] : kinds.size > 1 ? 'mixed' : undefined,
    layers: s.layers.length,
  };
}

export class LoadedModel {
  /** Longest token in bytes: a cheap lower bound on a text's token count before tokenizing. */
  readonly maxTokenBytes: number;
  /** Per layer, the attention output projection as floats (per-head attribution), when the graph has it as a float matrix. */
  outProjections: (OutProjectionWeights | undefined)[] = [];

  private constructor(
    readonly info: ModelInfo,
    readonly tokenizer: Tokenizer,
    /** Token embedding matrix [V*d] and its row norms. */
    readonly embedding: Float32Array,
    readonly embeddingNorms: Float32Array,
    readonly nLayers: number,
    readonly dModel: number,
    readonly nHeads: number,
    private readonly session: RuntimeSession,
    private readonly graph: InstrumentedGraph,
    private readonly feeds: FeedPlan,
    readonly attentionLayers: number[],
    readonly thumbnailsAvailable: boolean,
    /** The final norm and LM head for the logit lens of one token in JS (chosen.ts). */
    readonly lensHead: LensHead | undefined,
    /** The runtime its session runs on; the completion engine uses the same one. */
    readonly runtime: InferenceRuntime,
  ) {
    let m = 1;
    for (let id = 0; id < tokenizer.vocabSize; id++) m = Math.max(m, tokenizer.tokenBytes(id).length);
    this.maxTokenBytes = m;
  }

  get spec(): ModelSpec {
    return this.info.spec;
  }

  get hasLens(): boolean {
    return this.graph.hasLens;
  }

  static async load(folderPath: string, options: LoadOptions = {}): Promise<LoadedModel> {
    const log = options.logger ?? silentLogger;
    const t0 = performance.now();
    // Before anything large is read: a model the runtime's heap (or the machine) cannot hold is refused with the
    // figure and what would fit (core/model/memory.ts), not left to fail inside onnxruntime with std::bad_alloc.
    checkModelMemory(folderPath, { onnxFile: options.onnxFile, runtime: options.runtime ?? webRuntime });
    const p = readParts(folderPath, options);
    if (options.signal?.aborted) throw new CancelledError();
    const s = p.structure;
    const where = p.folder.onnxPath;
    const feeds = planFeeds(p.model, p.graph, p.spec, where);
    if (!s.tokenEmbedding) throw new UnsupportedModelError(where, `the graph's structure was not recognised: ${s.missing.join('; ')}.`);
    // The added nodes and the reductions read float32 (a float16 file was upcast when read: core/onnx/upcast.ts).
    const embedding = embeddingMatrix(p.graph, s, where);
    const d = p.spec.dModel;
    const V = embedding.length / d;
    const norms = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let j = v * d; j < v * d + d; j++) acc += embedding[j] * embedding[j];
      norms[v] = Math.sqrt(acc);
    }
    const instrumented = instrument(p.model, p.graph, s, where);
    const bytes = encodeModel(instrumented.model);
    const t1 = performance.now();
    const runtime = options.runtime ?? webRuntime;
    const session = await runtime.createSession(bytes);
    log.info(`model ${p.spec.name}: read and instrumented in ${(t1 - t0).toFixed(0)} ms, ${runtime.name} session created in ${(performance.now() - t1).toFixed(0)} ms`);
    const info: ModelInfo = { spec: p.spec, parameters: p.parameters, instrumentation: p.report };
    const model = new LoadedModel(info, p.tokenizer, embedding, norms, s.layers.length, d, p.spec.nHead, session, instrumented, feeds, instrumented.attentionLayers, true, lensHeadOf(p.graph, s, embedding), runtime);
    if (instrumented.why) {
      info.instrumentation.interventions = { available: instrumented.why.kinds, notes: instrumented.why.notes, unavailable: instrumented.why.unavailable };
      model.outProjections = outProjectionWeights(p.graph, instrumented.why);
    }
    await model.probe(info.instrumentation);
    return model;
  }

  /**
   * One tiny run at load: proves the graph runs, and checks that each softmax really is
   * [batch, heads, q, k]; layers where it is not are reported and not offered.
   */
  private async probe(report: InstrumentationReport): Promise<void> {
    const r = await this.run({ ids: [0, 0, 0], topK: 1, attentionLayers: this.attentionLayers, thumbnails: false });
    const bad: number[] = [];
    for (const layer of this.attentionLayers) {
      const a = r.attention.get(layer);
      if (!a || a.length !== this.nHeads * 9) {
        bad.push(layer);
        report.missing.push(`layer ${layer} attention probabilities: the softmax output is not [1, ${this.nHeads}, q, k]`);
        report.attentionProbs[layer] = '';
      }
    }
    if (bad.length) {
      (this as { attentionLayers: number[] }).attentionLayers = this.attentionLayers.filter((l) => !bad.includes(l));
      (this as { thumbnailsAvailable: boolean }).thumbnailsAvailable = false;
    }
  }

  /** Runs the instrumented graph once, past length 0. */
  async run(req: RunRequest): Promise<RunResult> {
    const T = req.ids.length;
    const k = Math.max(1, Math.min(req.topK, this.spec.vocabSize));
    const wanted = new Set((req.attentionLayers ?? []).filter((l) => this.attentionLayers.includes(l)));
    const thumbs = !!req.thumbnails && this.thumbnailsAvailable && this.attentionLayers.length > 0;
    // Thumbnails: blocks of b x b tokens, at most 32 x 32 of them.
    const b = Math.ceil(T / 32);
    const n = Math.ceil(T / b);
    const pad = n * b - T;
    const feeds: Record<string, Tensor> = {};
    const L = this.nLayers;
    Object.assign(feeds, this.feeds.model(req.ids), this.whyDefaults());
    if (this.graph.why?.hasRows) feeds[WHY.rows] = tensor.i64(Array.from({ length: T }, (_, i) => i), [T]);
    feeds[LENS.k] = tensor.i64([k], [1]);
    const next = new BigInt64Array(T);
    for (let t = 0; t + 1 < T; t++) next[t] = BigInt(req.ids[t + 1]);
    feeds[LENS.nextIds] = { type: 'int64', data: next, dims: [T, 1] };
    for (const l of this.graph.attentionLayers) feeds[LENS.attnOn(l)] = tensor.bool(wanted.has(l));
    feeds[LENS.thumbOn] = tensor.bool(thumbs);
    if (this.graph.model.graph?.input?.some((i) => i.name === LENS.simOn)) feeds[LENS.simOn] = tensor.bool(true);
    feeds[LENS.thumbPads] = tensor.i64([0, 0, 0, 0, 0, 0, pad, pad], [8]);
    feeds[LENS.thumbShape] = tensor.i64([this.nHeads, n, b, n, b], [5]);
    // No lens wanted: one row, ignored, keeps the graph's shapes simple.
    const lensPositions = req.lensPositions ?? Array.from({ length: T }, (_, i) => i);
    const fed = lensPositions.length ? lensPositions : [0];
    if (this.graph.hasLens) feeds[LENS.lensPositions] = tensor.i64(fed, [fed.length]);
    const fetches = [
      ...Array.from({ length: L + 1 }, (_, i) => LENS.hidden(i)),
      LENS.predTopV,
      LENS.predTopI,
      LENS.predLse,
      LENS.predActual,
      LENS.predRank,
      LENS.similarity,
      ...(this.graph.hasLens ? [LENS.lensTopV, LENS.lensTopI, LENS.lensLse] : []),
      ...[...wanted].map((l) => LENS.attn(l)),
      ...(thumbs ? this.attentionLayers.map((l) => LENS.thumb(l)) : []),
    ];
    if (req.signal) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (req.signal.aborted) throw new CancelledError();
    }
    const out = await this.session.run(feeds, fetches);
    const f32 = (name: string) => copyF32(out[name]);
    const i32 = (name: string) => Int32Array.from(out[name].data as BigInt64Array, (x) => Number(x));
    const result: RunResult = {
      T,
      k,
      hidden: Array.from({ length: L + 1 }, (_, i) => f32(LENS.hidden(i))),
      predTopV: f32(LENS.predTopV),
      predTopI: i32(LENS.predTopI),
      predLse: f32(LENS.predLse),
      predActual: f32(LENS.predActual),
      predRank: f32(LENS.predRank),
      similarity: f32(LENS.similarity),
      attention: new Map([...wanted].map((l) => [l, f32(LENS.attn(l))])),
    };
    if (this.graph.hasLens && lensPositions.length) {
      result.lensPositions = lensPositions;
      result.lensTopV = f32(LENS.lensTopV);
      result.lensTopI = i32(LENS.lensTopI);
      result.lensLse = f32(LENS.lensLse);
    }
    if (thumbs) result.thumbnails = { n, b, data: new Map(this.attentionLayers.map((l) => [l, f32(LENS.thumb(l))])) };
    return result;
  }

  /** Feeds for the Why inputs that leave the model as it is (gates of 1, additions of 0), built once. */
  private whyDefaultFeeds: Record<string, Tensor> | undefined;
  private whyDefaults(): Record<string, Tensor> {
    if (!this.whyDefaultFeeds) {
      this.whyDefaultFeeds = {};
      for (const [name, v] of Object.entries(this.graph.why?.defaults ?? {})) {
        this.whyDefaultFeeds[name] = v.type === 'int64' ? tensor.i64(v.values, v.dims) : tensor.f32(Float32Array.from(v.values), v.dims);
      }
    }
    return this.whyDefaultFeeds;
  }

  /** The Why view's points in the instrumented graph (gates, mid-layer stream, z, one position's logits), when found. */
  get whyPoints(): InstrumentedGraph['why'] {
    return this.graph.why;
  }

  /**
   * One run of the instrumented graph for the Why view (core/why/): a batch of equal-length rows (occlusion runs
   * several copies of a text at once), optional attention masks, extra feeds (the gates) and exactly the outputs
   * asked for. Each row's `lens.nextIds` is its own next token.
   */
  async runRaw(req: RawRunRequest): Promise<Record<string, Tensor>> {
    const B = req.rows.length;
    const T = req.rows[0]?.length ?? 0;
    if (B === 0 || T === 0 || req.rows.some((r) => r.length !== T)) throw new Error('runRaw: rows must be non-empty and of one length');
    const k = Math.max(1, Math.min(req.topK, this.spec.vocabSize));
    const feeds: Record<string, Tensor> = { ...this.feeds.batch(req.rows, req.masks, req.pastLength), ...this.whyDefaults() };
    if (this.graph.why?.hasRows) feeds[WHY.rows] = tensor.i64(Array.from({ length: B * T }, (_, i) => i), [B * T]);
    Object.assign(feeds, req.feeds ?? {});
    feeds[LENS.k] = tensor.i64([k], [1]);
    // One next id per row the LM head computes (all of them, or the rows fed as why.rows), unless the caller says
    // which tokens to read (the Why view's batched runs ask for tokens their rows do not contain).
    if (!req.feeds?.[LENS.nextIds]) {
      const R = feeds[WHY.rows]?.dims[0] ?? B * T;
      const next = new BigInt64Array(R);
      if (R === B * T) {
        req.rows.forEach((r, b) => {
          for (let t = 0; t + 1 < T; t++) next[b * T + t] = BigInt(r[t + 1]);
        });
      }
      feeds[LENS.nextIds] = { type: 'int64', data: next, dims: [R, 1] };
    }
    for (const l of this.graph.attentionLayers) feeds[LENS.attnOn(l)] = tensor.bool(false);
    feeds[LENS.thumbOn] = tensor.bool(false);
    if (this.graph.model.graph?.input?.some((i) => i.name === LENS.simOn)) feeds[LENS.simOn] = tensor.bool(false);
    feeds[LENS.thumbPads] = tensor.i64([0, 0, 0, 0, 0, 0, 0, 0], [8]);
    feeds[LENS.thumbShape] = tensor.i64([this.nHeads, 1, T, 1, T], [5]);
    const lensPositions = req.lensPositions?.length ? req.lensPositions : [0];
    if (this.graph.hasLens) feeds[LENS.lensPositions] = tensor.i64(lensPositions, [lensPositions.length]);
    if (req.signal) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (req.signal.aborted) throw new CancelledError();
    }
    return this.session.run(feeds, req.fetches);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** A layer's output projection, copied out of the graph: z [H*hd] times `weight` [H*hd, d] (+ bias) is the attention output. */
export interface OutProjectionWeights {
  weight: Float32Array;
  width: number;
  bias?: Float32Array;
}

/** The output projections of the layers whose z the Why points expose, as [width, d] row-major copies. */
function outProjectionWeights(g: GraphIndex, why: WhyPoints): (OutProjectionWeights | undefined)[] {
  return why.layers.map((l) => {
    const z = l.z;
    const t = z?.weight ? g.initializers.get(z.weight) : undefined;
    const f = t ? floatData(t) : undefined;
    if (!z || !t || !f) return undefined;
    const dims = tensorDims(t);
    let weight: Float32Array;
    if (!z.transposed) weight = f;
    else {
      // Stored [d, width]: transpose once here.
      const [dd, w] = dims;
      weight = new Float32Array(w * dd);
      for (let i = 0; i < dd; i++) for (let j = 0; j < w; j++) weight[j * dd + i] = f[i * w + j];
    }
    const bt = z.bias ? g.initializers.get(z.bias) : undefined;
    const bias = bt ? floatData(bt) : undefined;
    return { weight, width: z.width, ...(bias ? { bias } : {}) };
  });
}

/** A Why run: see LoadedModel.runRaw. */
export interface RawRunRequest {
  rows: number[][];
  /** Per row, 1 where a token (past ones first) may be attended to and 0 where not (default all 1). */
  masks?: number[][];
  /** Tokens already in the past_key_values.* tensors the caller feeds (default 0: an empty past). */
  pastLength?: number;
  topK: number;
  /** Positions of the first row whose logit lens to compute (default [0], the cheapest). */
  lensPositions?: number[];
  feeds?: Record<string, Tensor>;
  fetches: string[];
  signal?: AbortSignal;
}

/** A float output in a buffer of its own (the analysis hands some to the host, transferring their buffers). */
function copyF32(t: Tensor | undefined): Float32Array {
  if (!t) return new Float32Array(0);
  // slice(): a copy in one memcpy (Float32Array.from walks the iterator, element by element).
  return (t.data as Float32Array).slice();
}

/** How to feed the model's own inputs for a run with no past. */
interface FeedPlan {
  model(ids: number[]): Record<string, Tensor>;
  /** The same for a batch of equal-length rows, with optional attention masks (the Why view's occlusion). */
  batch(rows: number[][], masks?: number[][], pastLength?: number): Record<string, Tensor>;
}

const KNOWN_INPUT = /^(input_ids|attention_mask|position_ids|past_key_values\.\d+\.(key|value))$/;

function planFeeds(model: onnx.ModelProto, g: GraphIndex, spec: ModelSpec, where: string): FeedPlan {
  const decl = new Map((model.graph?.input ?? []).map((v) => [v.name ?? '', v]));
  const unknown = g.inputs.filter((n) => !KNOWN_INPUT.test(n));
  if (unknown.length) throw new UnsupportedModelError(where, `the graph has inputs the lens does not know how to feed: ${quoteNames(unknown)} (a merged decoder or an encoder-decoder?).`);
  if (!g.inputs.includes('input_ids')) throw new UnsupportedModelError(where, 'the graph has no "input_ids" input.');
  const elem = (name: string) => decl.get(name)?.type?.tensorType?.elemType ?? 7;
  const intTensor = (name: string, values: number[], dims: number[]): Tensor => tensor.int(elem(name), values, dims);
  const pastDims = (name: string): number[] => {
    const dims = decl.get(name)?.type?.tensorType?.shape?.dim ?? [];
    // [batch, heads, past, head_dim]: keep the fixed sizes the graph declares, past = 0.
    if (dims.length === 4) return [1, num(dims[1].dimValue as Int64) || spec.nKvHeads, 0, num(dims[3].dimValue as Int64) || spec.headDim];
    return [1, spec.nKvHeads, 0, spec.headDim];
  };
  return {
    model(ids: number[]) {
      const T = ids.length;
      const f: Record<string, Tensor> = {};
      for (const name of g.inputs) {
        if (name === 'input_ids') f[name] = intTensor(name, ids, [1, T]);
        else if (name === 'attention_mask') f[name] = intTensor(name, new Array(T).fill(1), [1, T]);
        else if (name === 'position_ids') f[name] = intTensor(name, Array.from({ length: T }, (_, i) => i), [1, T]);
        else f[name] = tensor.emptyPast('float32', pastDims(name));
      }
      return f;
    },
    batch(rows: number[][], masks?: number[][], pastLength = 0) {
      // With a past (fed by the caller, from a run of the same prefix), positions continue after it and the mask
      // covers past and new tokens alike.
      const B = rows.length;
      const T = rows[0].length;
      const P = pastLength;
      const f: Record<string, Tensor> = {};
      for (const name of g.inputs) {
        if (name === 'input_ids') f[name] = intTensor(name, rows.flat(), [B, T]);
        else if (name === 'attention_mask') f[name] = intTensor(name, masks ? masks.flat() : new Array(B * (P + T)).fill(1), [B, P + T]);
        else if (name === 'position_ids') f[name] = intTensor(name, rows.flatMap(() => Array.from({ length: T }, (_, i) => P + i)), [B, T]);
        else {
          const dims = pastDims(name);
          f[name] = tensor.emptyPast('float32', [B, ...dims.slice(1)]);
        }
      }
      return f;
    },
  };
}
