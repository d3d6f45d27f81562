// A model folder in the transformers.js layout: checks the files and config.json before anything runs, and reads
// the config into a ModelSpec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec } from '../../protocol/analysis';
import { ModelConfigError, ModelFileMissingError, ModelNotFoundError, ModelTooLargeError, UnsafeModelFileError, UnsupportedModelError } from './errors';
import { describeValue, jsonProblem, quoteName } from './untrusted';

/**
 * model_type values the lens reads: GPT-2 (learned positions, LayerNorm, GELU MLP) and the Llama family (rotary
 * positions, RMSNorm, grouped key/value heads, gated MLP; qwen2 adds biases to q/k/v). All are pre-norm decoders,
 * attention then MLP. Only what has been run here: gpt_neo (local attention), gpt_bigcode (multi-query KV layout),
 * mistral (sliding window), phi3 (packed projections) export differently and are refused until a test covers them.
 */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'qwen2'];

/** The two shapes of decoder the lens knows, by model_type. */
export type Architecture = 'gpt2' | 'llama';
export const architectureOf = (modelType: string): Architecture => (modelType === 'gpt2' ? 'gpt2' : 'llama');

/** ONNX files tried in order; the first present is used. */
const ONNX_CANDIDATES = ['onnx/model.onnx', 'onnx/decoder_model.onnx', 'model.onnx'];

export const DEFAULT_MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** Largest config.json read: real ones are a few KB; anything bigger is not a config (or is hostile). */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The fields of config.json the lens reads (GPT-2 names, with the aliases other families use). */
export interface ModelConfig {
  modelType: string;
  vocabSize: number;
  dModel: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads: nHead for GPT-2, fewer with grouped-query attention (num_key_value_heads). */
  nKvHeads: number;
  /** Dimensions per head: head_dim when given, else d / nHead. */
  headDim: number;
  nCtx: number;
  eosTokenId?: number;
  bosTokenId?: number;
  layerNormEpsilon?: number;
  tieWordEmbeddings: boolean;
  raw: Record<string, unknown>;
}

export interface ModelFolder {
  /** Absolute, symlinks resolved. */
  folder: string;
  name: string;
  configPath: string;
  tokenizerPath: string;
  onnxPath: string;
  onnxBytes: number;
  config: ModelConfig;
}

export interface OpenFolderOptions {
  /** Largest ONNX file accepted, in bytes. */
  maxModelBytes?: number;
  /**
   * The ONNX file to read, relative to the folder (e.g. onnx/model_q4.onnx), when the folder holds several
   * variants; default: the first of onnx/model.onnx, onnx/decoder_model.onnx, model.onnx.
   */
  onnxFile?: string;
}

/** Checks the layout and config.json; throws a typed error naming the file and the problem. */
export function openModelFolder(folder: string, options: OpenFolderOptions = {}): ModelFolder {
  let real: string;
  try {
    real = fs.realpathSync(folder);
    if (!fs.statSync(real).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new ModelNotFoundError(folder);
  }
  // An onnxruntime-genai build folder has genai_config.json instead of (or beside) the transformers config.json.
  const genai = !isFile(path.join(real, 'config.json')) && isFile(path.join(real, GENAI_CONFIG));
  const configName = genai ? GENAI_CONFIG : 'config.json';
  const configPath = path.join(real, configName);
  if (!isFile(configPath)) throw new ModelFileMissingError(folder, 'config.json');
  // Every file is checked to lie inside the folder before it is read.
  checkInside(real, configName);
  const config = genai ? readConfig(configPath, genaiToConfig) : readConfig(configPath);
  const tokenizerPath = path.join(real, 'tokenizer.json');
  if (!isFile(tokenizerPath)) throw new ModelFileMissingError(folder, 'tokenizer.json', 'the lens reads text through the model\'s own tokenizer');
  checkInside(real, 'tokenizer.json');
  const candidates = options.onnxFile !== undefined ? [path.normalize(options.onnxFile)] : ONNX_CANDIDATES;
  const rel = candidates.find((c) => isFile(path.join(real, c)));
  if (!rel) throw new ModelFileMissingError(folder, candidates[0], `looked for ${candidates.join(', ')}`);
  checkInside(real, rel);
  const onnxPath = path.join(real, rel);
  const onnxBytes = fs.statSync(onnxPath).size;
  const limit = options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES;
  if (onnxBytes > limit) throw new ModelTooLargeError(onnxPath, onnxBytes, limit);
  return { folder: real, name: path.basename(real), configPath, tokenizerPath, onnxPath, onnxBytes, config };
}

const GENAI_CONFIG = 'genai_config.json';

/**
 * genai_config.json's model section in config.json's names: {"model": {"type", "vocab_size", "context_length",
 * "eos_token_id", "decoder": {"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
 * "head_size"}}}. What it does not say (intermediate size, tied head) is read from the graph.
 */
function genaiToConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const m = (typeof raw.model === 'object' && raw.model !== null ? raw.model : {}) as Record<string, unknown>;
  const dec = (typeof m.decoder === 'object' && m.decoder !== null ? m.decoder : {}) as Record<string, unknown>;
  return {
    model_type: m.type,
    vocab_size: m.vocab_size,
    hidden_size: dec.hidden_size,
    num_hidden_layers: dec.num_hidden_layers,
    num_attention_heads: dec.num_attention_heads,
    num_key_value_heads: dec.num_key_value_heads,
    head_dim: dec.head_size,
    max_position_embeddings: m.context_length,
    eos_token_id: m.eos_token_id,
    bos_token_id: m.bos_token_id,
    // Unknown here: a float head that is the embedding is still found tied in the graph; a quantized one is counted.
    tie_word_embeddings: false,
  };
}

