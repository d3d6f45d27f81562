// What a repository revision holds, from the hub's API: its commit, its files with their LFS sizes and
// SHA-256, its model type, the ONNX variants under onnx/ and which of them the lens reads for that model type, and
// whether its config.json is a model type the lens reads.
import { QUANTIZED_MODEL_TYPES, SUPPORTED_MODEL_TYPES } from '../model/folder';
import { HubBadResponseError, HubUnreadableVariantError, HubUnsupportedModelError, HubVariantError } from './errors';
import { getSmall, parseJson, type HubRequestOptions } from './http';
import { apiRevisionUrl, unsafePathReason } from './urls';

/** One file of the revision as the API lists it (`siblings`); sizes and `lfs` only with `?blobs=true`. */
export interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256: string; size: number; pointerSize?: number };
}

export interface RevisionInfo {
  repo: string;
  revision: string;
  /** The commit the revision points at now; later files are fetched at this commit so they all match. */
  commit?: string;
  siblings: Sibling[];
  /**
   * config.json's model_type as the API summarises it (its `config` field), when it does: a hint that spares
   * fetching config.json to tell which variants are readable; config.json itself decides once it is downloaded.
   */
  modelType?: string;
}

export interface OnnxVariant {
  /** File name under onnx/ without `.onnx`: `model`, `model_quantized`, `decoder_model_merged`, ... */
  name: string;
  /** `onnx/<name>.onnx` */
  file: Sibling;
  /** External-data companions (`<name>.onnx_data`, `<name>.onnx_data_1`, ...), fetched with it. */
  data: Sibling[];
  /**
   * Listed names that start like this graph's external data but are unsafe as a path (`onnx/model.onnx_data/../x`,
   * a backslash, control characters): never fetched; the download of this variant is refused because of them.
   */
  unsafe?: string[];
  /** Bytes of the graph and its external data, when the API gave sizes. */
  size?: number;
}

export const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
export const OPTIONAL_FILES = ['generation_config.json'] as const;

export function siblingSize(s: Sibling): number | undefined {
  return s.lfs?.size ?? s.size;
}

export async function fetchRevisionInfo(endpoint: string, repo: string, revision: string, opts: HubRequestOptions): Promise<RevisionInfo> {
  const url = apiRevisionUrl(endpoint, repo, revision);
  const { bytes } = await getSmall(url, repo, `Repository ${repo} at revision ${revision}`, opts, 32 * 1024 * 1024);
  const json = parseJson<{ sha?: unknown; siblings?: unknown; config?: unknown }>(bytes, `the file list of ${repo}`);
  if (!json || !Array.isArray(json.siblings)) throw new HubBadResponseError(`the file list of ${repo}`, 'no "siblings" array');
  const siblings: Sibling[] = [];
  for (const s of json.siblings as Record<string, unknown>[]) {
    if (!s || typeof s.rfilename !== 'string') continue;
    const lfs = s.lfs as Record<string, unknown> | undefined;
    siblings.push({
      rfilename: s.rfilename,
      size: typeof s.size === 'number' ? s.size : undefined,
      // `blobId` in this API, `oid` in the tree API: the git blob hash, checked for files not stored in LFS.
      blobId: typeof s.blobId === 'string' ? s.blobId.toLowerCase() : typeof s.oid === 'string' ? s.oid.toLowerCase() : undefined,
      lfs:
        lfs && typeof lfs.sha256 === 'string' && typeof lfs.size === 'number'
          ? { sha256: lfs.sha256.toLowerCase(), size: lfs.size, pointerSize: typeof lfs.pointerSize === 'number' ? lfs.pointerSize : undefined }
          : undefined,
    });
  }
  const commit = typeof json.sha === 'string' && /^[0-9a-f]{40}$/i.test(json.sha) ? json.sha : undefined;
  const config = json.config as Record<string, unknown> | undefined;
  // Only a plain short name is kept: it is compared with a list, and shown in messages.
  const modelType = config && typeof config === 'object' && typeof config.model_type === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(config.model_type) ? config.model_type : undefined;
  return { repo, revision, commit, siblings, ...(modelType ? { modelType } : {}) };
}

