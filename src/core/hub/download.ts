// Downloads one model (GPT-2 or Llama family) from the hub into `<dir>/<owner>--<name>@<rev>/` in the
// transformers.js layout: small files first (config.json is checked before anything large), the ONNX
// variant into a `.part` file that resumes with HTTP Range, size and SHA-256 verified, the graph read to
// refuse a merged decoder before its external data is fetched, then one rename of the finished folder
// into place so a half-done download never looks like a model. A lock file beside the staging folder keeps a
// second window from writing into the same one, and a model folder that an interrupted replacement left moved
// aside is put back.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError, errorMessage } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { ModelFormatError, ModelTooLargeError } from '../model/errors';
import { DEFAULT_MAX_MODEL_BYTES, openModelFolder, readConfig } from '../model/folder';
import { readMergedDecoderEvidence } from '../onnx/merged';
import {
  HubChecksumError,
  HubDiskFullError,
  HubDownloadBusyError,
  HubError,
  HubFileSystemError,
  HubHtmlPageError,
  HubMergedGraphError,
  HubMissingFileError,
  HubTooLargeError,
  HubTruncatedError,
  HubUnreadableVariantError,
  HubUnsafeFileNameError,
  formatBytes,
  quoteName,
} from './errors';
import { delay, getSmall, hubRequest, isHtml, networkError, parseJson, shownUrl, statusError, type HubRequestOptions, type RateLimitPolicy } from './http';
import {
  checkSupportedConfig,
  fetchRevisionInfo,
  gitBlobId,
  listOnnxVariants,
  looksMerged,
  pickVariant,
  quantizedNote,
  siblingSize,
  variantChoiceNeedsModelType,
  variantNameProblem,
  variantProblem,
  variantSizeProblem,
  QUANTIZED_MODEL_TYPES,
  OPTIONAL_FILES,
  REQUIRED_FILES,
  type OnnxVariant,
  type RevisionInfo,
  type Sibling,
} from './repo';
import { DEFAULT_ENDPOINT, DEFAULT_REVISION, checkRepoId, checkRevision, modelFolderName, resolveUrl, unsafePathReason } from './urls';

/** Where the chosen variant is saved: the name transformers.js loads by default, so the folder has one unambiguous graph. */
export const MODEL_FILE = 'onnx/model.onnx';
/** Written into every downloaded folder: where it came from and which variant `onnx/model.onnx` is. */
export const MANIFEST_FILE = 'lens-download.json';
/** Unfinished downloads live here, one folder each, until they are complete. */
export const STAGING_DIR = '.downloads';
/**
 * A model folder being replaced is moved to `<STAGING_DIR>/.replaced-<pid>-<ms>-<folder>` until the new one is in
 * place (older versions wrote `.replaced-<pid>-<ms>`, naming the folder only in its manifest).
 */
const REPLACED = /^\.replaced-\d+-(\d+)(?:-(.+))?$/;
/**
 * A download lock that has not been refreshed for this long is taken over even when its process seems alive: the pid
 * may have been reused since a crash, or the lock may come from another machine sharing the folder. The holder
 * refreshes it every LOCK_REFRESH_MS, so only a download stopped for hours (a suspended machine) loses it.
 */
export const LOCK_STALE_MS = 3 * 60 * 60 * 1000;
const LOCK_REFRESH_MS = 5 * 60 * 1000;

export interface DownloadProgress {
  /** Bytes of the whole download on disk so far, resumed bytes included. */
  bytes: number;
  /** Bytes of the whole download, when the hub gave every size. */
  total?: number;
  /** Transfer rate over the last few seconds (resumed bytes excluded). */
  bytesPerSecond: number;
  /** The repository file being fetched. */
  file: string;
}

export interface DownloadOptions {
  repo: string;
  revision?: string;
  /** ONNX variant name under onnx/ (see `listVariants`); the full-precision one when absent. */
  variant?: string;
  endpoint?: string;
  /** The models folder; the model lands in `<dir>/<owner>--<name>@<rev>/`. */
  dir: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  logger?: Logger;
  /** Automatic resumes of an interrupted large file before giving up (default 3). */
  retries?: number;
  idleTimeoutMs?: number;
  /**
   * Largest model accepted (the model folder check's limit): the graph with all its external data, which the lens
   * inlines into one graph when it loads; a larger variant is refused before the transfer.
   */
  maxModelBytes?: number;
  /** How a 429 is waited out (retries, longest wait, the wait itself); defaults in http.ts. */
  rateLimit?: RateLimitPolicy;
  /** The agent per URL, for a proxy tunnel (the CLI's HTTPS_PROXY, see proxy.ts); Node's default when absent. */
  agent?: HubRequestOptions['agent'];
  /** A further check of the finished folder, after the model folder check, before it is moved into place; a throw aborts the download. */
  validate?: (folder: string) => Promise<void>;
}

export interface DownloadManifest {
  repo: string;
  revision: string;
  commit?: string;
  endpoint: string;
  /** The ONNX variant saved as onnx/model.onnx. */
  variant: string;
  files: { path: string; source: string; size?: number; sha256?: string }[];
  complete: boolean;
  downloadedAt?: string;
}

export interface DownloadResult {
  folder: string;
  manifest: DownloadManifest;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedBytes: number;
}

