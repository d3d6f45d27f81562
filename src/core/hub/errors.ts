// Typed failures of a hub download, each with a message a person can act on and a `code` the host
// and the CLI branch on; `partialKept` says whether a rerun resumes from the bytes already on disk.
import { LensError } from '../common/errors';

export class HubError extends LensError {
  /** True when a `.part` file was kept so that the same download resumes where it stopped. */
  partialKept = false;
}

/** Nothing answered at the endpoint's address (connection refused, network unreachable, reset). */
export class HubOfflineError extends HubError {
  constructor(host: string, detail: string) {
    super('hubOffline', `Could not reach ${host} (${detail}): check the network connection or the llmLens.hub.endpoint setting.`);
  }
}

export class HubDnsError extends HubError {
  constructor(host: string) {
    super('hubDns', `The host name ${host} could not be resolved: check the network connection or the llmLens.hub.endpoint setting.`);
  }
}

export class HubTimeoutError extends HubError {
  constructor(host: string, seconds: number) {
    super('hubTimeout', `${host} stopped answering for ${seconds} s: the network may be down; try again.`);
  }
}

/** 401/403: a private or gated repository, a bad token, or (the hub's way for anonymous users) a repository that does not exist. */
export class HubUnauthorizedError extends HubError {
  constructor(
    readonly repo: string,
    readonly status: number,
    hint: string,
  ) {
    super('hubUnauthorized', `The hub refused access to ${repo} (HTTP ${status}): ${hint}`);
  }
}

export class HubNotFoundError extends HubError {
  constructor(what: string) {
    super('hubNotFound', `${what} was not found on the hub (HTTP 404): check the repository id, the revision and the endpoint.`);
  }
}

/** HTTP 429 that waiting (bounded) did not cure, or that asked for a wait longer than the bound. */
export class HubRateLimitedError extends HubError {
  constructor(
    readonly retryAfterSeconds: number | undefined,
    /** How many times the download already waited and retried. */
    readonly retries = 0,
  ) {
    super(
      'hubRateLimited',
      `The hub is limiting requests (HTTP 429${retries ? `, still after waiting ${retries} time${retries === 1 ? '' : 's'}` : ''}): try again ${retryAfterSeconds !== undefined ? `in ${formatSeconds(retryAfterSeconds)}` : 'in a few minutes'}; an access token (HF_TOKEN) raises the limit.`,
    );
  }
}

/** `42 s`, or `5 min` from two minutes on: the wait a 429 asks for. */
function formatSeconds(s: number): string {
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/** An http(s) proxy (HTTPS_PROXY, HTTP_PROXY) that could not be reached, or that refused the tunnel to the hub. */
export class HubProxyError extends HubError {
  constructor(proxy: string, target: string, detail: string) {
    super(
      'hubProxy',
      `The proxy ${proxy} could not open a connection to ${target} (${detail}): check the HTTPS_PROXY, HTTP_PROXY and NO_PROXY environment variables.`,
    );
  }
}

export class HubServerError extends HubError {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super('hubServerError', `The server failed (HTTP ${status}) for ${url}: try again later.`);
  }
}

/** Any other unexpected status (400, 410, 451, ...). */
export class HubHttpError extends HubError {
  constructor(
    readonly status: number,
    url: string,
    detail?: string,
  ) {
    super('hubHttpError', `Unexpected answer HTTP ${status} for ${url}${detail ? `: ${detail}` : ''}.`);
  }
}

/** A captive portal, proxy login or error page answered with HTML where a file was expected. */
export class HubHtmlPageError extends HubError {
  constructor(file: string, url: string) {
    super(
      'hubHtmlPage',
      `The server sent a web page instead of ${file} (${url}): a proxy or network login page may be in the way; open the URL in a browser to see it.`,
    );
  }
}

export class HubBadResponseError extends HubError {
  constructor(what: string, detail: string) {
    super('hubBadResponse', `The hub's answer for ${what} could not be read: ${detail}.`);
  }
}

export class HubTooManyRedirectsError extends HubError {
  constructor(url: string) {
    super('hubTooManyRedirects', `Too many redirects while fetching ${url}.`);
  }
}

