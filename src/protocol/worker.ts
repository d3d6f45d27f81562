// Messages between the extension host and the inference worker: one map of request types,
// each request answered exactly once with Reply<T>.
import type { Analysis, AnalyzeOptions, ChosenDetail, InstrumentationReport, ModelSpec, ParameterBreakdown, PcaMap } from './analysis';
import type { CompleteParams, CompleteResult } from './completion';
import type { NeighboursParams, NeighboursResult, ScoreParams, ScoreResult } from './score';
import type { OccludeParams, OccludeResult, WhyParams, WhyResult } from './why';

/** What the worker reports about its runtime; proves the wasm files load. */
export interface RuntimeInfo {
  /** The runtime in use, and why (e.g. "llmLens.runtime.backend is auto and the native addon loaded", or the fallback's reason). */
  backend: 'native' | 'web';
  /** The reason in English, for the log and the CLI. */
  backendReason: string;
  /** The same reason as facts, for the host to word in the display language. */
  backendWhy: BackendWhy;
  onnxruntimeVersion: string;
  wasmPaths: string;
  numThreads: number;
  simd: boolean;
  /** Milliseconds the worker took to create a trivial session (first call only). */
  sessionCreateMs: number;
  nodeVersion: string;
}

/** Which model folder to read; the worker checks it before anything runs. */
export interface LoadModelParams {
  /** Absolute path of a model folder (transformers.js layout). */
  folder: string;
  /** Largest ONNX file (and external data file) accepted, in bytes. Default: no limit below 2 GB. */
  maxModelBytes?: number;
  /** What ModelSpec.source says ("built-in", "hf:owner/repo@rev"); default: the folder. */
  source?: string;
  /** What ModelSpec.name says (e.g. "owner/repo@rev" for a download); default: the folder's name. */
  name?: string;
  /** The ONNX file in the folder, relative to it (e.g. onnx/model_q4.onnx); default onnx/model.onnx. */
  onnxFile?: string;
}

/** What a model is: the model card's data. */
export interface ModelInfo {
  spec: ModelSpec;
  parameters: ParameterBreakdown;
  instrumentation: InstrumentationReport;
}

export interface ChosenParams {
  /** Analysis.runId of the worker's last analysis. */
  runId: number;
  index: number;
  topK?: number;
  neighbours?: number;
}

export interface PcaParams {
  /** Analysis.runId of the worker's last analysis. */
  runId: number;
  /** As AnalyzeOptions.pcaLayer: -1 for the token embeddings, else 0..L. */
  layer: number;
}

export interface AnalyzeParams {
  text: string;
  options?: AnalyzeOptions;
}

/** Request name -> [params, result]. The only place request types are declared. */
export interface WorkerRequests {
  ping: [Record<string, never>, { pong: true; at: number }];
  version: [Record<string, never>, RuntimeInfo];
  /** Loads (or keeps, when already loaded with the same params) the model the next analyses use. */
  loadModel: [LoadModelParams, ModelInfo];
  /** Reads a model folder and its graph without creating a session (nothing is kept). */
  inspect: [LoadModelParams, ModelInfo];
  /** Analyzes text with the loaded model; the reply is already reduced to what panels draw. */
  analyze: [AnalyzeParams, Analysis];
  /** The chosen token's vectors, neighbours and logit lens, from the last analysis without a new run. */
  chosen: [ChosenParams, ChosenDetail];
  /** The 2-D PCA map of a layer of the last analysis, from its kept hidden states without a new run. */
  pca: [PcaParams, PcaMap];
  /** How probable each token of a range was given the text before it (hover cards, surprisal highlighting). */
  score: [ScoreParams, ScoreResult];
  /** Embedding norms and nearest vocabulary neighbours of token ids. */
  neighbours: [NeighboursParams, NeighboursResult];
  /** An inline completion at a cursor: KV-cache generation on the model's plain graph, the previous prompt's cache reused. */
  complete: [CompleteParams, CompleteResult];
  /** Why the model predicts what it does after a position: targets, logit lens ranks, direct logit attribution, interventions (protocol/why.ts). */
  why: [WhyParams, WhyResult];
  /** How much each context token matters to one prediction, by occluding it (batched forward passes; cancellable). */
  occlude: [OccludeParams, OccludeResult];
  /** Releases the loaded model's session and memory. */
  unloadModel: [Record<string, never>, { unloaded: boolean }];
}

export type WorkerRequestName = keyof WorkerRequests;
export type WorkerParams<K extends WorkerRequestName> = WorkerRequests[K][0];
export type WorkerResult<K extends WorkerRequestName> = WorkerRequests[K][1];

