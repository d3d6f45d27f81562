// "LLM Lens: Select Model" and "LLM Lens: Manage Models": the built-in model, downloaded models,
// recent folders, a folder on disk, or a download from the Hugging Face hub; and the llmLens.model
// setting, which an untrusted workspace may not set.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { downloadModel, listVariants, type DownloadProgress } from '../core/hub/download';
import { HubError, formatBytes } from '../core/hub/errors';
import { deleteStoredModel, hubId, listStoredModels, readManifestSync, type StoredModel } from '../core/hub/store';
import { parseRepoInput } from '../core/hub/urls';
import { openModelFolder } from '../core/model/folder';
import { pickVariant, variantProblem, type OnnxVariant } from '../core/hub/repo';
import type { ModelSettings } from './settings';
import { showError } from './log';
import { toAbortSignal } from './modelService';
import { errorMessage, isCancelled } from '../core/common/errors';

/** The value of llmLens.model that means the model shipped with the extension. */
export const BUILTIN_MODEL_ID = 'lens-tiny';
const RECENT_KEY = 'llmLens.recentModelFolders';
const MAX_RECENT = 5;

/** What the picker needs of the model service. */
export interface SwitchableModel {
  /** The folder in use (the built-in one when none was chosen). */
  readonly folder: string;
  readonly builtinFolder: string;
  /** The loaded model, if any; never starts a load. */
  readonly current: unknown;
  /** Uses another folder (undefined: the built-in one) from the next use on; forgets the loaded model. */
  setFolder(folder: string | undefined): void;
  ensureLoaded(): Promise<unknown>;
}

/**
 * Arguments of llmLens.selectModel for command links and tests: skip the pick and use the built-in
 * model, a folder, or download a repository (the variant named, or the recommended one) and use it.
 */
export interface SelectModelArgs {
  builtin?: boolean;
  folder?: string;
  download?: { repo: string; revision?: string; variant?: string };
}

interface FolderItem extends vscode.QuickPickItem {
  folder?: string | undefined;
  action?: 'builtin' | 'folder' | 'open' | 'download';
}

/** A name for a model folder: `owner/name@rev` for a download, the folder name otherwise. */
export function describeFolder(folder: string, builtinFolder: string): string {
  if (path.resolve(folder) === path.resolve(builtinFolder)) return vscode.l10n.t('{0} (built-in)', BUILTIN_MODEL_ID);
  const m = readManifestSync(folder);
  return m ? hubId(m) : path.basename(folder);
}

/** What a readable variant's name says, for the picker. */
function variantDetail(name: string): string {
  if (/with_past/.test(name)) return vscode.l10n.t('full precision; reads past key/values (LLM Lens passes none)');
  return vscode.l10n.t('full precision');
}

