// `llm-lens download <repo>`: fetches a model from the hub into a folder that can be copied to an offline machine.
import { CancelledError, LensError } from '../../core/common/errors';
import { silentLogger, type Logger } from '../../core/common/logger';
import { downloadModel, listVariants, type DownloadProgress } from '../../core/hub/download';
import { HubBadRepoIdError, HubError, formatBytes } from '../../core/hub/errors';
import { proxyAgentsFromEnv } from '../../core/hub/proxy';
import { DEFAULT_ENDPOINT, parseRepoInput } from '../../core/hub/urls';
import { looksMerged, quantizedNote, variantFormat, variantNameProblem, variantProblem } from '../../core/hub/repo';
import { hubId } from '../../core/hub/store';
import { hubToken } from '../../core/hub/token';
import { parseOptions, UsageError } from './args';

/** Where a usage error in `download` points. */
const HELP = 'download --help';

export const DOWNLOAD_USAGE = `Usage:
  llm-lens download <owner/name> [--revision R] [--variant V] [--endpoint URL] [--dir D] [--list]
      Downloads a GPT-2 or Llama-family ONNX model in the transformers.js layout into <D>/<owner>--<name>@<R>/
      (config.json, generation_config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx).
      An interrupted download resumes when the same command runs again.

Options:
  --revision R      branch, tag or commit (default main)
  --variant V       ONNX file under onnx/ without .onnx, e.g. model_q4 (default: full precision, for looking
                    inside; q4 and 8-bit files are read for Llama-family models, smaller and faster for completions)
  --endpoint URL    hub base URL (default $HF_ENDPOINT or ${DEFAULT_ENDPOINT})
  --dir D           where to put the model folder (default: the current folder)
  --list            list the ONNX variants with their sizes and exit
Environment:
  HF_TOKEN          access token for private or gated repositories (sent to the hub only); when unset, the
                    token file huggingface_hub's login writes: $HF_TOKEN_PATH, else $HF_HOME/token, else
                    ~/.cache/huggingface/token
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
                    an http(s) proxy for https:// and http:// URLs (a CONNECT tunnel; TLS to the hub runs
                    inside it), and the hosts that bypass it; this machine always does`;

export interface DownloadIo {
  /** One line of results (stdout). */
  out(s: string): void;
  /** One line of messages (stderr). */
  err(s: string): void;
  /** A progress line that replaces the previous one (a terminal); absent: occasional lines through `err`. */
  status?(s: string): void;
}

const defaultIo: DownloadIo = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  status: process.stderr.isTTY ? (s) => process.stderr.write(`\r${s}\x1b[K`) : undefined,
};

export function formatProgress(p: DownloadProgress): string {
  const done = p.total ? `${formatBytes(p.bytes)} / ${formatBytes(p.total)}  ${Math.floor((100 * p.bytes) / p.total)}%` : formatBytes(p.bytes);
  return `${p.file}  ${done}  ${formatBytes(p.bytesPerSecond)}/s`;
}

export async function downloadCommand(argv: string[], io: DownloadIo = defaultIo): Promise<number> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let statusShown = false;
  const endStatus = () => {
    if (statusShown && io.status) io.status('');
    statusShown = false;
  };
  try {
    const parsed = parseOptions(
      argv,
      {
      revision: { type: 'string' },
      variant: { type: 'string' },
      endpoint: { type: 'string' },
      dir: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      },
      HELP,
    );
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(DOWNLOAD_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument "${positionals[1]}"` : 'download needs a repository id, e.g. Xenova/gpt2', HELP);
    const ref = parseRepoInput(positionals[0]);
    const endpoint = values.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT;
    if (!/^https?:\/\/[^/]/i.test(endpoint)) throw new UsageError(`--endpoint must be an http(s) URL, not "${endpoint}"`, HELP);
    const revision = values.revision ?? ref.revision ?? 'main';
    const token = hubToken(process.env);
    // Node's http/https ignore the proxy variables: the CLI opens the tunnel itself.
    const agent = proxyAgentsFromEnv(process.env);
    // Warnings (a 429 being waited out, a variant named "merged") as lines on stderr; the rest stays quiet.
    const logger: Logger = {
      ...silentLogger,
      warn: (m) => {
        endStatus();
        io.err(`llm-lens: ${m.replace(/^hub: /, '')}`);
      },
    };

    if (values.list) {
      const { variants, defaultVariant, modelType } = await listVariants({ repo: ref.repo, revision, endpoint, token, signal: ac.signal, agent, logger });
      if (!variants.length) throw new LensError('hubVariant', `${ref.repo}@${revision} has no ONNX files under onnx/.`);
      let quantized: string | undefined;
      for (const v of variants) {
        const problem = variantProblem(v.name, modelType);
        const note = !problem
          ? ''
          : looksMerged(v.name) && !variantNameProblem(v.name, modelType)
            ? `  (probably a merged decoder, which LLM Lens cannot read: --variant ${v.name} downloads it and keeps it only if its graph is plain)`
            : `  (LLM Lens cannot read it: ${problem})`;
        quantized ??= quantizedNote(v.name, modelType);
        io.out(`${v.name.padEnd(32)} ${(v.size !== undefined ? formatBytes(v.size) : '?').padStart(10)}${v.name === defaultVariant ? '  (default)' : ''}${note}`);
      }
      // On stderr, so that stdout stays one variant a line.
      const q4 = variants.find((v) => variantFormat(v.name) === 'q4' && !variantProblem(v.name, modelType));
      if (defaultVariant && variantFormat(defaultVariant) === 'fp32' && q4) io.err(`llm-lens: the default, ${defaultVariant}, is full precision (float32), for looking inside; ${q4.name} is smaller and faster, for completions.`);
      if (quantized) io.err(`llm-lens: ${quantized}`);
      return 0;
    }

    let lastLine = 0;
    let lastFile = '';
    const result = await downloadModel({
      repo: ref.repo,
      revision,
      variant: values.variant,
      endpoint,
      dir: values.dir ?? process.cwd(),
      token,
      signal: ac.signal,
      agent,
      logger,
      onProgress: (p) => {
        if (io.status) {
          io.status(formatProgress(p));
          statusShown = true;
        } else if (p.file !== lastFile || Date.now() - lastLine > 2000 || p.bytes === p.total) {
          // Not a terminal (a log, CI): a line per file, every two seconds, and at the end.
          io.err(formatProgress(p));
          lastLine = Date.now();
          lastFile = p.file;
        }
      },
    });
    endStatus();
    const bytes = result.manifest.files.reduce((n, f) => n + (f.size ?? 0), 0);
    io.err(
      `Downloaded ${hubId(result.manifest)} (variant ${result.manifest.variant}, ${formatBytes(bytes)}${result.resumedBytes ? `, resumed after ${formatBytes(result.resumedBytes)}` : ''}) into:`,
    );
    io.out(result.folder);
    return 0;
  } catch (e) {
    endStatus();
    if (e instanceof CancelledError) {
      io.err('llm-lens: download cancelled; the bytes received are kept and the same command resumes it.');
      return 130;
    }
    let msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    if (e instanceof HubError && e.partialKept && !/resume/.test(msg)) msg += ' The partial download is kept: the same command resumes it.';
    io.err(`llm-lens: ${msg}`);
    if (process.env.LLM_LENS_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return e instanceof UsageError || e instanceof HubBadRepoIdError ? 2 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