/** The connection ended before the whole file arrived; the bytes received are kept for resuming. */
export class HubTruncatedError extends HubError {
  constructor(file: string, received: number, expected: number | undefined) {
    super(
      'hubTruncated',
      `The download of ${file} was interrupted after ${formatBytes(received)}${expected !== undefined ? ` of ${formatBytes(expected)}` : ''}: run the download again to resume.`,
    );
  }
}

/** The bytes do not match the SHA-256 or the size the hub published; the partial file was deleted. */
export class HubChecksumError extends HubError {
  constructor(file: string, detail: string) {
    super('hubChecksum', `${file} arrived corrupted (${detail}); the damaged file was deleted: run the download again.`);
  }
}

export class HubDiskFullError extends HubError {
  constructor(file: string, dir: string, needed: number | undefined) {
    super(
      'hubDiskFull',
      `The disk is full while writing ${file} to ${dir}${needed !== undefined ? `: about ${formatBytes(needed)} are needed` : ''}; free some space and try again.`,
    );
  }
}

export class HubBadRepoIdError extends HubError {
  constructor(repo: string) {
    super('hubBadRepoId', `"${repo}" is not a hub repository id: expected owner/name, for example Xenova/gpt2.`);
  }
}

/** A revision URL normalisation would turn into a path step ('.', '..'), or an empty one: refused before any request. */
export class HubBadRevisionError extends HubError {
  constructor(revision: string) {
    super('hubBadRevision', `${quoteName(revision)} is not a revision: expected a branch, tag or commit, for example main.`);
  }
}

/**
 * The hub's file list names a file LLM Lens would fetch under a name it never writes (one that climbs out of the
 * folder, an absolute path, a backslash, control characters): the download is refused before anything is written.
 */
export class HubUnsafeFileNameError extends HubError {
  constructor(repo: string, name: string, why: string) {
    super(
      'hubUnsafeFileName',
      `The hub's file list for ${repo} names a file ${quoteName(name)} (${why}); LLM Lens only writes onnx/<name>.onnx and its .onnx_data files inside the download folder, so nothing was downloaded: check the llmLens.hub.endpoint setting.`,
    );
  }
}

/** A token would travel unencrypted: plain http:// to a host other than this machine. */
export class HubInsecureTokenError extends HubError {
  constructor(origin: string) {
    super(
      'hubInsecureToken',
      `Refusing to send the access token (HF_TOKEN) to ${origin}: plain http:// is not encrypted, so anyone on the network path could read the token. Use an https:// endpoint in the llmLens.hub.endpoint setting, or remove the token.`,
    );
  }
}

/** The repository lacks a file a model folder needs (config.json, tokenizer.json, an ONNX file). */
export class HubMissingFileError extends HubError {
  constructor(repo: string, revision: string, file: string) {
    super('hubMissingFile', `${repo}@${revision} has no ${file}, which LLM Lens needs: pick a repository in the transformers.js layout (files under onnx/).`);
  }
}

export class HubUnsupportedModelError extends HubError {
  constructor(repo: string, modelType: string, architectures: readonly string[], supported: readonly string[]) {
    super(
      'hubUnsupportedModel',
      `${repo} is ${modelType ? `a "${modelType}" model` : 'a model without a model_type in its config.json'}${architectures.length ? ` (${architectures.join(', ')})` : ''}; LLM Lens reads GPT-2 and Llama-family models (model_type ${supported.join(', ')}: GPT-2, SmolLM2, Qwen2.5, Qwen2.5-Coder). Nothing large was downloaded.`,
    );
  }
}

export class HubVariantError extends HubError {
  constructor(repo: string, asked: string, available: readonly string[]) {
    super(
      'hubVariant',
      available.length
        ? `${repo} has no ONNX variant "${asked}"; it has: ${available.join(', ')}.`
        : `${repo} has no ONNX files under onnx/.`,
    );
  }
}

