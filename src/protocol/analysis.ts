// The data the inference core produces and the panels draw: the contract between worker and host.
// Plain structured-clonable types: numbers, strings, arrays, and Float32Array for the big matrices (Matrix), which
// cross threads as transferred buffers; rebuilding a million-number number[][] on the host blocked its event loop.

/** A row-major float matrix: `rows` x `cols` numbers in `data`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Row `i` of `m`, as a view (no copy). */
export function matrixRow(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** A number[][] as a Matrix (rows of equal length). */
export function toMatrix(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows.length ? rows[0].length : 0;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { rows: rows.length, cols, data };
}

/** A Matrix as number[][] (for JSON output and tests). */
export function matrixRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(matrixRow(m, i)));
}

/** How many layers of a per-layer list of tensor names had one found ('' marks a layer without). */
export function foundCount(names: readonly string[]): number {
  return names.filter((n) => n !== '').length;
}

/** What a model is, read from config.json and the graph. */
export interface ModelSpec {
  /** Folder name or hub id, e.g. "lens-tiny". */
  name: string;
  /** Where it came from: "built-in", a folder path, or "hf:owner/repo@rev". */
  source: string;
  modelType: string;
  vocabSize: number;
  /** d: the dimension of every token vector. */
  dModel: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads (grouped-query attention: query heads h*nHead/nKvHeads .. share key/value head h); nHead when not grouped. */
  nKvHeads: number;
  headDim: number;
  /** gpt2: learned positions, LayerNorm, GELU MLP; llama (llama, qwen2): rotary positions, RMSNorm, gated MLP. */
  architecture: 'gpt2' | 'llama';
  /** Longest context (positions). */
  nCtx: number;
  eosTokenId?: number;
  /** Fill-in-the-middle token ids, when the tokenizer has them. */
  fim?: { prefix: number; middle: number; suffix: number };
  /** Bytes of onnx/model.onnx. */
  fileBytes: number;
}

export type ParameterRole = 'tokenEmbedding' | 'positionEmbedding' | 'attention' | 'mlp' | 'norm' | 'lmHead' | 'other';

export interface ParameterGroup {
  role: ParameterRole;
  /** Layer index for per-layer roles; undefined for embeddings, final norm, LM head. */
  layer?: number;
  weights: number;
  biases: number;
  /** The GPT-2 formula behind the count, e.g. "4d² + 4d". */
  formula?: string;
  /** The formula's value for this model; differs from weights + biases when the model is not plain GPT-2. */
  formulaValue?: number;
  /** Initializer names that make up the group (for the curious). */
  tensors: string[];
}

export interface ParameterBreakdown {
  total: number;
  weights: number;
  biases: number;
  groups: ParameterGroup[];
  /** True when the LM head reuses the token embedding matrix (counted once). */
  tiedLmHead: boolean;
  /** The whole-model GPT-2 formula with this model's numbers, and its value (equal to `total` for plain GPT-2). */
  formula?: string;
  formulaValue?: number;
  /** Initializers that are not parameters (causal-mask buffers, shape constants, scalars): not counted in `total`. */
  constants?: { tensors: number; elements: number };
}

/** What graph instrumentation found, and what it could not find (said plainly, not guessed). */
export interface InstrumentationReport {
  tokenEmbedding?: string;
  positionEmbedding?: string;
  /** Per layer: the tensor entering the layer's first norm (the residual stream). */
  layerInputs: string[];
  /** Per layer: the attention softmax output [batch, heads, q, k]; '' for a layer where none was found. */
  attentionProbs: string[];
  finalNorm?: string;
  /** The LM head's weight tensor. */
  lmHead?: string;
  /** Whether that weight is the token embedding itself ('same') or a transposed copy of it ('copy'). */
  lmHeadTied?: 'same' | 'copy' | 'declared';
  missing: string[];
  /** Default-domain ONNX opset of the graph. */
  opset?: number;
  /** How the graph writes its layer norms. */
  layerNorm?: 'fused' | 'decomposed' | 'rms' | 'rmsFused' | 'mixed';
  /** Layers found in the graph. */
  layers?: number;
  /**
   * Which parts the Why view can switch off in this graph (issue #15), and what is missing for the others, in words.
   * Absent where the model was only inspected (no instrumented graph).
   */
  interventions?: { available: ('head' | 'attention' | 'mlp' | 'edge')[]; notes: string[]; /** Why each kind not available is not, in words. */ unavailable?: Partial<Record<'head' | 'attention' | 'mlp' | 'edge', string>> };
}