interface Ctx {
  opts: DownloadOptions;
  endpoint: string;
  repo: string;
  revision: string;
  http: HubRequestOptions;
  log: Logger;
  progress: Progress;
  resumedBytes: number;
  /** The model size limit, which also caps a transfer of unknown size. */
  maxModelBytes: number;
  /** Bytes of the large files (graph, external data) already complete, counted against `maxModelBytes`. */
  largeBytes: number;
  /** config.json's model_type, once it is read: which other variants a refusal may suggest. */
  modelType?: string;
}

export interface VariantListing {
  info: RevisionInfo;
  variants: OnnxVariant[];
  /** The variant downloaded when none is named (full precision where there is one); none when nothing is readable. */
  defaultVariant?: string;
  /**
   * config.json's model_type, which decides whether the quantized variants are readable (`variantProblem(name,
   * modelType)`): from the API's summary, else from config.json when a quantized variant is listed; undefined when
   * neither says.
   */
  modelType?: string;
}

/** The revision's ONNX variants with sizes, for a picker. Also checks the repository exists and is reachable. */
export async function listVariants(
  opts: Pick<DownloadOptions, 'repo' | 'revision' | 'endpoint' | 'token' | 'signal' | 'idleTimeoutMs' | 'rateLimit' | 'agent' | 'logger'>,
): Promise<VariantListing> {
  const repo = checkRepoId(opts.repo);
  const endpoint = opts.endpoint ?? DEFAULT_ENDPOINT;
  const http = httpOptions(opts, opts.logger ?? silentLogger);
  const info = await fetchRevisionInfo(endpoint, repo, checkRevision(opts.revision ?? DEFAULT_REVISION), http);
  const variants = listOnnxVariants(info.siblings);
  let modelType = info.modelType;
  // config.json is small: fetched only when the API did not say and a listed variant's readability depends on it.
  const config = info.siblings.find((s) => s.rfilename === 'config.json');
  if (modelType === undefined && config && variants.some((v) => variantProblem(v.name, QUANTIZED_MODEL_TYPES[0]) !== variantProblem(v.name))) {
    const { bytes } = await getSmall(resolveUrl(endpoint, repo, info.commit ?? info.revision, config.rfilename), repo, config.rfilename, http);
    modelType = modelTypeOf(bytes);
  }
  // No default when none is readable: the picker and `download --list` say why for each.
  const defaultVariant = variants.some((v) => !variantProblem(v.name, modelType)) ? pickVariant(repo, variants, undefined, modelType).name : undefined;
  return { info, variants, defaultVariant, ...(modelType !== undefined ? { modelType } : {}) };
}

/** config.json's model_type, or undefined when the bytes are not a JSON object with one (the download says why). */
function modelTypeOf(bytes: Buffer): string | undefined {
  try {
    const c = JSON.parse(bytes.toString('utf8')) as { model_type?: unknown } | null;
    return c && typeof c.model_type === 'string' ? c.model_type : undefined;
  } catch {
    return undefined;
  }
}

