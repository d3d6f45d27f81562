// What a repository revision holds, from the hub's API: its commit, its files with their LFS sizes and
// SHA-256, the ONNX variants under onnx/, and whether its config.json is a model type the lens reads.
import { SUPPORTED_MODEL_TYPES } from '../model/folder';
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
  const json = parseJson<{ sha?: unknown; siblings?: unknown }>(bytes, `the file list of ${repo}`);
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
  return { repo, revision, commit, siblings };
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
 * Why LLM Lens cannot read a variant, from its transformers.js name, or undefined when it can. The lens reads
 * float32 weights and activations (a quantized or float16 graph fails the model check when it loads), runs a whole
 * prompt through the graph at once (the 2023 exports of decoder_with_past_model take exactly one new token per
 * run, so the load probe fails), and finds layers, softmaxes and the LM head among the graph's nodes: a merged
 * decoder hides them inside an If's branches. These are refused by name before the download; "merged" is only a
 * hint (see `looksMerged`): the downloaded graph decides.
 */
export function variantProblem(name: string): string | undefined {
  return variantNameProblem(name) ?? (looksMerged(name) ? 'named as a merged decoder, whose layers sit inside If branches the lens cannot instrument' : undefined);
}

/**
 * What the name says for certain: the number format, or a graph that takes past key/values one token at a time.
 * Refused even when asked for by name (unlike a name that only looks merged).
 */
export function variantNameProblem(name: string): string | undefined {
  if (/fp16|float16/.test(name)) return '16-bit floats';
  if (/quantized|int8|uint8|_q4|_q8|bnb4/.test(name)) return 'quantized weights';
  if (/with_past/.test(name)) return 'a decoder that takes past key/values and exactly one new token per run, while the lens runs whole prompts';
  return undefined;
}

/**
 * Named like a merged decoder. Only a hint: some files called decoder_model_merged hold a plain graph, and a merged
 * graph can be called model.onnx; the download reads the graph and decides (src/core/onnx/merged.ts). Such a name
 * is never the default choice, but is downloaded when asked for by name.
 */
export function looksMerged(name: string): boolean {
  return /merged/.test(name);
}

// Full precision first: the lens shows activations, which quantization distorts.
const PREFERRED = ['model', 'decoder_model'];

/**
 * The variant asked for (`model`, `model.onnx` or `onnx/model.onnx`), or the default: the first of PREFERRED, else
 * the first variant the lens can read by its name. A variant whose name says the lens cannot read it is refused
 * here, before the download; one merely named "merged" is downloaded when asked for, and its graph decides.
 */
export function pickVariant(repo: string, variants: readonly OnnxVariant[], asked?: string): OnnxVariant {
  const names = variants.map((v) => v.name);
  const readable = variants.filter((v) => !variantProblem(v.name));
  if (asked) {
    const want = asked.replace(/^onnx\//, '').replace(/\.onnx$/, '');
    const hit = variants.find((v) => v.name === want);
    if (!hit) throw new HubVariantError(repo, asked, names);
    const problem = variantNameProblem(hit.name);
    if (problem) throw new HubUnreadableVariantError(repo, hit.name, problem, readable.map((v) => v.name), names);
    return hit;
  }
  if (!variants.length) throw new HubVariantError(repo, '', []);
  if (!readable.length) {
    const askable = variants.filter((v) => looksMerged(v.name) && !variantNameProblem(v.name)).map((v) => v.name);
    throw new HubUnreadableVariantError(repo, undefined, undefined, [], names, askable);
  }
  for (const p of PREFERRED) {
    const hit = readable.find((v) => v.name === p);
    if (hit) return hit;
  }
  return readable[0];
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
