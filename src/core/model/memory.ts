// How much memory a model takes to load and read text with, estimated from its file sizes and config.json before
// anything large is read, so that a model that cannot fit is refused with the figure (ModelMemoryError) instead of
// failing inside the runtime with "std::bad_alloc" after a minute of reading.
//
// The factors are measured, on onnxruntime-web 1.30 (the size of its WebAssembly.Memory) and onnxruntime-node (the
// process's resident memory), with the models models/train/make_llama_testmodels.py writes at real shapes:
//   - creating a session peaks at 2.7 to 3.1 times the model's bytes (SmolLM2-135M fp32 3.0, its q4 2.8, Qwen2.5-0.5B
//     q4 2.7, a graph of one embedding 3.1): the bytes copied in, onnxruntime's parsed copy, the weights as tensors;
//     the first two are freed once it exists, but a WebAssembly heap never shrinks. A 1.37 GB graph of one embedding
//     failed on the 4 GB heap (std::bad_alloc), a 1.17 GB one loaded at 3.6 GB.
//   - a run reuses that freed space first: the heap then holds about twice the model plus the run's tensors, which
//     are the attention probabilities of every layer (heads x tokens x tokens floats each, kept for the overview
//     thumbnails) and the logits with their softmax (tokens x vocabulary floats, twice).
//   - the completion engine's own session (generate.ts, a second copy of the weights, made on the first completion)
//     brings the heap to about four times the model (measured 4.0 to 4.2).
//   - outside the runtime, the Node process holds the graph as read (external data inlined), the encoded copy of the
//     instrumented graph handed to the runtime, the float embedding the lens keeps (vocab x d x 4 bytes) and, for an
//     untied head, a float copy of it (measured within 2% of this sum); the completion engine reads the graph and
//     encodes its plain copy once more while its session is created (the process peaked at 5.0 GB for SmolLM2-135M
//     fp32 with completions; this estimate says 5.0).
//   - a float16 file (model_fp16, model_q4f16) is read as float32 (onnx/upcast.ts): its float16 tensors take twice
//     their bytes from the graph as read onwards, so every factor above applies to the file's bytes plus its float16
//     bytes (about twice the file for model_fp16; the embedding and the block scales for model_q4f16), the same as
//     the fp32 file's would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceRuntime } from '../runtime/runtime';
import { decodeModel } from '../onnx/proto';
import { formatMemory, ModelMemoryError } from './errors';

export { formatMemory };
import { openModelFolder, QUANTIZED_MODEL_TYPES, type ModelFolder } from './folder';

/** Peak of session creation, in model bytes: the highest measured, so that the check errs towards loading less. */
export const SESSION_FACTOR = 3.1;
/** What the runtime holds once the session exists and a run has reused the freed space, in model bytes. */
export const STEADY_FACTOR = 2;
/** The runtime's memory with the completion engine's session beside the analysis one, in model bytes. */
export const COMPLETION_FACTOR = 4;
/** The text length the check allows for: the bench's analysis, a paragraph or a function. */
export const RUN_TOKENS = 512;

/** What the estimate needs to know of a model: its bytes on disk and a few sizes from config.json. */
export interface MemoryInput {
  /** The ONNX graph and its external data files, as on disk. */
  fileBytes: number;
  /** Of those, the bytes of float16 tensors, which take twice as many once read as float32 (onnx/upcast.ts). */
  float16Bytes?: number;
  vocabSize: number;
  dModel: number;
  nLayer: number;
  nHead: number;
  /** config.json's tie_word_embeddings is false: the LM head counts as a float copy (a quantized one needs none). */
  untiedHead?: boolean;
}

export interface MemoryEstimate {
  fileBytes: number;
  /** The file's float16 bytes (0 for a float32 or 8-bit file). */
  float16Bytes: number;
  /** The graph read as float32: the file's bytes plus its float16 bytes. What the factors apply to. */
  graphBytes: number;
  /** In the Node process, outside the runtime: the graph as read, the instrumented copy, the embedding, the head. */
  hostBytes: number;
  host: { graph: number; instrumented: number; embedding: number; head: number };
  /** The runtime's peak while it creates the analysis session. */
  sessionBytes: number;
  /** The tensors of one analysis of `tokens` tokens. */
  runBytes: number;
  tokens: number;
  /** The runtime's memory to load the model and analyse `tokens` tokens: the larger of the session peak and steady + run. */
  runtimeBytes: number;
  /** The same with the completion engine's session as well. */
  runtimeWithCompletionsBytes: number;
  /** The whole process, to load and analyse. */
  totalBytes: number;
  /** The whole process, with completions: the completion engine reads and encodes the graph again for its session. */
  totalWithCompletionsBytes: number;
}