export async function downloadModel(opts: DownloadOptions): Promise<DownloadResult> {
  const repo = checkRepoId(opts.repo);
  const revision = checkRevision(opts.revision || DEFAULT_REVISION);
  const endpoint = opts.endpoint || DEFAULT_ENDPOINT;
  const log = opts.logger ?? silentLogger;
  const maxModelBytes = opts.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES;
  const ctx: Ctx = { opts, endpoint, repo, revision, http: httpOptions(opts, log), log, progress: new Progress(opts.onProgress), resumedBytes: 0, maxModelBytes, largeBytes: 0 };

  const info = await fetchRevisionInfo(endpoint, repo, revision, ctx.http);
  const at = info.commit ?? revision;
  const byName = new Map(info.siblings.map((s) => [s.rfilename, s]));
  for (const f of REQUIRED_FILES) if (!byName.has(f)) throw new HubMissingFileError(repo, revision, f);
  const variants = listOnnxVariants(info.siblings);
  // Whether a quantized variant is readable depends on the model type: the API's summary says it, else config.json
  // is fetched now, ahead of the others, and refused at once if it is not a model type the lens reads. Only then, so
  // that a download refused from the listing alone still costs one request.
  let modelType = info.modelType;
  let config: Buffer | undefined;
  if (modelType === undefined && variantChoiceNeedsModelType(repo, variants, opts.variant)) {
    config = (await getSmall(resolveUrl(endpoint, repo, at, 'config.json'), repo, 'config.json', ctx.http)).bytes;
    modelType = checkSupportedConfig(repo, parseJson(config, `${repo}/config.json`)).modelType;
  }
  const variant = pickVariant(repo, variants, opts.variant, modelType);
  // A name that starts like the graph's external data but is no safe path: the listing is not a hub's, and the graph
  // may need a file the lens will not fetch under that name; refused before anything is written.
  if (variant.unsafe?.length) throw new HubUnsafeFileNameError(repo, variant.unsafe[0], unsafePathReason(variant.unsafe[0]) ?? 'not a file name LLM Lens writes');
  const small = [...REQUIRED_FILES, ...OPTIONAL_FILES.filter((f) => byName.has(f))].map((f) => byName.get(f)!);
  // The chosen graph becomes onnx/model.onnx; external data keeps its name, which the graph refers to.
  const large = [
    { sibling: variant.file, target: MODEL_FILE },
    ...variant.data.map((d) => ({ sibling: d, target: d.rfilename })),
  ];
  log.info(`hub: ${repo}@${revision} (${info.commit ?? 'commit unknown'}), variant ${variant.name} ${variant.size !== undefined ? formatBytes(variant.size) : ''}`);
  if (looksMerged(variant.name)) log.warn(`hub: ${variant.file.rfilename} is named like a merged decoder, which LLM Lens cannot read; its graph is checked once it is downloaded`);
  // The graph and all its external data, before the first byte: a data file over the limit would otherwise be
  // refused only when the model loads, after gigabytes.
  const tooLarge = variantSizeProblem(repo, variant, maxModelBytes);
  if (tooLarge) throw new ModelTooLargeError(tooLarge.what, tooLarge.bytes, maxModelBytes);

  const folderName = modelFolderName(repo, revision);
  const finalDir = path.join(opts.dir, folderName);
  const staging = path.join(opts.dir, STAGING_DIR, folderName);
  // Every local path is checked before anything is written: none may land outside the staging folder.
  const smallTargets = small.map((s) => ({ sibling: s, dest: stagingPath(staging, repo, s.rfilename) }));
  const largeTargets = large.map((l) => ({ sibling: l.sibling, dest: stagingPath(staging, repo, l.target) }));
  const manifest: DownloadManifest = {
    repo,
    revision,
    commit: info.commit,
    endpoint,
    variant: variant.name,
    files: [...small.map((s) => ({ sibling: s, target: s.rfilename })), ...large].map(({ sibling, target }) => ({
      path: target,
      source: sibling.rfilename,
      size: siblingSize(sibling),
      sha256: sibling.lfs?.sha256,
    })),
    complete: false,
  };
  // Held until the folder is in place or abandoned: another window downloading the same folder stops here, before
  // prepareStaging could delete or overwrite what this one writes.
  const lock = await lockDownloadFolder(opts.dir, folderName, `${repo}@${revision}`);
  try {
    await settleReplaced(opts.dir, folderName, log, true);
    await prepareStaging(staging, manifest, log);

    const sizes = [...small, ...large.map((l) => l.sibling)].map(siblingSize);
    ctx.progress.total = sizes.every((n) => n !== undefined) ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined;

    // config.json first: an unsupported architecture is refused before anything large is fetched.
    for (const { sibling: s, dest } of smallTargets) {
      const bytes = await fetchSmallFile(ctx, s, at, dest, s.rfilename === 'config.json' ? config : undefined);
      if (s.rfilename === 'config.json') {
        try {
          const actual = checkSupportedConfig(repo, parseJson(bytes, `${repo}/config.json`)).modelType;
          // The API's summary chose the variant; config.json has the last word (a quantized GPT-2 file is not read).
          const problem = variantNameProblem(variant.name, actual);
          if (problem) throw new HubUnreadableVariantError(repo, variant.name, problem, variants.filter((v) => !variantProblem(v.name, actual)).map((v) => v.name), variants.map((v) => v.name), [], quantizedNote(variant.name, actual));
          ctx.modelType = actual;
          // The model folder check's reading of config.json: missing sizes are refused now, not after the large file.
          readConfig(path.join(staging, 'config.json'));
        } catch (e) {
          await removeStaging(staging);
          throw e;
        }
      }
    }
    for (const [i, l] of largeTargets.entries()) {
      await fetchLargeFile(ctx, l.sibling, at, l.dest);
      // The graph comes first: a merged one is refused before its external data (most of the bytes) is fetched.
      if (i === 0) await refuseMergedGraph(ctx, variant, variants, l.dest, maxModelBytes, staging);
    }

    manifest.complete = true;
    manifest.downloadedAt = new Date().toISOString();
    await writeFileChecked(path.join(staging, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), opts.dir);
    // The same check a model folder gets when it loads: a folder that would not load is never moved into place.
    try {
      openModelFolder(staging, { maxModelBytes });
      await opts.validate?.(staging);
    } catch (e) {
      await removeStaging(staging);
      throw e;
    }
    // A window that found this lock stale (this one was suspended for hours) may be writing here now: not moved.
    await lock.check();
    await moveIntoPlace(staging, finalDir, path.join(opts.dir, STAGING_DIR));
    log.info(`hub: ${repo}@${revision} saved to ${finalDir}`);
    return { folder: finalDir, manifest, resumedBytes: ctx.resumedBytes };
  } finally {
    await lock.release();
  }
}

/**
 * `<staging>/<name>` as an absolute path, for a repository file name that is a plain relative path (see
 * `unsafePathReason`) and that resolves inside the staging folder: the same containment check huggingface_hub makes
 * before it writes a file, so that no listing, however it is spelled, can write anywhere else.
 */
export function stagingPath(staging: string, repo: string, name: string): string {
  const why = unsafePathReason(name);
  if (why) throw new HubUnsafeFileNameError(repo, name, why);
  const root = path.resolve(staging);
  const target = path.resolve(root, ...name.split('/'));
  if (!target.startsWith(root + path.sep)) throw new HubUnsafeFileNameError(repo, name, 'it resolves outside the download folder');
  return target;
}

