// A model folder in the transformers.js layout: checks the files and config.json before anything runs, and reads
// the config into a ModelSpec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec } from '../../protocol/analysis';
import { ModelConfigError, ModelFileMissingError, ModelNotFoundError, ModelTooLargeError, UnsafeModelFileError, UnsupportedModelError } from './errors';
import { describeValue, jsonProblem, quoteName } from './untrusted';

/** model_type values of the GPT-2 family: learned positions, pre-norm blocks, attention then MLP. */
// Only what has been run here: gpt_neo (local attention) and gpt_bigcode (multi-query KV layout)
// export differently and are refused until a test covers them.
export const SUPPORTED_MODEL_TYPES = ['gpt2'];

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
  const configPath = path.join(real, 'config.json');
  if (!isFile(configPath)) throw new ModelFileMissingError(folder, 'config.json');
  // Every file is checked to lie inside the folder before it is read.
  checkInside(real, 'config.json');
  const config = readConfig(configPath);
  const tokenizerPath = path.join(real, 'tokenizer.json');
  if (!isFile(tokenizerPath)) throw new ModelFileMissingError(folder, 'tokenizer.json', 'the lens reads text through the model\'s own tokenizer');
  checkInside(real, 'tokenizer.json');
  const rel = ONNX_CANDIDATES.find((c) => isFile(path.join(real, c)));
  if (!rel) throw new ModelFileMissingError(folder, 'onnx/model.onnx', `looked for ${ONNX_CANDIDATES.join(', ')}`);
  checkInside(real, rel);
  const onnxPath = path.join(real, rel);
  const onnxBytes = fs.statSync(onnxPath).size;
  const limit = options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES;
  if (onnxBytes > limit) throw new ModelTooLargeError(onnxPath, onnxBytes, limit);
  return { folder: real, name: path.basename(real), configPath, tokenizerPath, onnxPath, onnxBytes, config };
}

export function readConfig(configPath: string): ModelConfig {
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
  const c = raw as Record<string, unknown>;
  const modelType = typeof c.model_type === 'string' ? c.model_type : undefined;
  if (!modelType) throw new ModelConfigError(configPath, 'it has no "model_type".');
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new UnsupportedModelError(configPath, `model_type ${quoteName(modelType, 40)} is not supported; LLM Lens reads GPT-2-family models (${SUPPORTED_MODEL_TYPES.join(', ')}).`);
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
  if (dModel % nHead !== 0) throw new ModelConfigError(configPath, `n_embd (${dModel}) is not a multiple of n_head (${nHead}).`);
  const optId = (n: string) => (typeof c[n] === 'number' && Number.isInteger(c[n]) ? (c[n] as number) : Array.isArray(c[n]) && typeof (c[n] as unknown[])[0] === 'number' ? ((c[n] as number[])[0]) : undefined);
  return {
    modelType,
    vocabSize,
    dModel,
    nLayer,
    nHead,
    nCtx,
    eosTokenId: optId('eos_token_id'),
    bosTokenId: optId('bos_token_id'),
    layerNormEpsilon: typeof c.layer_norm_epsilon === 'number' ? c.layer_norm_epsilon : undefined,
    tieWordEmbeddings: c.tie_word_embeddings !== false,
    raw: c,
  };
}

export function toModelSpec(f: ModelFolder, source: string, extra: Pick<ModelSpec, 'eosTokenId' | 'fim'> = {}, name?: string): ModelSpec {
  const c = f.config;
  return {
    name: name ?? f.name,
    source,
    modelType: c.modelType,
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    nLayer: c.nLayer,
    nHead: c.nHead,
    headDim: c.dModel / c.nHead,
    nCtx: c.nCtx,
    eosTokenId: extra.eosTokenId ?? c.eosTokenId,
    fim: extra.fim,
    fileBytes: f.onnxBytes,
  };
}

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