export interface TokenInfo {
  index: number;
  id: number;
  /** Decoded text of this token alone; partial UTF-8 shows as U+FFFD. */
  text: string;
  /** The token's raw bytes (byte-level BPE). */
  bytes: number[];
  /** UTF-16 span [start, end) in the analyzed text; a token that ends inside a character shares it. */
  start: number;
  end: number;
  /** True when the token's bytes are not a whole UTF-8 sequence. */
  partial: boolean;
}

export interface Prediction {
  id: number;
  text: string;
  prob: number;
}

export interface PositionPrediction {
  /** Top-k next tokens after this position. */
  top: Prediction[];
  /** The token that actually follows, if any: its probability and surprisal in bits. */
  actual?: { id: number; prob: number; surprisalBits: number; rank: number };
}

export interface AttentionMatrix {
  layer: number;
  /** A head index, or -1 for the average over heads. */
  head: number;
  /** T x T, row = query, column = key; rows sum to 1; causal, so zero where key > query. */
  weights: Matrix;
}

export interface AnalyzeOptions {
  /** Refuse texts with more tokens than this (default 1024). */
  maxTokens?: number;
  /** k for top-k predictions and logit lens (default 5). */
  topK?: number;
  /** Which attention matrices to return: per layer, all heads plus the average. Default: none. */
  attentionLayers?: number[];
  /** Also return every layer x head matrix downsampled for the small-multiples model view. */
  attentionThumbnails?: boolean;
  /** The chosen token (index): its hidden vector per layer and its nearest vocabulary neighbours. */
  chosenToken?: number;
  /** How many neighbours to return (default 8). */
  neighbours?: number;
  /** PCA of the token embeddings (-1, default) or of a layer's hidden states. */
  pcaLayer?: number;
  /**
   * Whether to compute that PCA (default true). The panel shows it on one tab only and it costs ~10 ms of a 512-token
   * analysis: the panel asks for it when that tab shows, and otherwise later from the kept run (worker request `pca`).
   */
  pca?: boolean;
  /**
   * Which tokens get the logit lens of layers 0..L-1: 'chosen' (only `chosenToken`, the default; none when no token
   * is chosen), 'all', or 'none'. Other tokens get empty lists. The last entry, the model's own prediction, is always
   * there for every token. The lens is a pass over the whole vocabulary per layer and token: for a small model
   * whose LM head is most of its weights, the lens of every token costs several times the forward pass itself,
   * so it is computed for what a view shows unless asked for.
   */
  logitLens?: 'all' | 'chosen' | 'none';
}

/** The chosen token's data, from the last analysis's hidden states (worker request `chosen`). */
export interface ChosenDetail {
  index: number;
  /** [L+1][d]: the token's vector entering each layer, and the final output. */
  hidden: number[][];
  neighbours: { id: number; text: string; cosine: number }[];
  /** [L][k]: the logit lens of layers 0..L-1 for this token (empty lists when the model's LM head was not found). */
  lens: Prediction[][];
}

/** The tokens' vectors of one layer projected on their first two principal components. */
export interface PcaMap {
  /** -1: the token embeddings (no position); l in 0..L: the hidden states entering layer l (L: the last layer's output). */
  layer: number;
  points: [number, number][];
  /** Share of the total variance on each axis. */
  explained: [number, number];
}

export interface Analysis {
  /** Names this analysis for later requests about it (`chosen`); the worker keeps only its last one. */
  runId?: number;
  model: ModelSpec;
  text: string;
  tokens: TokenInfo[];
  /** Input embedding (token + position) of each token: T x d. */
  embeddings: Matrix;
  /** Token embedding only (no position) norms: [T]. */
  embeddingNorms: number[];
  /** [L+1][T]: norm of the hidden state entering each layer, and the final output. */
  hiddenNorms: number[][];
  /** [L][T]: cosine between layer i's output and its input (how much layer i changed each token). */
  layerCosine: number[][];
  /**
   * [L+1][T][k]: logit lens, final norm + LM head applied to each layer's hidden state. Layers 0..L-1 are filled
   * for the tokens AnalyzeOptions.logitLens asks for (by default the chosen token) and empty lists elsewhere;
   * entry L is the model's prediction for every token.
   */
  logitLens: Prediction[][][];
  /** One per token: what the model expected next. */
  predictions: PositionPrediction[];
  /** Cosine similarity of the input embeddings: T x T. */
  similarity: Matrix;
  attention: AttentionMatrix[];
  /** [L][H] thumbnails, each at most 32 x 32, when asked for. */
  attentionThumbnails?: number[][][][];
  chosen?: {
    index: number;
    /** [L+1][d]: the chosen token's vector entering each layer, and the final output. */
    hidden: number[][];
    neighbours: { id: number; text: string; cosine: number }[];
  };
  /** Absent when AnalyzeOptions.pca was false. */
  pca?: PcaMap;
  timings: { tokenizeMs: number; runMs: number; reduceMs: number };
}