function httpOptions(opts: Pick<DownloadOptions, 'token' | 'signal' | 'idleTimeoutMs' | 'rateLimit' | 'agent'>, log: Logger): HubRequestOptions {
  const rateLimit: RateLimitPolicy = {
    ...opts.rateLimit,
    // Said before each wait, so that a download waiting out a 429 is not taken for a stuck one.
    onWait: opts.rateLimit?.onWait ?? ((seconds, url) => log.warn(`hub: ${url} answered HTTP 429 (too many requests); waiting ${seconds} s as the hub asks, then trying again`)),
  };
  return { token: opts.token, signal: opts.signal, idleTimeoutMs: opts.idleTimeoutMs, rateLimit, agent: opts.agent };
}

/**
 * Reads the downloaded graph and refuses a merged decoder, whatever the file is called, removing the staging folder;
 * a plain graph is kept whatever its name says. Bytes that do not decode are left to the model folder check and the
 * load, which report them (the hub's checksum already vouched that they are the repository's).
 */
async function refuseMergedGraph(ctx: Ctx, variant: OnnxVariant, variants: readonly OnnxVariant[], graph: string, maxBytes: number, staging: string): Promise<void> {
  let evidence: string[];
  try {
    evidence = await readMergedDecoderEvidence(graph, maxBytes);
  } catch (e) {
    if (!(e instanceof ModelFormatError) && !(e instanceof ModelTooLargeError)) throw e;
    ctx.log.warn(`hub: could not read the graph of ${variant.file.rfilename} to tell whether it is a merged decoder (${errorMessage(e)})`);
    return;
  }
  if (evidence.length) {
    await removeStaging(staging);
    const alternatives = variants.filter((v) => v !== variant && !variantProblem(v.name, ctx.modelType)).map((v) => v.name);
    throw new HubMergedGraphError(ctx.repo, variant.file.rfilename, evidence, alternatives);
  }
  if (looksMerged(variant.name)) ctx.log.info(`hub: ${variant.file.rfilename} holds a plain graph despite its name; kept`);
}

/**
 * Keeps an earlier attempt's staging folder only when it expected the very same files (same hashes,
 * same variant); otherwise its `.part` bytes belong to other content and are thrown away.
 */
async function prepareStaging(staging: string, manifest: DownloadManifest, log: Logger): Promise<void> {
  const manifestPath = path.join(staging, MANIFEST_FILE);
  let keep = false;
  try {
    const old = JSON.parse(await fs.promises.readFile(manifestPath, 'utf8')) as DownloadManifest;
    keep = sameContent(old, manifest);
  } catch {
    keep = false;
  }
  if (!keep) {
    await fs.promises.rm(staging, { recursive: true, force: true });
  } else {
    log.info(`hub: resuming the earlier download in ${staging}`);
  }
  await mkdirChecked(path.join(staging, 'onnx'), path.dirname(staging));
  await writeFileChecked(manifestPath, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), path.dirname(staging));
}

function sameContent(a: DownloadManifest, b: DownloadManifest): boolean {
  const key = (m: DownloadManifest) => JSON.stringify([m.repo, m.variant, m.files.map((f) => [f.path, f.source, f.size, f.sha256 ?? m.commit])]);
  return key(a) === key(b);
}

/** Fetches a small file (or takes the bytes `fetched` ahead of the others), checks it against the listing, writes it. */
async function fetchSmallFile(ctx: Ctx, s: Sibling, at: string, dest: string, fetched?: Buffer): Promise<Buffer> {
  const url = resolveUrl(ctx.endpoint, ctx.repo, at, s.rfilename);
  ctx.progress.emit(s.rfilename, true);
  const bytes = fetched ?? (await getSmall(url, ctx.repo, s.rfilename, ctx.http)).bytes;
  const expected = siblingSize(s);
  if (expected !== undefined && bytes.length !== expected) {
    throw new HubChecksumError(s.rfilename, `${bytes.length} bytes where the hub lists ${expected}`);
  }
  const blobId = gitBlobId(s);
  if (s.lfs) {
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== s.lfs.sha256) throw new HubChecksumError(s.rfilename, `SHA-256 ${got.slice(0, 12)}... where the hub published ${s.lfs.sha256.slice(0, 12)}...`);
  } else if (blobId) {
    // A file outside LFS: its blobId is its git blob hash, sha1("blob <size>\0" + content).
    const got = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    if (got !== blobId) throw new HubChecksumError(s.rfilename, `git blob hash ${got.slice(0, 12)}... where the hub lists ${blobId.slice(0, 12)}...`);
  }
  // Every small file LLM Lens fetches is JSON: anything else (an error page with a JSON content type) is refused now.
  parseJson(bytes, `${ctx.repo}/${s.rfilename}`);
  await mkdirChecked(path.dirname(dest), ctx.opts.dir);
  await writeFileChecked(dest, bytes, ctx.opts.dir);
  ctx.progress.update(s.rfilename, bytes.length, bytes.length);
  ctx.progress.finishFile(s.rfilename, bytes.length);
  return bytes;
}

/**
 * Fetches a large file into `<dest>.part`, resuming with Range from what is already there, retrying
 * after an interruption, and renames it to `dest` once its size and SHA-256 match.
 */