/**
 * The facts behind each refusal the host words itself (in the display language): typed per error code, so they
 * cross the worker boundary whole instead of as the core's English sentence.
 */
export interface ErrorDetailsByCode {
  tooManyTokens: {
    /** The count, or a lower bound on it when the text was too long to be worth tokenizing. */
    tokens: number;
    limit: number;
    atLeast: boolean;
    /** 'setting': llmLens.analysis.maxTokens; 'context': the model's context length. */
    reason: 'setting' | 'context';
  };
  binaryText: { controlChars: number; length: number };
}
export type ErrorCodeWithDetails = keyof ErrorDetailsByCode;
export type ErrorDetails = ErrorDetailsByCode[ErrorCodeWithDetails];

/** A serialisable error; `code` lets the host choose an action without matching messages. */
export interface WireError {
  code: string;
  message: string;
  stack?: string;
  /** For codes in ErrorDetailsByCode: the facts, to word the message on the host. */
  details?: ErrorDetails;
}

/** The details of an error with this code, when it carries them. */
export function detailsOf<C extends ErrorCodeWithDetails>(e: { code?: unknown; details?: unknown } | undefined, code: C): ErrorDetailsByCode[C] | undefined {
  return e && e.code === code && typeof e.details === 'object' && e.details !== null ? (e.details as ErrorDetailsByCode[C]) : undefined;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** host -> worker */
export type HostToWorkerMessage =
  | { type: 'request'; id: number; method: WorkerRequestName; params: unknown }
  | { type: 'cancel'; id: number };

/** worker -> host. With `packed`, the value is in pack.ts's form and its buffers were transferred. */
export type WorkerToHostMessage =
  | { type: 'reply'; id: number; reply: Reply<unknown>; packed?: { buffers: ArrayBuffer[] } }
  | { type: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error'; message: string }
  /** How far a long request has got (occlusion's batched runs): `done` of `total` units, sent before its reply. */
  | { type: 'progress'; id: number; done: number; total: number };

/** Options the host passes when starting the worker (workerData). */
export interface WorkerStartOptions {
  /** Folder holding ort-wasm-simd-threaded.{mjs,wasm}; never a URL. */
  wasmDir: string;
  numThreads: number;
  /**
   * Which inference runtime runs the models (setting llmLens.runtime.backend): 'native' is onnxruntime-node, 'web'
   * onnxruntime-web (WebAssembly), 'auto' native when its addon loads, else web. Default 'web'.
   */
  backend?: RuntimeBackendChoice;
  /** The host chose 'web' because the last native load took the extension host down (said instead of the setting). */
  nativeCrashed?: boolean;
}

export type RuntimeBackendChoice = 'auto' | 'native' | 'web';

/** Why the worker runs on the runtime it does. */
export type BackendWhy =
  | { code: 'setting'; setting: RuntimeBackendChoice }
  | { code: 'addonMissing'; platform: string }
  | { code: 'addonFailed'; platform: string; detail: string }
  | { code: 'firstSessionFailed'; detail: string }
  | { code: 'crashedBefore' };

/** The English wording of a BackendWhy (the log, the CLI, RuntimeInfo.backendReason). */
export function backendReasonText(why: BackendWhy): string {
  switch (why.code) {
    case 'setting':
      return why.setting === 'web' ? 'llmLens.runtime.backend is "web"' : `llmLens.runtime.backend is "${why.setting}" and the native addon loaded`;
    case 'addonMissing':
      return `native addon missing for ${why.platform}; using WebAssembly`;
    case 'addonFailed':
      return `native addon failed to load on ${why.platform}: ${why.detail}; using WebAssembly`;
    case 'firstSessionFailed':
      return `the native runtime failed its first session (${why.detail}); using WebAssembly`;
    case 'crashedBefore':
      return 'the native runtime stopped the extension host when it last loaded; "LLM Lens: Try the Native Runtime Again" retries it';
  }
}

export function isHostToWorkerMessage(m: unknown): m is HostToWorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o.type === 'cancel') return typeof o.id === 'number';
  return o.type === 'request' && typeof o.id === 'number' && typeof o.method === 'string';
}

export function isWorkerToHostMessage(m: unknown): m is WorkerToHostMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o.type === 'reply') return typeof o.id === 'number' && typeof o.reply === 'object' && o.reply !== null;
  if (o.type === 'progress') return typeof o.id === 'number' && typeof o.done === 'number' && typeof o.total === 'number';
  return o.type === 'log' && typeof o.message === 'string';
}
