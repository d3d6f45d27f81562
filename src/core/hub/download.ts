// Downloads one GPT-2-family model from the hub into `<dir>/<owner>--<name>@<rev>/` in the
// transformers.js layout: small files first (config.json is checked before anything large), the ONNX
// variant into a `.part` file that resumes with HTTP Range, size and SHA-256 verified, the graph read to
// refuse a merged decoder before its external data is fetched, then one rename of the finished folder
// into place so a half-done download never looks like a model.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, errorMessage } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { ModelFormatError, ModelTooLargeError } from '../model/errors';
import { DEFAULT_MAX_MODEL_BYTES, openModelFolder, readConfig } from '../model/folder';
import { readMergedDecoderEvidence } from '../onnx/merged';
import {
  HubChecksumError,
  HubDiskFullError,
  HubError,
  HubFileSystemError,
  HubHtmlPageError,
  HubMergedGraphError,
  HubMissingFileError,
  HubTruncatedError,
  HubUnsafeFileNameError,
  formatBytes,
} from './errors';
import { delay, getSmall, hubRequest, isHtml, networkError, parseJson, shownUrl, statusError, type HubRequestOptions, type RateLimitPolicy } from './http';
import {
  checkSupportedConfig,
  fetchRevisionInfo,
  gitBlobId,
  listOnnxVariants,
  looksMerged,
  pickVariant,
  siblingSize,
  variantProblem,
  variantSizeProblem,
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
}

/** The revision's ONNX variants with sizes, for a picker. Also checks the repository exists and is reachable. */
export async function listVariants(
  opts: Pick<DownloadOptions, 'repo' | 'revision' | 'endpoint' | 'token' | 'signal' | 'idleTimeoutMs' | 'rateLimit' | 'agent' | 'logger'>,
): Promise<{ info: RevisionInfo; variants: OnnxVariant[]; defaultVariant?: string }> {
  const repo = checkRepoId(opts.repo);
  const info = await fetchRevisionInfo(opts.endpoint ?? DEFAULT_ENDPOINT, repo, checkRevision(opts.revision ?? DEFAULT_REVISION), httpOptions(opts, opts.logger ?? silentLogger));
  const variants = listOnnxVariants(info.siblings);
  // No default when none is readable: the picker and `download --list` say why for each.
  return { info, variants, defaultVariant: variants.some((v) => !variantProblem(v.name)) ? pickVariant(repo, variants).name : undefined };
}

export async function downloadModel(opts: DownloadOptions): Promise<DownloadResult> {
  const repo = checkRepoId(opts.repo);
  const revision = checkRevision(opts.revision || DEFAULT_REVISION);
  const endpoint = opts.endpoint || DEFAULT_ENDPOINT;
  const log = opts.logger ?? silentLogger;
  const ctx: Ctx = { opts, endpoint, repo, revision, http: httpOptions(opts, log), log, progress: new Progress(opts.onProgress), resumedBytes: 0 };

  const info = await fetchRevisionInfo(endpoint, repo, revision, ctx.http);
  const at = info.commit ?? revision;
  const byName = new Map(info.siblings.map((s) => [s.rfilename, s]));
  for (const f of REQUIRED_FILES) if (!byName.has(f)) throw new HubMissingFileError(repo, revision, f);
  const variants = listOnnxVariants(info.siblings);
  const variant = pickVariant(repo, variants, opts.variant);
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
  const maxModelBytes = opts.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES;
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
  await prepareStaging(staging, manifest, log);

  const sizes = [...small, ...large.map((l) => l.sibling)].map(siblingSize);
  ctx.progress.total = sizes.every((n) => n !== undefined) ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined;

  // config.json first: an unsupported architecture is refused before anything large is fetched.
  for (const { sibling: s, dest } of smallTargets) {
    const bytes = await fetchSmallFile(ctx, s, at, dest);
    if (s.rfilename === 'config.json') {
      try {
        checkSupportedConfig(repo, parseJson(bytes, `${repo}/config.json`));
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
  await moveIntoPlace(staging, finalDir, path.join(opts.dir, STAGING_DIR));
  log.info(`hub: ${repo}@${revision} saved to ${finalDir}`);
  return { folder: finalDir, manifest, resumedBytes: ctx.resumedBytes };
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
    const alternatives = variants.filter((v) => v !== variant && !variantProblem(v.name)).map((v) => v.name);
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

async function fetchSmallFile(ctx: Ctx, s: Sibling, at: string, dest: string): Promise<Buffer> {
  const url = resolveUrl(ctx.endpoint, ctx.repo, at, s.rfilename);
  ctx.progress.emit(s.rfilename, true);
  const { bytes } = await getSmall(url, ctx.repo, s.rfilename, ctx.http);
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
  let offset = await fileSize(part);
  if (expectedSize !== undefined && offset > expectedSize) offset = await discard(part);
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
  const contentLength = Number(res.headers['content-length']);
  if (expectedSize === undefined && Number.isFinite(contentLength)) expectedSize = start + contentLength;
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
    const aside = path.join(stagingRoot, `.replaced-${process.pid}-${Date.now()}`);
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