async function fetchLargeFile(ctx: Ctx, s: Sibling, at: string, dest: string): Promise<void> {
  const url = resolveUrl(ctx.endpoint, ctx.repo, at, s.rfilename);
  const part = `${dest}.part`;
  const retries = ctx.opts.retries ?? 3;
  let lastError: HubError | undefined;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        ctx.log.warn(`hub: ${s.rfilename} interrupted (${lastError?.message}); resuming, attempt ${attempt + 1} of ${retries + 1}`);
        await delay(Math.min(2000, 250 * attempt), ctx.opts.signal);
      }
      const outcome = await fetchLargeOnce(ctx, s, url, part, attempt === 0);
      if (outcome.done) {
        await renameChecked(part, dest);
        ctx.largeBytes += outcome.size;
        ctx.progress.finishFile(s.rfilename, outcome.size);
        return;
      }
      lastError = outcome.error;
    }
    throw lastError!;
  } catch (e) {
    if (e instanceof HubError) e.partialKept = (await fileSize(part)) > 0;
    throw e;
  }
}

type Attempt = { done: true; size: number } | { done: false; error: HubError };

async function fetchLargeOnce(ctx: Ctx, s: Sibling, url: string, part: string, first: boolean): Promise<Attempt> {
  const file = s.rfilename;
  let expectedSha = s.lfs?.sha256;
  let expectedSize = siblingSize(s);
  // A graph kept in git rather than LFS has no SHA-256 in the listing, only its git blob hash: checked instead, so
  // that a large file is never accepted on its length alone.
  const blobId = gitBlobId(s);
  // What this file may take of the model size limit. Listed sizes were checked before the first byte, but a file the
  // hub gives no size for (none in the listing, on the redirect, or in Content-Length) would otherwise be written for
  // as long as the server sends: the transfer stops here instead.
  const budget = Math.max(0, ctx.maxModelBytes - ctx.largeBytes);
  let offset = await fileSize(part);
  if ((expectedSize !== undefined && offset > expectedSize) || offset > budget) offset = await discard(part);
  if (offset > 0 && expectedSize !== undefined && offset === expectedSize) {
    // Complete already (an earlier run stopped between the last byte and the rename).
    const ok =
      expectedSha !== undefined ? (await hashFile(part)).digest('hex') === expectedSha : blobId !== undefined ? (await gitBlobHash(part, offset)) === blobId : true;
    if (ok) {
      if (first) ctx.resumedBytes += offset;
      return { done: true, size: offset };
    }
    offset = await discard(part);
  }

  const res = await hubRequest(url, { ...ctx.http, headers: offset > 0 ? { range: `bytes=${offset}-` } : {} });
  if (res.status === 416) {
    // The server has nothing past our offset: what we hold is not what it serves; start over.
    res.body.resume();
    await discard(part);
    return { done: false, error: new HubTruncatedError(file, 0, expectedSize) };
  }
  if (res.status !== 200 && res.status !== 206) {
    res.body.resume();
    throw statusError(res, ctx.repo, file, new URL(url).origin);
  }
  // The hub publishes the hash and size on the redirect hop; they must agree with the API's.
  if (res.linked.sha256) {
    if (expectedSha && res.linked.sha256 !== expectedSha) {
      res.body.resume();
      await discard(part);
      throw new HubChecksumError(file, `the hub published two different SHA-256 values (${expectedSha.slice(0, 12)}... and ${res.linked.sha256.slice(0, 12)}...)`);
    }
    expectedSha = res.linked.sha256;
  }
  if (res.linked.size !== undefined) {
    if (expectedSize !== undefined && res.linked.size !== expectedSize) {
      res.body.resume();
      await discard(part);
      throw new HubChecksumError(file, `the hub published two different sizes (${expectedSize} and ${res.linked.size} bytes)`);
    }
    expectedSize = res.linked.size;
  }

  let start = 0;
  if (res.status === 206) {
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!cr || Number(cr[1]) !== offset) {
      res.body.resume();
      await discard(part);
      return { done: false, error: new HubTruncatedError(file, 0, expectedSize) };
    }
    start = offset;
  } else if (offset > 0) {
    ctx.log.info(`hub: the server ignored the range request for ${file}; downloading it from the start`);
  }
  const contentLength = Number(res.headers['content-length']);
  if (expectedSize === undefined && Number.isSafeInteger(contentLength) && contentLength >= 0) expectedSize = start + contentLength;
  if (expectedSize !== undefined && expectedSize > budget) {
    // Announced too large (a listing without sizes, then Content-Length): refused before a byte of it is written.
    res.body.destroy();
    await discard(part);
    const what = ctx.largeBytes ? `${ctx.repo}/${file} with the ${formatBytes(ctx.largeBytes)} of model files before it` : `${ctx.repo}/${file}`;
    throw new ModelTooLargeError(what, ctx.largeBytes + expectedSize, ctx.maxModelBytes);
  }
  if (first) ctx.resumedBytes += start;
  ctx.progress.update(file, start, 0);
  ctx.progress.emit(file, true);

  const hash = start > 0 ? await hashFile(part) : createHash('sha256');
  // Opened at the first chunk, once it is known not to be an error page: the bytes already kept stay intact until then.
  let fh: fs.promises.FileHandle | undefined;
  let received = start;
  let readError: unknown;
  try {
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (!fh) {
          if (isHtml(res.headers, chunk)) throw new HubHtmlPageError(file, shownUrl(res.url));
          fh = await openChecked(part, start > 0 ? 'a' : 'w', ctx.opts.dir, expectedSize);
        }
        if (expectedSize !== undefined && received + chunk.length > expectedSize) {
          await fh.close();
          fh = undefined;
          await discard(part);
          throw new HubChecksumError(file, `more than the ${expectedSize} bytes the hub published`);
        }
        if (received + chunk.length > budget) {
          await fh.close();
          fh = undefined;
          await discard(part);
          throw new HubTooLargeError(ctx.repo, file, budget);
        }
        try {
          await fh.write(chunk);
        } catch (e) {
          throw fsError(e, part, ctx.opts.dir, expectedSize !== undefined ? expectedSize - received : undefined);
        }
        hash.update(chunk);
        received += chunk.length;
        ctx.progress.update(file, received, chunk.length);
      }
    } catch (e) {
      if (e instanceof HubError) throw e;
      readError = e;
    }
  } catch (e) {
    res.body.destroy();
    await fh?.close().catch(() => undefined);
    // A partial file on a full disk helps nobody: free the space.
    if (e instanceof HubDiskFullError) await discard(part);
    throw e;
  }
  await fh?.close();

  if (readError !== undefined) {
    const failure = res.failure() ?? networkError(readError, res.url, ctx.opts.signal);
    if (failure instanceof CancelledError) throw failure;
    // A cut connection or a stall: keep the bytes, the caller resumes from them.
    return { done: false, error: new HubTruncatedError(file, received, expectedSize) };
  }
  // An empty body never opened the file; an empty file still needs one to rename.
  if (!fh && start === 0) await writeFileChecked(part, Buffer.alloc(0), ctx.opts.dir);
  if (expectedSize !== undefined && received < expectedSize) {
    return { done: false, error: new HubTruncatedError(file, received, expectedSize) };
  }
  if (expectedSha !== undefined) {
    const got = hash.digest('hex');
    if (got !== expectedSha) {
      await discard(part);
      throw new HubChecksumError(file, `SHA-256 ${got.slice(0, 12)}... where the hub published ${expectedSha.slice(0, 12)}...`);
    }
  } else if (blobId !== undefined) {
    // Hashed from the file, not the stream: the blob header needs the whole length, and a resume starts mid-file.
    const got = await gitBlobHash(part, received);
    if (got !== blobId) {
      await discard(part);
      throw new HubChecksumError(file, `git blob hash ${got.slice(0, 12)}... where the hub lists ${blobId.slice(0, 12)}...`);
    }
  }
  return { done: true, size: received };
}