/** The bytes an analysis run of `tokens` tokens holds in the runtime (see the header). */
export function runBytes(input: Pick<MemoryInput, 'vocabSize' | 'nLayer' | 'nHead'>, tokens: number): number {
  return 4 * (input.nLayer * input.nHead * tokens * tokens + 2 * tokens * input.vocabSize);
}

/**
 * config.json's sizes, bounded by what the file's bytes can hold: each embedding row takes d bytes at least (8-bit),
 * each layer 2 d^2 bytes at least (four d x d projections at 4 bits), each head a dimension. A config that claims more
 * is a mismatch the load refuses by name (the vocabulary against the embedding's rows, the layers against the graph),
 * not a model too large for memory.
 */
function bounded(input: MemoryInput): MemoryInput {
  const d = Math.max(1, input.dModel);
  return {
    ...input,
    float16Bytes: Math.min(Math.max(0, input.float16Bytes ?? 0), input.fileBytes),
    vocabSize: Math.min(input.vocabSize, Math.floor(input.fileBytes / d)),
    nLayer: Math.min(input.nLayer, Math.floor(input.fileBytes / (2 * d * d))),
    nHead: Math.min(input.nHead, d),
  };
}

export function estimateMemory(given: MemoryInput, tokens = RUN_TOKENS): MemoryEstimate {
  const input = bounded(given);
  const float16Bytes = input.float16Bytes ?? 0;
  // The graph as the lens holds it: float16 read as float32.
  const W = input.fileBytes + float16Bytes;
  const embedding = input.vocabSize * input.dModel * 4 + input.vocabSize * 4;
  // A float16 file's own bytes stay held beside their float32 copies (the decoded graph's small tensors are views
  // into the file's buffer): the graph as read is the float32 graph plus the float16 bytes once more.
  const host = { graph: W + float16Bytes, instrumented: W, embedding, head: input.untiedHead ? input.vocabSize * input.dModel * 4 : 0 };
  const hostBytes = host.graph + host.instrumented + host.embedding + host.head;
  const sessionBytes = SESSION_FACTOR * W;
  const run = runBytes(input, tokens);
  const runtimeBytes = Math.max(sessionBytes, STEADY_FACTOR * W + run);
  const runtimeWithCompletionsBytes = Math.max(runtimeBytes, COMPLETION_FACTOR * W);
  return {
    fileBytes: input.fileBytes,
    float16Bytes,
    graphBytes: W,
    hostBytes,
    host,
    sessionBytes,
    runBytes: run,
    tokens,
    runtimeBytes,
    runtimeWithCompletionsBytes,
    totalBytes: hostBytes + runtimeBytes,
    totalWithCompletionsBytes: hostBytes + 2 * W + runtimeWithCompletionsBytes,
  };
}

/** Where the memory has to fit: onnxruntime-web's WebAssembly heap, or (native) the machine's memory. */
export interface MemoryLimit {
  kind: 'wasm' | 'native';
  /** The runtime's own limit (the WebAssembly heap); undefined for native, which only the machine bounds. */
  runtimeBytes?: number;
  machineBytes: number;
}

export function memoryLimitOf(runtime: InferenceRuntime, machineBytes = os.totalmem()): MemoryLimit {
  return runtime.memoryLimitBytes !== undefined ? { kind: 'wasm', runtimeBytes: runtime.memoryLimitBytes, machineBytes } : { kind: 'native', machineBytes };
}

/** What a check compares: the model's need and the limit it broke, if it broke one. */
export interface MemoryVerdict {
  estimate: MemoryEstimate;
  /** 'runtime': the WebAssembly heap; 'machine': the machine's memory. Undefined when it fits. */
  over?: 'runtime' | 'machine';
  neededBytes: number;
  limitBytes: number;
}

/** Whether the model fits, for loading it (`load`) or for the completion engine's session beside it (`completions`). */
export function judgeMemory(estimate: MemoryEstimate, limit: MemoryLimit, purpose: 'load' | 'completions' = 'load'): MemoryVerdict {
  const runtime = purpose === 'load' ? estimate.runtimeBytes : estimate.runtimeWithCompletionsBytes;
  const total = purpose === 'load' ? estimate.totalBytes : estimate.totalWithCompletionsBytes;
  if (limit.runtimeBytes !== undefined && runtime > limit.runtimeBytes) return { estimate, over: 'runtime', neededBytes: runtime, limitBytes: limit.runtimeBytes };
  if (total > limit.machineBytes) return { estimate, over: 'machine', neededBytes: total, limitBytes: limit.machineBytes };
  return { estimate, neededBytes: limit.runtimeBytes !== undefined ? runtime : total, limitBytes: limit.runtimeBytes ?? limit.machineBytes };
}