/**
 * A variant LLM Lens cannot read (bitsandbytes, quantized for a model type other than the Llama family, a
 * decoder with past key/values), refused by its name before anything large is fetched; or none it can read by name (a file named "merged" can still be asked for by name).
 */
export class HubUnreadableVariantError extends HubError {
  constructor(
    repo: string,
    variant: string | undefined,
    why: string | undefined,
    readable: readonly string[],
    all: readonly string[],
    /** Variants only named like a merged decoder: downloaded when asked for by name, and kept if the graph is plain. */
    askable: readonly string[] = [],
    /** A sentence on why, after the rest (which model types a quantized file is read for). */
    note?: string,
  ) {
    super(
      'hubVariant',
      variant
        ? `${repo}: LLM Lens cannot read the ONNX variant "${variant}" (${why}), so onnx/${variant}.onnx was not downloaded${readable.length ? `. Choose one of: ${readable.join(', ')}` : ''}.${note ? ` ${note}` : ''}`
        : `${repo} has no ONNX variant LLM Lens can read (float32 or float16, or q4, q4f16 and 8-bit for Llama-family models; not a merged decoder, not one that takes past key/values); it has: ${all.join(', ')}.${
            askable.length ? ` ${askable.join(', ')} may hold a plain graph despite the name: asked for by name, it is downloaded and its graph decides.` : ''
          }`,
    );
  }
}

/**
 * The downloaded graph is a merged decoder (Optimum's merge of the decoders with and without past key/values: a
 * `use_cache_branch` input, If nodes whose branches hold the layers), whatever its file name: refused before the
 * folder is moved into place, and before its external data is fetched.
 */
export class HubMergedGraphError extends HubError {
  constructor(repo: string, file: string, evidence: readonly string[], alternatives: readonly string[]) {
    super(
      'hubVariant',
      `${repo}: ${file} holds a merged decoder (${evidence.join('; ')}): its layers sit inside If branches LLM Lens cannot instrument, so the download was discarded${
        alternatives.length ? `. Choose one of: ${alternatives.join(', ')}` : '; pick a repository with a plain decoder (onnx/model.onnx or onnx/decoder_model.onnx)'
      }.`,
    );
  }
}

/**
 * Another download (a second VS Code window, the CLI, or this window again) holds the lock on the same unfinished
 * download: two writers would interleave their bytes in the same files, so this one stops before writing anything.
 */
export class HubDownloadBusyError extends HubError {
  constructor(
    readonly what: string,
    /** The process holding the lock, as its lock file says. */
    readonly pid: number | undefined,
    detail: string,
    readonly lockFile: string,
  ) {
    super(
      'hubDownloadBusy',
      `Another VS Code window or LLM Lens command${pid !== undefined ? ` (process ${pid}${detail ? `, ${detail}` : ''})` : ''} is already downloading ${what}: wait for it to finish or cancel it there, then try again. If nothing is downloading it, delete ${lockFile}.`,
    );
  }
}

/**
 * A large file the hub gave no size for (no size in the listing, no X-Linked-Size, no Content-Length) kept coming past
 * the model size limit: a broken or hostile server could otherwise stream until the disk is full.
 */
export class HubTooLargeError extends HubError {
  constructor(
    repo: string,
    file: string,
    readonly limitBytes: number,
  ) {
    super(
      'hubTooLarge',
      `${repo}/${file} grew past ${formatBytes(limitBytes)}, all that is left of the model size limit, although the server never said how large it is; the transfer was stopped and the partial file deleted: check the llmLens.hub.endpoint setting, or pick a smaller variant.`,
    );
  }
}

/** A local file-system failure other than a full disk (permissions, read-only folder). */
export class HubFileSystemError extends HubError {
  constructor(path: string, detail: string) {
    super('hubFileSystem', `Could not write ${path}: ${detail}.`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * A name from the hub (or the user) for a message: quoted, cut at `max` characters, and with everything but
 * printable ASCII escaped, so a hostile listing cannot put line breaks, terminal escapes or look-alike text in it.
 */
export function quoteName(name: string, max = 120): string {
  const cut = name.length > max ? `${name.slice(0, max)}...` : name;
  return `"${cut.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