async function openChecked(p: string, flags: string, dir: string, needed: number | undefined): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(p, flags);
  } catch (e) {
    throw fsError(e, p, dir, needed);
  }
}

/** Removes an abandoned staging folder, and the staging root too when nothing else is in it. */
async function removeStaging(staging: string): Promise<void> {
  await fs.promises.rm(staging, { recursive: true, force: true });
  await fs.promises.rmdir(path.dirname(staging)).catch(() => undefined);
}

async function fileSize(p: string): Promise<number> {
  try {
    const st = await fs.promises.stat(p);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

async function discard(p: string): Promise<0> {
  await fs.promises.rm(p, { force: true });
  return 0;
}

async function hashFile(p: string): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(p) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash;
}

/** The git blob hash of a file on disk: sha1("blob <size>\0" + content), what the hub lists for a file outside LFS. */
async function gitBlobHash(p: string, size: number): Promise<string> {
  const hash = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of fs.createReadStream(p) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function fsError(e: unknown, file: string, dir: string, needed: number | undefined): HubError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new HubDiskFullError(path.basename(file).replace(/\.part$/, ''), dir, needed);
  return new HubFileSystemError(file, errorMessage(e));
}

async function mkdirChecked(p: string, dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(p, { recursive: true });
  } catch (e) {
    throw fsError(e, p, dir, undefined);
  }
}

async function writeFileChecked(p: string, bytes: Buffer, dir: string): Promise<void> {
  try {
    await fs.promises.writeFile(p, bytes);
  } catch (e) {
    await fs.promises.rm(p, { force: true }).catch(() => undefined);
    throw fsError(e, p, dir, bytes.length);
  }
}

async function renameChecked(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (e) {
    throw fsError(e, to, path.dirname(to), undefined);
  }
}

/**
 * Puts the finished folder at `finalDir` with renames only: a model already there (an older
 * download of the same revision) is moved aside first and deleted after, or put back on failure.
 */