export class ModelPicker implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private downloading = false;
  private trustNoticeShown = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: ModelSettings,
    private readonly service: SwitchableModel,
    private readonly channel: vscode.LogOutputChannel,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmLens.model')) void this.applySetting(true);
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.applySetting(true)),
    );
  }

  /** Where downloads go: the extension's global storage. */
  get modelsDir(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'models');
  }

  /**
   * Points the service at the folder llmLens.model names, without loading it (activation stays
   * fast); `reload` loads it at once when a model was already in use, so open panels follow.
   */
  async applySetting(reload = false): Promise<void> {
    this.noticeUntrustedSetting();
    const folder = this.resolveSetting(this.config.model);
    const target = folder ?? this.service.builtinFolder;
    if (path.resolve(target) === path.resolve(this.service.folder)) return;
    const wasLoaded = this.service.current !== undefined;
    this.service.setFolder(folder);
    this.log.info(`Model: ${target}`);
    if (reload && wasLoaded) {
      try {
        await this.service.ensureLoaded();
      } catch (e) {
        if (!isCancelled(e)) void showError(this.channel, vscode.l10n.t('LLM Lens could not load the model in {0}: {1}', target, errorMessage(e)));
      }
    }
  }

  /** A folder for a setting value: undefined for the built-in model; relative paths from the first workspace folder. */
  private resolveSetting(value: string): string | undefined {
    const v = value.trim();
    if (!v || v === BUILTIN_MODEL_ID) return undefined;
    if (path.isAbsolute(v)) return v;
    const ws = vscode.workspace.workspaceFolders?.[0];
    return ws ? path.join(ws.uri.fsPath, v) : path.resolve(v);
  }

  /** VS Code ignores a restricted setting from an untrusted workspace; say so once, with a way to trust it. */
  private noticeUntrustedSetting(): void {
    if (vscode.workspace.isTrusted || this.trustNoticeShown) return;
    const i = vscode.workspace.getConfiguration('llmLens').inspect<string>('model');
    const fromWorkspace = i?.workspaceFolderValue ?? i?.workspaceValue;
    if (fromWorkspace === undefined) return;
    this.trustNoticeShown = true;
    const manage = vscode.l10n.t('Manage Workspace Trust');
    void vscode.window
      .showWarningMessage(
        vscode.l10n.t(
          'This workspace sets llmLens.model to "{0}". LLM Lens ignores model paths set by a workspace you have not trusted, so that opening a folder cannot make it read files from elsewhere; it uses {1} instead.',
          fromWorkspace,
          describeFolder(this.service.folder, this.service.builtinFolder),
        ),
        manage,
      )
      .then((choice) => choice === manage && vscode.commands.executeCommand('workbench.trust.manage'));
  }

  /** "LLM Lens: Select Model"; true when another model is now in use. */
  async selectModel(args?: SelectModelArgs): Promise<boolean> {
    if (args?.builtin) return this.use(undefined);
    if (typeof args?.folder === 'string') return this.use(args.folder);
    if (args?.download && typeof args.download.repo === 'string') {
      const folder = await this.downloadFromHub(args.download);
      return folder ? this.use(folder) : false;
    }
    const active = path.resolve(this.service.folder);
    const mark = (folder: string) => (path.resolve(folder) === active ? '$(check) ' : '');
    const stored = (await listStoredModels(this.modelsDir)).filter((m) => !m.partial);
    const storedPaths = new Set(stored.map((m) => path.resolve(m.path)));
    const recent = this.recent().filter((f) => !storedPaths.has(path.resolve(f)) && path.resolve(f) !== path.resolve(this.service.builtinFolder));

    const items: FolderItem[] = [
      { label: vscode.l10n.t('Built-in'), kind: vscode.QuickPickItemKind.Separator },
      { label: `${mark(this.service.builtinFolder)}${BUILTIN_MODEL_ID}`, description: vscode.l10n.t('ships with LLM Lens'), action: 'builtin' },
    ];
    if (stored.length) {
      items.push({ label: vscode.l10n.t('Downloaded'), kind: vscode.QuickPickItemKind.Separator });
      for (const m of stored) {
        items.push({
          label: `${mark(m.path)}${m.manifest ? hubId(m.manifest) : m.name}`,
          description: [m.manifest?.variant, formatBytes(m.bytes)].filter(Boolean).join(' · '),
          folder: m.path,
          action: 'folder',
        });
      }
    }
    if (recent.length) {
      items.push({ label: vscode.l10n.t('Recent folders'), kind: vscode.QuickPickItemKind.Separator });
      for (const f of recent) items.push({ label: `${mark(f)}${path.basename(f)}`, description: f, folder: f, action: 'folder' });
    }
    items.push(
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: `$(folder-opened) ${vscode.l10n.t('Open Folder...')}`, detail: vscode.l10n.t('A GPT-2-family model in the transformers.js layout (config.json, tokenizer.json, onnx/model.onnx)'), action: 'open' },
      { label: `$(cloud-download) ${vscode.l10n.t('Download from Hugging Face...')}`, detail: vscode.l10n.t('For example Xenova/gpt2 or Xenova/distilgpt2'), action: 'download' },
    );

    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('LLM Lens: Select Model'), placeHolder: vscode.l10n.t('The model LLM Lens reads your text with') });
    switch (pick?.action) {
      case 'builtin':
        return this.use(undefined);
      case 'folder':
        return this.use(pick.folder);
      case 'open': {
        const uri = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: vscode.l10n.t('Use This Model') });
        return uri?.[0] ? this.use(uri[0].fsPath) : false;
      }
      case 'download': {
        const folder = await this.downloadFromHub();
        return folder ? this.use(folder) : false;
      }
      default:
        return false;
    }
  }


  /**
   * Switches to `folder` (undefined: the built-in model) by loading it now; on failure the previous
   * model stays in use and nothing is saved. On success it becomes llmLens.model.
   */
  async use(folder: string | undefined): Promise<boolean> {
    const target = folder ?? this.service.builtinFolder;
    const previous = path.resolve(this.service.folder) === path.resolve(this.service.builtinFolder) ? undefined : this.service.folder;
    // The cheap checks first (files, config.json), so a folder that cannot work leaves the loaded model alone.
    try {
      if (folder) openModelFolder(folder);
    } catch (e) {
      this.log.warn(`Model folder refused: ${errorMessage(e)}`);
      void showError(this.channel, vscode.l10n.t('LLM Lens cannot use {0}: {1}', folder!, errorMessage(e)));
      return false;
    }
    const wasLoaded = this.service.current !== undefined;
    this.service.setFolder(folder);
    try {
      // The worker unloads the old model before it loads the new one; on failure the old one is loaded again.
      await this.service.ensureLoaded();
    } catch (e) {
      this.service.setFolder(previous);
      if (wasLoaded) void this.service.ensureLoaded().catch(() => undefined);
      if (!isCancelled(e)) {
        this.log.error(e instanceof Error ? e : String(e));
        void showError(
          this.channel,
          vscode.l10n.t('LLM Lens could not use the model in {0}: {1} The previous model stays in use.', target, errorMessage(e)),
        );
      }
      return false;
    }
    await this.config.setModel(folder ?? BUILTIN_MODEL_ID);
    if (folder && !path.resolve(folder).startsWith(path.resolve(this.modelsDir) + path.sep)) await this.remember(folder);
    return true;
  }

  /**
   * Asks for a repository and a variant (unless `preset` names them), downloads it with a
   * cancellable progress notification; the folder, or undefined.
   */
  async downloadFromHub(preset?: SelectModelArgs['download']): Promise<string | undefined> {
    if (this.downloading) {
      void vscode.window.showInformationMessage(vscode.l10n.t('A model download is already running.'));
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
    const endpoint = this.config.hubEndpoint;
    // Sent to the endpoint's host only (never to the storage host a download redirects to).
    const token = process.env.HF_TOKEN || undefined;

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
      const variant = preset ? pickVariant(repo, listed.variants, preset.variant) : await this.pickVariant(repo, listed.variants, listed.defaultVariant);
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
      void vscode.window.showInformationMessage(vscode.l10n.t('Downloaded {0} ({1}).', `${repo}@${revision}`, variant.name));
      return result.folder;
    } catch (e) {
      if (isCancelled(e)) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Download cancelled. The bytes received are kept: downloading {0} again resumes it, and "LLM Lens: Manage Models" deletes them.', repo));
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

  private async pickVariant(repo: string, all: OnnxVariant[], defaultVariant: string | undefined): Promise<OnnxVariant | undefined> {
    // Only what the lens can read (float32, not merged): a quantized file would download and then fail to load.
    const variants = all.filter((v) => !variantProblem(v.name));
    // None readable: pickVariant throws the error that says so, with the names.
    if (!variants.length) return pickVariant(repo, all);
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
      ? vscode.l10n.t('The file under onnx/ to download ({0} more not shown: quantized, 16-bit or merged graphs, which LLM Lens cannot read)', hidden)
      : vscode.l10n.t('The file under onnx/ to download');
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('ONNX variant of {0}', repo), placeHolder });
    return pick?.variant;
  }

  /** "LLM Lens: Manage Models": downloaded models, unfinished downloads and recent folders, each deletable. */
  async manageModels(): Promise<void> {
    type Item = vscode.QuickPickItem & { model?: StoredModel; recent?: string };
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = vscode.l10n.t('LLM Lens: Manage Models');
    qp.placeholder = vscode.l10n.t('Select to use a model; the trash button deletes it');
    const trash = { iconPath: new vscode.ThemeIcon('trash'), tooltip: vscode.l10n.t('Delete') };
    const forget = { iconPath: new vscode.ThemeIcon('close'), tooltip: vscode.l10n.t('Remove from the list (the folder stays on disk)') };
    const refresh = async () => {
      const stored = await listStoredModels(this.modelsDir);
      const active = path.resolve(this.service.folder);
      const items: Item[] = [];
      const done = stored.filter((m) => !m.partial);
      const partial = stored.filter((m) => m.partial);
      items.push({ label: vscode.l10n.t('Downloaded ({0})', formatBytes(done.reduce((n, m) => n + m.bytes, 0))), kind: vscode.QuickPickItemKind.Separator });
      for (const m of done) {
        items.push({
          label: `${path.resolve(m.path) === active ? '$(check) ' : ''}${m.manifest ? hubId(m.manifest) : m.name}`,
          description: [m.manifest?.variant, formatBytes(m.bytes)].filter(Boolean).join(' · '),
          detail: m.path,
          model: m,
          buttons: [trash],
        });
      }
      if (!done.length) items.push({ label: vscode.l10n.t('No downloaded models yet'), description: vscode.l10n.t('"LLM Lens: Select Model" downloads one') });
      if (partial.length) {
        items.push({ label: vscode.l10n.t('Unfinished downloads'), kind: vscode.QuickPickItemKind.Separator });
        for (const m of partial) {
          items.push({
            label: `$(debug-pause) ${m.manifest ? hubId(m.manifest) : m.name}`,
            description: vscode.l10n.t('{0} received; downloading it again resumes', formatBytes(m.bytes)),
            model: m,
            buttons: [trash],
          });
        }
      }
      const recent = this.recent();
      if (recent.length) {
        items.push({ label: vscode.l10n.t('Recent folders'), kind: vscode.QuickPickItemKind.Separator });
        for (const f of recent) items.push({ label: path.basename(f), description: f, recent: f, buttons: [forget] });
      }
      qp.items = items;
    };
    qp.onDidTriggerItemButton(async ({ item }) => {
      if (item.recent) {
        await this.context.globalState.update(RECENT_KEY, this.recent().filter((f) => f !== item.recent));
      } else if (item.model) {
        await this.delete(item.model);
      }
      await refresh();
    });
    qp.onDidAccept(async () => {
      const item = qp.selectedItems[0];
      qp.hide();
      if (item?.model && !item.model.partial) await this.use(item.model.path);
      else if (item?.recent) await this.use(item.recent);
    });
    qp.onDidHide(() => qp.dispose());
    qp.busy = true;
    qp.show();
    await refresh();
    qp.busy = false;
  }

  private async delete(m: StoredModel): Promise<void> {
    const name = m.manifest ? hubId(m.manifest) : m.name;
    const del = vscode.l10n.t('Delete');
    const ok = await vscode.window.showWarningMessage(vscode.l10n.t('Delete {0} ({1}) from disk?', name, formatBytes(m.bytes)), { modal: true }, del);
    if (ok !== del) return;
    // The model in use goes back to the built-in one first.
    if (path.resolve(m.path) === path.resolve(this.service.folder) && !(await this.use(undefined))) return;
    try {
      await deleteStoredModel(this.modelsDir, m.path);
      this.log.info(`Deleted ${m.path}`);
    } catch (e) {
      void showError(this.channel, vscode.l10n.t('Could not delete {0}: {1}', m.path, errorMessage(e)));
    }
  }

  private recent(): string[] {
    return this.context.globalState.get<string[]>(RECENT_KEY, []).filter((f) => typeof f === 'string');
  }

  private async remember(folder: string): Promise<void> {
    const list = [folder, ...this.recent().filter((f) => path.resolve(f) !== path.resolve(folder))].slice(0, MAX_RECENT);
    await this.context.globalState.update(RECENT_KEY, list);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function progressMessage(p: DownloadProgress): string {
  const speed = p.bytesPerSecond > 0 ? vscode.l10n.t('{0}/s', formatBytes(p.bytesPerSecond)) : '';
  const amount = p.total ? vscode.l10n.t('{0} of {1}', formatBytes(p.bytes), formatBytes(p.total)) : formatBytes(p.bytes);
  return [p.file, amount, speed].filter(Boolean).join(' · ');
}