// Only a graph this small is decoded to find its external data: a graph with its weights outside is a few MB, and a
// large one holds its weights itself.
const MAX_DECODED_GRAPH = 64 * 1024 * 1024;

/**
 * The graph's bytes with its external data: the files its initializers name (each counted once, as readModelFile
 * reads them whole), or for a graph too large to decode, the `<file>_data*` files beside it (the optimum layout).
 * Names that leave the folder, links and missing files are skipped here: reading the model refuses them by name.
 */
export function modelFileBytes(folder: Pick<ModelFolder, 'folder' | 'onnxPath' | 'onnxBytes'>): number {
  const dir = path.dirname(folder.onnxPath);
  const locations = new Set<string>();
  if (folder.onnxBytes <= MAX_DECODED_GRAPH) {
    try {
      const model = decodeModel(fs.readFileSync(folder.onnxPath), folder.onnxPath);
      for (const t of model.graph?.initializer ?? []) {
        const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
        if (location) locations.add(location);
      }
    } catch {
      // Not a graph it can decode: the load says why; the file's own size is the estimate.
    }
  } else {
    const base = path.basename(folder.onnxPath);
    for (const name of safeReaddir(dir)) if (name.startsWith(`${base}_data`) || name === `${base}.data`) locations.add(name);
  }
  let bytes = folder.onnxBytes;
  for (const location of locations) bytes += fileSizeInside(folder.folder, dir, location);
  return bytes;
}

const FLOAT16 = 10;

/**
 * How many bytes of the model's file are float16 tensors, which the lens reads as float32 (twice the bytes). Counted
 * from the graph when it is small enough to decode (a graph with external data, or any graph of up to 64 MB); else
 * from the variant's name (`variant`: the file name, or what a download manifest says it was): model_fp16 is float16
 * throughout; model_q4f16 holds its token embedding (vocab x d) and one float16 scale per 32 4-bit weights (18 bytes
 * a block: 2 of them) in float16.
 */
