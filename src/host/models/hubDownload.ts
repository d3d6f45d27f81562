// The "Download from Hugging Face..." flow of Select Model: ask for a repository and a variant the lens can read,
// download it with a cancellable progress notification, and say what happened (a cancelled download keeps its bytes).
import * as vscode from 'vscode';
import type { Logger } from '../../core/common/logger';
import { errorMessage, isCancelled } from '../../core/common/errors';
import { downloadModel, listVariants, type DownloadProgress } from '../../core/hub/download';
import { HubError, formatBytes } from '../../core/hub/errors';
import { pickVariant, variantFormat, variantProblem, type OnnxVariant } from '../../core/hub/repo';
import { parseRepoInput } from '../../core/hub/urls';
import { hubToken } from '../../core/hub/token';
import { showError, showInfo } from '../log';
import { toAbortSignal } from '../modelService';
import type { ModelSettings } from '../settings';

/** What a readable variant's name says, and what it is good for, for the picker. */
function variantDetail(name: string): string {
  if (/with_past/.test(name)) return vscode.l10n.t('full precision; reads past key/values (LLM Lens passes none)');
  switch (variantFormat(name)) {
    case 'q4':
      return vscode.l10n.t('4-bit weights (q4): smallest and fastest, for completions; activations near full precision');
    case 'q8':
      return vscode.l10n.t('8-bit weights: smaller and faster; activations near full precision');
    case 'fp16':
      return vscode.l10n.t('16-bit floats (fp16): half the download, read as float32 (twice its size in memory); activations within float16 rounding');
    case 'q4f16':
      return vscode.l10n.t('4-bit weights, 16-bit floats (q4f16): the smallest download, read as float32; activations near full precision');
    default:
      return vscode.l10n.t('full precision (float32): for looking inside, activations exactly as computed');
  }
}

/** A download named in advance (command links, tests): the variant named, or the recommended one. */
export interface DownloadPreset {
  repo: string;
  revision?: string;
  variant?: string;
}

export class HubDownloads {
  private downloading = false;

  constructor(
    private readonly settings: ModelSettings,
    /** Where downloads go: the extension's global storage. */
    private readonly modelsDir: string,
    private readonly channel: vscode.LogOutputChannel,
    private readonly log: Logger,
  ) {}