async function moveIntoPlace(staging: string, finalDir: string, stagingRoot: string): Promise<void> {
  try {
    await fs.promises.rename(staging, finalDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR') throw fsError(e, finalDir, path.dirname(finalDir), undefined);
    // Named after the folder, so that a crash before the new one is in can be undone (see settleReplaced).
    const aside = path.join(stagingRoot, `.replaced-${process.pid}-${Date.now()}-${path.basename(finalDir)}`);
    await renameChecked(finalDir, aside);
    try {
      await fs.promises.rename(staging, finalDir);
    } catch (e2) {
      await fs.promises.rename(aside, finalDir).catch(() => undefined);
      throw fsError(e2, finalDir, path.dirname(finalDir), undefined);
    }
    await fs.promises.rm(aside, { recursive: true, force: true });
  }
  await fs.promises.rmdir(stagingRoot).catch(() => undefined);
}

/** What a download lock file holds: who writes into the staging folder, since when. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** Tells this lock from a later one of the same process. */
  id: string;
}

export interface DownloadLock {
  readonly file: string;
  /** Throws HubDownloadBusyError when another download has taken the lock over (it found this one stale). */
  check(): Promise<void>;
  /** Removes the lock if it is still this one, and the staging root if nothing else is left in it. */
  release(): Promise<void>;
}

/**
 * `<dir>/.downloads/.<folder>.lock`: beside the staging folder rather than in it, so that it survives prepareStaging
 * clearing the folder and covers the rename into place; the leading dot keeps it apart from every folder name (a
 * repository id never starts with one).
 */
export function downloadLockPath(dir: string, folderName: string): string {
  return path.join(dir, STAGING_DIR, `.${folderName}.lock`);
}

/**
 * Takes the lock on `folderName`'s staging folder, failing at once with HubDownloadBusyError while another download
 * (another VS Code window, the CLI, or this window) holds it. A lock whose process is gone, or that has not been
 * refreshed for LOCK_STALE_MS, is taken over. `what` names the download in the error.
 */