// A variant's base name: the characters transformers.js names use (model, decoder_model_merged, model_q4f16), no
// separators, nothing Windows reads specially. Listed names are the hub's text, and data names become local paths.
const GRAPH = /^onnx\/([A-Za-z0-9_][A-Za-z0-9_.-]*)\.onnx$/;

/** The git blob hash the listing gives for a file not stored in LFS (40 hex digits), if any. */
export function gitBlobId(s: Sibling): string | undefined {
  return !s.lfs && s.blobId && /^[0-9a-f]{40}$/.test(s.blobId) ? s.blobId : undefined;
}

/**
 * The ONNX graphs directly under onnx/, each with its external-data files, sorted by name. Only the exact names the
 * lens writes are taken (`onnx/<name>.onnx`, `onnx/<name>.onnx_data`, `onnx/<name>.onnx_data_<N>`): a prefix match
 * would take any listed name that starts like the data file, `onnx/model.onnx_data/../../x` included, as a path.
 */
export function listOnnxVariants(siblings: readonly Sibling[]): OnnxVariant[] {
  const variants: OnnxVariant[] = [];
  for (const s of siblings) {
    const m = GRAPH.exec(s.rfilename);
    if (!m) continue;
    const prefix = `${s.rfilename}_data`;
    const data = siblings.filter((d) => d.rfilename.startsWith(prefix) && /^(_\d+)?$/.test(d.rfilename.slice(prefix.length)));
    // Other names that start like the data and are no safe path: not fetched, and the listing is not to be trusted.
    const unsafe = siblings.filter((d) => d.rfilename.startsWith(prefix) && unsafePathReason(d.rfilename)).map((d) => d.rfilename);
    const sizes = [s, ...data].map(siblingSize);
    variants.push({
      name: m[1],
      file: s,
      data,
      size: sizes.every((n) => n !== undefined) ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined,
      ...(unsafe.length ? { unsafe } : {}),
    });
  }
  return variants.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * model_type values whose quantized exports the lens reads (core/model/folder.ts, where the memory check reads it
 * too): the 4-bit MatMulNBits files (model_q4, and model_q4f16 read as float32), and the 8-bit DynamicQuantizeLinear
 * -> MatMulInteger files (model_quantized, model_int8, model_uint8), tested on Llama and Qwen2 graphs
 * (test/unit/llamaLens.test.ts). GPT-2's quantized files are not: their position embedding is 8-bit too. 16-bit files
 * (model_fp16) are read for every supported model type: the lens reads them as the float32 graph they were made from
 * (src/core/onnx/upcast.ts).
 */
export { QUANTIZED_MODEL_TYPES };

/** The number format a transformers.js variant name says (`model_q4f16`, `decoder_model_quantized`, ...). */
export type VariantFormat = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q8' | 'bnb4' | 'otherQuantized';

export function variantFormat(name: string): VariantFormat {
  // q4f16 before fp16 and q4: its name holds both.
  if (/q4f16/.test(name)) return 'q4f16';
  if (/fp16|float16/.test(name)) return 'fp16';
  if (/bnb4/.test(name)) return 'bnb4';
  if (/_q4/.test(name)) return 'q4';
  if (/quantized|int8|uint8/.test(name)) return 'q8';
  if (/_q8/.test(name)) return 'otherQuantized';
  return 'fp32';
}

/**
 * Why LLM Lens cannot read a variant of a `modelType` model, from its transformers.js name, or undefined when it can.
 * The lens reads float32 and float16 graphs, and the q4, q4f16 and 8-bit files of Llama-family models (see
 * QUANTIZED_MODEL_TYPES); it
 * runs a whole prompt through the graph at once (the 2023 exports of decoder_with_past_model take exactly one new
 * token per run, so the load probe fails), and finds layers, softmaxes and the LM head among the graph's nodes: a
 * merged decoder hides them inside an If's branches. These are refused by name before the download; "merged" is only
 * a hint (see `looksMerged`): the downloaded graph decides. Without a model type, quantized files are refused.
 */
export function variantProblem(name: string, modelType?: string): string | undefined {
  return variantNameProblem(name, modelType) ?? (looksMerged(name) ? 'named as a merged decoder, whose layers sit inside If branches the lens cannot instrument' : undefined);
}

/**
 * What the name says for certain: the number format (for this model type), or a graph that takes past key/values one
 * token at a time. Refused even when asked for by name (unlike a name that only looks merged).
 */
export function variantNameProblem(name: string, modelType?: string): string | undefined {
  const format = variantFormat(name);
  if (format === 'bnb4') return 'bitsandbytes 4-bit weights, which LLM Lens does not read';
  if (format === 'otherQuantized') return 'quantized weights in a format LLM Lens does not read';
  // Kept this short (a list's note, a message's parenthesis): quantizedNote says which models they are read for.
  if ((format === 'q4' || format === 'q4f16' || format === 'q8') && !readsQuantized(modelType)) return 'quantized weights';
  if (/with_past/.test(name)) return 'a decoder that takes past key/values and exactly one new token per run, while the lens runs whole prompts';
  return undefined;
}

/**
 * Why a q4, q4f16 or 8-bit file is refused for this model type, as a sentence, or undefined when it is not (or the
 * variant is not one of those).
 */
export function quantizedNote(name: string, modelType: string | undefined): string | undefined {
  const format = variantFormat(name);
  if ((format !== 'q4' && format !== 'q4f16' && format !== 'q8') || readsQuantized(modelType)) return undefined;
  const families = `Llama-family models (model_type ${QUANTIZED_MODEL_TYPES.join(', ')})`;
  return modelType === undefined
    ? `LLM Lens reads quantized files of ${families} only, and the repository did not say its model type.`
    : `LLM Lens reads quantized files of ${families} only, and this is a ${modelType} model.`;
}

/** Whether the lens reads the quantized (q4, q4f16, 8-bit) variants of this model type. */
export function readsQuantized(modelType: string | undefined): boolean {
  return modelType !== undefined && QUANTIZED_MODEL_TYPES.includes(modelType);
}

/**
 * Whether the variant `asked` (or the default) is readable for some model types and not others, so that the model
 * type must be known before it is chosen: a quantized file, which only a Llama-family repository makes readable.
 */
export function variantChoiceNeedsModelType(repo: string, variants: readonly OnnxVariant[], asked?: string): boolean {
  try {
    const v = pickVariant(repo, variants, asked, QUANTIZED_MODEL_TYPES[0]);
    return variantNameProblem(v.name) !== undefined;
  } catch {
    // Refused whatever the model type (absent, bitsandbytes, past key/values): pickVariant says why without it.
    return false;
  }
}

/**
 * Named like a merged decoder. Only a hint: some files called decoder_model_merged hold a plain graph, and a merged
 * graph can be called model.onnx; the download reads the graph and decides (src/core/onnx/merged.ts). Such a name
 * is never the default choice, but is downloaded when asked for by name.
 */
export function looksMerged(name: string): boolean {
  return /merged/.test(name);
}

// The default is full precision: the lens shows activations, which quantization distorts, so looking inside reads the
// float32 graph. Where a repository has none, float16 comes closest (its weights rounded, read as float32: hidden
// states within 0.005 of float32 on the tiny test models), then 8-bit (0.2), then 4-bit (0.8 to 1.1). (For completions
// alone the q4 file is the better download, smaller and faster: the picker's recommended models name it.)
const PREFERRED = ['model', 'decoder_model'];
const FORMAT_ORDER: Record<VariantFormat, number> = { fp32: 0, fp16: 1, q8: 2, q4: 3, q4f16: 4, bnb4: 5, otherQuantized: 5 };

/**
 * The variant asked for (`model`, `model.onnx` or `onnx/model.onnx`), or the default: the first of PREFERRED, else
 * the first variant the lens can read by its name, full precision before 8-bit before 4-bit. A variant whose name
 * says the lens cannot read it (for `modelType`) is refused here, before the download; one merely named "merged" is
 * downloaded when asked for, and its graph decides.
 */
export function pickVariant(repo: string, variants: readonly OnnxVariant[], asked?: string, modelType?: string): OnnxVariant {
  const names = variants.map((v) => v.name);
  const readable = variants.filter((v) => !variantProblem(v.name, modelType));
  if (asked) {
    const want = asked.replace(/^onnx\//, '').replace(/\.onnx$/, '');
    const hit = variants.find((v) => v.name === want);
    if (!hit) throw new HubVariantError(repo, asked, names);
    const problem = variantNameProblem(hit.name, modelType);
    if (problem) throw new HubUnreadableVariantError(repo, hit.name, problem, readable.map((v) => v.name), names, [], quantizedNote(hit.name, modelType));
    return hit;
  }
  if (!variants.length) throw new HubVariantError(repo, '', []);
  if (!readable.length) {
    const askable = variants.filter((v) => looksMerged(v.name) && !variantNameProblem(v.name, modelType)).map((v) => v.name);
    throw new HubUnreadableVariantError(repo, undefined, undefined, [], names, askable);
  }
  for (const p of PREFERRED) {
    const hit = readable.find((v) => v.name === p);
    if (hit) return hit;
  }
  // Stable: among equals, the listing's (alphabetical) order.
  return [...readable].sort((a, b) => FORMAT_ORDER[variantFormat(a.name)] - FORMAT_ORDER[variantFormat(b.name)])[0];
}

/**
 * The whole variant's bytes (graph and every external data file, from the listing's LFS sizes) against the model
 * size limit, before the first byte: the lens inlines the external data into one graph when it loads, so the sum is
 * what must fit. Sizes the listing lacks count as 0 here (the model folder check still applies after the download).
 * Undefined when it fits, else the message's "file" part and the sum.
 */
export function variantSizeProblem(repo: string, v: OnnxVariant, limit: number): { what: string; bytes: number } | undefined {
  const parts = [v.file, ...v.data].map((s) => ({ name: s.rfilename, bytes: siblingSize(s) }));
  const bytes = parts.reduce((a, p) => a + (p.bytes ?? 0), 0);
  if (bytes <= limit) return undefined;
  if (!v.data.length) return { what: `${repo}/${v.file.rfilename}`, bytes };
  const mib = (n: number | undefined) => (n === undefined ? 'size unknown' : `${(n / (1024 * 1024)).toFixed(1)} MB`);
  return { what: `${repo}/${v.file.rfilename} with its external data (${parts.map((p) => `${p.name} ${mib(p.bytes)}`).join(' + ')})`, bytes };
}

export interface ModelConfigSummary {
  modelType: string;
  architectures: string[];
}

/** Refuses a config.json of a model type the lens does not read, before any large file is fetched. */
export function checkSupportedConfig(repo: string, config: unknown, supported: readonly string[] = SUPPORTED_MODEL_TYPES): ModelConfigSummary {
  const c = (config && typeof config === 'object' ? config : {}) as Record<string, unknown>;
  const modelType = typeof c.model_type === 'string' ? c.model_type : '';
  const architectures = Array.isArray(c.architectures) ? c.architectures.filter((a): a is string => typeof a === 'string') : [];
  // The same list the model folder check (src/core/model/folder.ts) applies when the model loads.
  if (!supported.includes(modelType)) throw new HubUnsupportedModelError(repo, modelType, architectures, supported);
  return { modelType, architectures };
}