  /**
   * Asks for a repository and a variant (unless `preset` names them), downloads it with a
   * cancellable progress notification; the folder, or undefined.
   */
  async download(preset?: DownloadPreset): Promise<string | undefined> {
    if (this.downloading) {
      void showInfo(vscode.l10n.t('A model download is already running.'));
      return undefined;
    }
    let ref: { repo: string; revision?: string };
    try {
      ref = preset ? { ...parseRepoInput(preset.repo), ...(preset.revision ? { revision: preset.revision } : {}) } : await this.askRepo();
    } catch (e) {
      void showError(this.channel, errorMessage(e));
      return undefined;
    }
    if (!ref.repo) return undefined;
    const { repo, revision = 'main' } = ref;
    const endpoint = this.settings.hubEndpoint;
    // Sent to the endpoint's host only (never to the storage host a download redirects to).
    const token = hubToken();

    this.downloading = true;
    try {
      const listed = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Looking up {0}…', `${repo}@${revision}`), cancellable: true },
        async (_p, ct) => {
          const { signal, dispose } = toAbortSignal(ct);
          try {
            return await listVariants({ repo, revision, endpoint, token, signal });
          } finally {
            dispose();
          }
        },
      );
      if (!listed.variants.length) throw new HubError('hubVariant', vscode.l10n.t('{0} has no ONNX files under onnx/: LLM Lens needs the transformers.js layout.', repo));
      const variant = preset ? pickVariant(repo, listed.variants, preset.variant, listed.modelType) : await this.pickVariant(repo, listed.variants, listed.defaultVariant, listed.modelType);
      if (!variant) return undefined;

      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Downloading {0}', `${repo}@${revision}`), cancellable: true },
        async (progress, ct) => {
          const { signal, dispose } = toAbortSignal(ct);
          let reported = 0;
          try {
            return await downloadModel({
              repo,
              revision,
              variant: variant.name,
              endpoint,
              dir: this.modelsDir,
              token,
              signal,
              logger: this.log,
              onProgress: (p) => {
                const pct = p.total ? (100 * p.bytes) / p.total : undefined;
                progress.report({ message: progressMessage(p), increment: pct !== undefined ? pct - reported : undefined });
                if (pct !== undefined) reported = pct;
              },
            });
          } finally {
            dispose();
          }
        },
      );
      void showInfo(vscode.l10n.t('Downloaded {0} ({1}).', `${repo}@${revision}`, variant.name));
      return result.folder;
    } catch (e) {
      if (isCancelled(e)) {
        void showInfo(vscode.l10n.t('Download cancelled. The bytes received are kept: downloading {0} again resumes it, and "LLM Lens: Manage Models" deletes them.', repo));
        return undefined;
      }
      this.log.error(e instanceof Error ? e : String(e));
      let msg = errorMessage(e);
      if (e instanceof HubError && e.partialKept && !/resume/.test(msg)) msg += ' ' + vscode.l10n.t('The partial download is kept; downloading again resumes it.');
      void showError(this.channel, msg);
      return undefined;
    } finally {
      this.downloading = false;
    }
  }

  /** The repository (and optional @revision) to download; an empty repo when the user backs out. */
  private async askRepo(): Promise<{ repo: string; revision?: string }> {
    const input = await vscode.window.showInputBox({
      title: vscode.l10n.t('Download from Hugging Face'),
      prompt: vscode.l10n.t('Repository id, optionally with @revision (default main), or its hub URL'),
      placeHolder: 'Xenova/distilgpt2',
      ignoreFocusOut: true,
      validateInput: (v) => {
        if (!v.trim()) return undefined;
        try {
          parseRepoInput(v);
          return undefined;
        } catch (e) {
          return errorMessage(e);
        }
      },
    });
    return input?.trim() ? parseRepoInput(input) : { repo: '' };
  }

  private async pickVariant(repo: string, all: OnnxVariant[], defaultVariant: string | undefined, modelType: string | undefined): Promise<OnnxVariant | undefined> {
    // Only what the lens can read for this model type (float32, float16; q4, q4f16 and 8-bit for the Llama family;
    // not bitsandbytes, not merged): anything else would download and then fail to load.
    const variants = all.filter((v) => !variantProblem(v.name, modelType));
    // None readable: pickVariant throws the error that says so, with the names.
    if (!variants.length) return pickVariant(repo, all, undefined, modelType);
    if (variants.length === 1) return variants[0];
    const hidden = all.length - variants.length;
    const items = variants.map((v) => ({
      label: v.name,
      description: [v.size !== undefined ? formatBytes(v.size) : undefined, v.name === defaultVariant ? vscode.l10n.t('recommended') : undefined].filter(Boolean).join(' · '),
      detail: variantDetail(v.name),
      variant: v,
    }));
    items.sort((a, b) => (a.variant.name === defaultVariant ? -1 : b.variant.name === defaultVariant ? 1 : 0));
    const placeHolder = hidden
      ? vscode.l10n.t('The file under onnx/ to download ({0} more not shown: files LLM Lens cannot read, such as bitsandbytes or merged graphs)', hidden)
      : vscode.l10n.t('The file under onnx/ to download');
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('ONNX variant of {0}', repo), placeHolder });
    return pick?.variant;
  }
}

function progressMessage(p: DownloadProgress): string {
  const speed = p.bytesPerSecond > 0 ? vscode.l10n.t('{0}/s', formatBytes(p.bytesPerSecond)) : '';
  const amount = p.total ? vscode.l10n.t('{0} of {1}', formatBytes(p.bytes), formatBytes(p.total)) : formatBytes(p.bytes);
  return [p.file, amount, speed].filter(Boolean).join(' · ');
}