export async function lockDownloadFolder(dir: string, folderName: string, what: string): Promise<DownloadLock> {
  const root = path.join(dir, STAGING_DIR);
  const file = downloadLockPath(dir, folderName);
  const mine: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), id: randomUUID() };
  for (let attempt = 0; attempt < 5; attempt++) {
    await mkdirChecked(root, dir);
    let fh: fs.promises.FileHandle | undefined;
    try {
      // 'wx' fails when the file exists: of two windows creating it at once, exactly one gets it.
      fh = await fs.promises.open(file, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: another download emptied and removed the staging root between the mkdir and the open.
      if (code !== 'EEXIST' && code !== 'ENOENT') throw fsError(e, file, dir, undefined);
    }
    if (fh) {
      try {
        await fh.writeFile(JSON.stringify(mine) + '\n');
      } finally {
        await fh.close();
      }
      return heldLock(file, root, mine, what);
    }
    const held = await readLock(file);
    if (!held) continue;
    if (!lockIsStale(held)) throw busyError(what, held, file);
    // Taken over by moving it aside (atomic) and checking that what moved is the lock judged stale, not a live one
    // another window put there in between (which goes back).
    const aside = `${file}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
    if (!(await fs.promises.rename(file, aside).then(() => true, () => false))) continue;
    const moved = await fs.promises.readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== held.text) await fs.promises.link(aside, file).catch(() => undefined);
    await fs.promises.rm(aside, { force: true });
  }
  const held = await readLock(file);
  throw busyError(what, held, file);
}

/** The error a download of `folderName` would fail with now, or undefined when nobody holds its lock (or a stale one). */
export async function downloadBusy(dir: string, folderName: string, what: string): Promise<HubDownloadBusyError | undefined> {
  const file = downloadLockPath(dir, folderName);
  const held = await readLock(file);
  return held && !lockIsStale(held) ? busyError(what, held, file) : undefined;
}

function heldLock(file: string, root: string, mine: LockHolder, what: string): DownloadLock {
  // Refreshed so that a long download never looks stale; unref'd so that it keeps no process alive.
  const timer = setInterval(() => {
    const now = new Date();
    void fs.promises.utimes(file, now, now).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  timer.unref?.();
  return {
    file,
    async check() {
      const held = await readLock(file);
      if (held && held.holder?.id !== mine.id) throw busyError(what, held, file);
    },
    async release() {
      clearInterval(timer);
      const held = await readLock(file);
      if (held?.holder?.id === mine.id) await fs.promises.rm(file, { force: true });
      await fs.promises.rmdir(root).catch(() => undefined);
    },
  };
}

interface ReadLock {
  text: string;
  holder?: LockHolder;
  mtimeMs: number;
}

async function readLock(file: string): Promise<ReadLock | undefined> {
  try {
    const [text, st] = await Promise.all([fs.promises.readFile(file, 'utf8'), fs.promises.stat(file)]);
    let holder: LockHolder | undefined;
    try {
      const h = JSON.parse(text) as Partial<LockHolder>;
      if (typeof h.pid === 'number' && Number.isSafeInteger(h.pid) && h.pid > 0 && typeof h.host === 'string' && typeof h.since === 'string' && typeof h.id === 'string') holder = h as LockHolder;
    } catch {
      holder = undefined;
    }
    return { text, holder, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * Stale: not refreshed for LOCK_STALE_MS, or held by a process of this machine that no longer runs (process.kill
 * with signal 0 only asks; EPERM means it runs as another user). A lock without a readable holder is one being
 * written this instant, or a torn one a crash left: stale after a few seconds.
 */
function lockIsStale(lock: ReadLock, now = Date.now()): boolean {
  const age = now - lock.mtimeMs;
  if (age > LOCK_STALE_MS) return true;
  if (!lock.holder) return age > 10_000;
  // A pid of another machine (a models folder on a network share) says nothing here: only the age counts.
  if (lock.holder.host !== os.hostname()) return false;
  try {
    process.kill(lock.holder.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function busyError(what: string, held: ReadLock | undefined, file: string): HubDownloadBusyError {
  const h = held?.holder;
  const since = h && Number.isFinite(Date.parse(h.since)) ? `since ${new Date(h.since).toISOString()}` : '';
  const where = h && h.host !== os.hostname() ? `on ${quoteName(h.host, 64)}` : '';
  return new HubDownloadBusyError(what, h?.pid, [where, since].filter(Boolean).join(', '), file);
}

/** The model folder a `.replaced-*` folder was moved aside from: named in it, else (older versions) in its manifest. */
export function replacedFolderOf(dir: string, name: string): string | undefined {
  const m = REPLACED.exec(name);
  if (!m) return undefined;
  if (m[2]) return m[2];
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, STAGING_DIR, name, MANIFEST_FILE), 'utf8')) as Partial<DownloadManifest>;
    if (typeof manifest.repo === 'string' && typeof manifest.revision === 'string') return modelFolderName(manifest.repo, manifest.revision);
  } catch {
    // A folder copied in by hand that was replaced: nothing says where it belongs.
  }
  return undefined;
}

/**
 * Settles what an interrupted replacement of `folderName` left in the staging root; the caller holds its lock. A crash
 * between moving the old folder aside and moving the new one in leaves no model folder, only the old one aside: it is
 * put back (the newest, when there are several), the conservative choice, since the new one in staging may not have
 * passed its checks (it stays there, listed as unfinished, and downloading again completes it). An old folder aside
 * while the model folder is back in place was superseded: removed when `removeSuperseded` (a download replacing that
 * folder anyway), else left for the listing to show.
 */
export async function settleReplaced(dir: string, folderName: string, log: Logger, removeSuperseded: boolean): Promise<void> {
  const root = path.join(dir, STAGING_DIR);
  const names = await fs.promises.readdir(root).catch(() => [] as string[]);
  const movedAt = (n: string) => Number(REPLACED.exec(n)?.[1] ?? 0);
  const mine = names.filter((n) => replacedFolderOf(dir, n) === folderName).sort((a, b) => movedAt(b) - movedAt(a));
  const finalDir = path.join(dir, folderName);
  for (const n of mine) {
    const aside = path.join(root, n);
    if (!(await fs.promises.lstat(aside).then((st) => st.isDirectory(), () => false))) continue;
    if (!fs.existsSync(finalDir)) {
      await renameChecked(aside, finalDir);
      log.warn(`hub: ${finalDir} was missing after an interrupted replacement; put back from ${aside}`);
    } else if (removeSuperseded) {
      await fs.promises.rm(aside, { recursive: true, force: true });
      log.info(`hub: removed ${aside}, an older copy of ${finalDir} left by an interrupted replacement`);
    }
  }
}

/**
 * Puts back every model folder an interrupted replacement left moved aside (see settleReplaced), for the listing:
 * each under its lock, and none whose lock is held, since that window may be between its two renames right now.
 */
export async function restoreReplaced(dir: string, log: Logger = silentLogger): Promise<void> {
  const names = await fs.promises.readdir(path.join(dir, STAGING_DIR)).catch(() => [] as string[]);
  const missing = new Set<string>();
  for (const n of names) {
    const folder = replacedFolderOf(dir, n);
    if (folder && !fs.existsSync(path.join(dir, folder))) missing.add(folder);
  }
  for (const folder of missing) {
    try {
      const lock = await lockDownloadFolder(dir, folder, folder);
      try {
        await settleReplaced(dir, folder, log, false);
      } finally {
        await lock.release();
      }
    } catch (e) {
      // Busy, or the folder cannot be written: the listing still shows the folder aside, and the next download settles it.
      if (!(e instanceof HubError)) throw e;
      log.warn(`hub: could not put back ${folder} (${e.message})`);
    }
  }
}

/** Sums bytes over the whole download and reports at most every 100 ms, with the rate over the last 3 s. */
class Progress {
  total?: number;
  private completed = 0;
  private current = 0;
  private last = 0;
  private transferred = 0;
  private samples: [number, number][] = [];

  constructor(private readonly sink?: (p: DownloadProgress) => void) {}

  /** The file being fetched now holds `bytes`; `arrived` of them just came over the network. */
  update(file: string, bytes: number, arrived: number): void {
    this.current = bytes;
    if (arrived > 0) {
      this.transferred += arrived;
      const now = Date.now();
      this.samples.push([now, this.transferred]);
      while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    }
    this.emit(file);
  }

  finishFile(file: string, size: number): void {
    this.completed += size;
    this.current = 0;
    this.emit(file, true);
  }

  emit(file: string, force = false): void {
    if (!this.sink) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    let bps = 0;
    if (this.samples.length >= 2) {
      const [t0, b0] = this.samples[0];
      const [t1, b1] = this.samples[this.samples.length - 1];
      bps = t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
    }
    this.sink({ bytes: this.completed + this.current, total: this.total, bytesPerSecond: Math.round(bps), file });
  }
}