/** Reads config.json (or, through `map`, another file with the same facts under other names). */
export function readConfig(configPath: string, map?: (raw: Record<string, unknown>) => Record<string, unknown>): ModelConfig {
  let text: string;
  try {
    const size = fs.statSync(configPath).size;
    if (size > MAX_CONFIG_BYTES) throw new ModelConfigError(configPath, `it is ${size} bytes; a config.json is a few KB (the limit is ${MAX_CONFIG_BYTES}).`);
    // A BOM, as some Windows editors write, is not part of the JSON.
    text = fs.readFileSync(configPath, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if (e instanceof ModelConfigError) throw e;
    throw new ModelConfigError(configPath, `it could not be read (${(e as NodeJS.ErrnoException).code ?? 'unknown error'}).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: it quotes the text, which may be any file the folder's config.json stands for.
    throw new ModelConfigError(configPath, jsonProblem(text));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelConfigError(configPath, 'it is not a JSON object.');
  const c = map ? map(raw as Record<string, unknown>) : (raw as Record<string, unknown>);
  const modelType = typeof c.model_type === 'string' ? c.model_type : undefined;
  if (!modelType) throw new ModelConfigError(configPath, 'it has no "model_type".');
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new UnsupportedModelError(configPath, `model_type ${quoteName(modelType, 40)} is not supported; LLM Lens reads ${SUPPORTED_MODEL_TYPES.join(', ')} models (GPT-2, SmolLM2 and other Llama-shaped models, Qwen2.5 and Qwen2.5-Coder).`);
  }
  const int = (names: string[], required: boolean): number | undefined => {
    for (const n of names) {
      const v = c[n];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelConfigError(configPath, `"${n}" must be a positive integer, not ${describeValue(v)}.`);
      return v;
    }
    if (required) throw new ModelConfigError(configPath, `it has no "${names[0]}".`);
    return undefined;
  };
  const vocabSize = int(['vocab_size'], true)!;
  const dModel = int(['n_embd', 'hidden_size', 'd_model'], true)!;
  const nLayer = int(['n_layer', 'num_layers', 'num_hidden_layers'], true)!;
  const nHead = int(['n_head', 'num_heads', 'num_attention_heads'], true)!;
  const nCtx = int(['n_positions', 'max_position_embeddings', 'n_ctx'], true)!;
  const nKvHeads = int(['num_key_value_heads', 'n_head_kv'], false) ?? nHead;
  if (nHead % nKvHeads !== 0) throw new ModelConfigError(configPath, `num_attention_heads (${nHead}) is not a multiple of num_key_value_heads (${nKvHeads}).`);
  const headDimGiven = int(['head_dim'], false);
  if (headDimGiven === undefined && dModel % nHead !== 0) throw new ModelConfigError(configPath, `n_embd (${dModel}) is not a multiple of n_head (${nHead}).`);
  const eps = typeof c.layer_norm_epsilon === 'number' ? c.layer_norm_epsilon : typeof c.rms_norm_eps === 'number' ? c.rms_norm_eps : undefined;
  const optId = (n: string) => (typeof c[n] === 'number' && Number.isInteger(c[n]) ? (c[n] as number) : Array.isArray(c[n]) && typeof (c[n] as unknown[])[0] === 'number' ? ((c[n] as number[])[0]) : undefined);
  return {
    modelType,
    vocabSize,
    dModel,
    nLayer,
    nHead,
    nKvHeads,
    headDim: headDimGiven ?? dModel / nHead,
    nCtx,
    eosTokenId: optId('eos_token_id'),
    bosTokenId: optId('bos_token_id'),
    layerNormEpsilon: eps,
    tieWordEmbeddings: c.tie_word_embeddings !== false,
    raw: c,
  };
}

export function toModelSpec(f: ModelFolder, source: string, extra: Pick<ModelSpec, 'eosTokenId' | 'fim'> = {}, name?: string): ModelSpec {
  return specFromConfig(f.config, { name: name ?? f.name, source, fileBytes: f.onnxBytes }, extra);
}

/** The spec a config makes, for a model named `name` at `source` (also where no ONNX file is there yet: inspect). */
export function specFromConfig(c: ModelConfig, at: Pick<ModelSpec, 'name' | 'source' | 'fileBytes'>, extra: Pick<ModelSpec, 'eosTokenId' | 'fim'> = {}): ModelSpec {
  return {
    name: at.name,
    source: at.source,
    modelType: c.modelType,
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nKvHeads: c.nKvHeads,
    headDim: c.headDim,
    architecture: architectureOf(c.modelType),
    nCtx: c.nCtx,
    eosTokenId: extra.eosTokenId ?? c.eosTokenId,
    fim: extra.fim,
    fileBytes: at.fileBytes,
  };
}

/** Model types whose 4- and 8-bit files the lens reads (their quantized layouts are checked against PyTorch). */
export const QUANTIZED_MODEL_TYPES: readonly string[] = ['llama', 'qwen2'];

/**
 * Refuses a file of the folder that resolves (through a symbolic link to it, or to a folder on its way) outside
 * the folder. Links that stay inside are followed: some tools link one copy of a file under two names.
 */
function checkInside(folder: string, rel: string): void {
  let target: string;
  try {
    target = fs.realpathSync(path.join(folder, rel));
  } catch {
    throw new ModelFileMissingError(folder, rel, 'it could not be resolved');
  }
  if (!isInside(folder, target)) throw new UnsafeModelFileError(folder, rel);
}

/** True when `target` is `folder` itself or lies below it (both absolute, symlinks resolved). */
export function isInside(folder: string, target: string): boolean {
  const rel = path.relative(folder, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