export function float16FileBytes(folder: Pick<ModelFolder, 'onnxPath' | 'onnxBytes'>, fileBytes: number, variant: string, shape: { vocabSize: number; dModel: number }): number {
  if (folder.onnxBytes <= MAX_DECODED_GRAPH) {
    try {
      const model = decodeModel(fs.readFileSync(folder.onnxPath), folder.onnxPath);
      let n = 0;
      const count = (t: { dataType?: number | null; dims?: unknown[] | null }) => {
        if (t.dataType === FLOAT16) n += 2 * (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
      };
      for (const t of model.graph?.initializer ?? []) count(t);
      for (const node of model.graph?.node ?? []) for (const a of node.attribute ?? []) if (a.t) count(a.t);
      return Math.min(n, fileBytes);
    } catch {
      // Not a graph it can decode: the load says why.
      return 0;
    }
  }
  if (/q4f16/.test(variant)) {
    const embedding = Math.min(fileBytes, 2 * shape.vocabSize * shape.dModel);
    return Math.round(embedding + (fileBytes - embedding) / 9);
  }
  return /fp16|float16/.test(variant) ? fileBytes : 0;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function fileSizeInside(folder: string, dir: string, location: string): number {
  if (path.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) return 0;
  const target = path.resolve(dir, location);
  const rel = path.relative(folder, target);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return 0;
  try {
    const st = fs.lstatSync(target);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

/** The estimate for a model folder (the ONNX file `onnxFile`, default onnx/model.onnx), from its files and config.json. */
export function estimateFolderMemory(folderPath: string, options: { onnxFile?: string; tokens?: number } = {}): { folder: ModelFolder; estimate: MemoryEstimate } {
  // The size limit is the load's own check, with its own message; here every size is only counted.
  const folder = openModelFolder(folderPath, { onnxFile: options.onnxFile, maxModelBytes: Number.MAX_SAFE_INTEGER });
  const c = folder.config;
  const fileBytes = modelFileBytes(folder);
  const float16Bytes = float16FileBytes(folder, fileBytes, variantOf(folder), { vocabSize: c.vocabSize, dModel: c.dModel });
  const estimate = estimateMemory({ fileBytes, float16Bytes, vocabSize: c.vocabSize, dModel: c.dModel, nLayer: c.nLayer, nHead: c.nHead, untiedHead: !c.tieWordEmbeddings }, options.tokens);
  return { folder, estimate };
}

export interface MemoryCheckOptions {
  onnxFile?: string;
  runtime: InferenceRuntime;
  purpose?: 'load' | 'completions';
  /** The machine's memory (default os.totalmem()); tests pass their own. */
  machineBytes?: number;
}

/**
 * Refuses, with ModelMemoryError, a model whose estimated need is more than the runtime's heap or the machine's
 * memory; returns the estimate when it fits. Cheap: config.json, file sizes, and a small graph decoded.
 */
export function checkModelMemory(folderPath: string, options: MemoryCheckOptions): MemoryEstimate {
  const { folder, estimate } = estimateFolderMemory(folderPath, { onnxFile: options.onnxFile });
  const limit = memoryLimitOf(options.runtime, options.machineBytes);
  const purpose = options.purpose ?? 'load';
  const verdict = judgeMemory(estimate, limit, purpose);
  if (!verdict.over) return estimate;
  throw new ModelMemoryError({
    file: path.relative(folder.folder, folder.onnxPath) || path.basename(folder.onnxPath),
    folder: folder.folder,
    purpose,
    over: verdict.over,
    neededBytes: verdict.neededBytes,
    limitBytes: verdict.limitBytes,
    estimate,
    alternatives: alternatives(folder, estimate, limit, purpose),
  });
}

/** What would work instead, each checked against the same estimate: the native runtime, a q4 file. */
function alternatives(folder: ModelFolder, estimate: MemoryEstimate, limit: MemoryLimit, purpose: 'load' | 'completions'): string[] {
  const out: string[] = [];
  if (limit.kind === 'wasm' && !judgeMemory(estimate, { kind: 'native', machineBytes: limit.machineBytes }, purpose).over) {
    out.push(`the native runtime (onnxruntime-node: the llmLens.runtime.backend setting, auto or native), which only this machine's ${formatMemory(limit.machineBytes)} bound`);
  }
  if (QUANTIZED_MODEL_TYPES.includes(folder.config.modelType) && !isQ4(folder)) {
    const q4 = path.join(folder.folder, 'onnx', 'model_q4.onnx');
    let size: number | undefined;
    try {
      size = fs.statSync(q4).isFile() ? modelFileBytes({ folder: folder.folder, onnxPath: q4, onnxBytes: fs.statSync(q4).size }) : undefined;
    } catch {
      size = undefined;
    }
    if (size !== undefined) {
      const q4Estimate = estimateMemory({ ...inputOf(folder), fileBytes: size }, estimate.tokens);
      if (!judgeMemory(q4Estimate, limit, purpose).over) out.push(`its 4-bit file onnx/model_q4.onnx in the same folder (${formatMemory(size)}, about ${formatMemory(purpose === 'load' ? q4Estimate.runtimeBytes : q4Estimate.runtimeWithCompletionsBytes)} of memory to run)`);
    } else {
      out.push('its 4-bit (q4) variant, onnx/model_q4.onnx on the hub, about a third of the full-precision size: LLM Lens: Select Model > Download from Hugging Face...');
    }
  }
  return out;
}

function inputOf(folder: ModelFolder): Omit<MemoryInput, 'fileBytes'> {
  const c = folder.config;
  return { vocabSize: c.vocabSize, dModel: c.dModel, nLayer: c.nLayer, nHead: c.nHead, untiedHead: !c.tieWordEmbeddings };
}

// lens-download.json (hub/download.ts MANIFEST_FILE): a downloaded folder saves any variant as onnx/model.onnx and
// names it there. Read here by name rather than through the hub code, which the worker does not otherwise load.
const MANIFEST = 'lens-download.json';

/** The file read is a q4 (or q4f16) one: by its name, or by the download manifest of a folder that saved it as model.onnx. */
function isQ4(folder: ModelFolder): boolean {
  return /_q4/.test(variantOf(folder));
}

/** The variant name of the file read: the download manifest's for a folder that saved it as model.onnx, else the file's. */
function variantOf(folder: Pick<ModelFolder, 'folder' | 'onnxPath'>): string {
  const base = path.basename(folder.onnxPath);
  if (base === 'model.onnx') {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(folder.folder, MANIFEST), 'utf8')) as { variant?: unknown };
      if (typeof m.variant === 'string') return m.variant;
    } catch {
      // No manifest: a folder on disk.
    }
  }
  return base;
}

