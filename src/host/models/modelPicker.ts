// "LLM Lens: Select Model": the recommended models (recommended.ts: the built-in one and three from the hub, each
// with what it is good for, its download and the memory it needs), downloaded models, recent folders, a folder on
// disk, or a download from the Hugging Face hub (hubDownload.ts); switching to a model (loaded first, the previous one kept on failure);
// and the llmLens.model setting, which an untrusted workspace may not set. "Manage Models" is manageModels.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../../core/common/logger';
import { errorMessage, isCancelled } from '../../core/common/errors';
import { formatBytes } from '../../core/hub/errors';
import { hubId, listStoredModels, readManifestSync } from '../../core/hub/store';
import { openModelFolder } from '../../core/model/folder';
import type { ModelSettings } from '../settings';
import { showError, showWarning } from '../log';
import { quoted } from '../plainText';
import { HubDownloads, type DownloadPreset } from './hubDownload';
import { manageModels } from './manageModels';
import { RECOMMENDED, builtinEstimate, recommendedMemory, sizeAndMemory } from './recommended';
import { RecentFolders } from './recentFolders';

/** The value of llmLens.model that means the model shipped with the extension. */
export const BUILTIN_MODEL_ID = 'lens-tiny';

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
  download?: DownloadPreset;
}

interface FolderItem extends vscode.QuickPickItem {
  folder?: string | undefined;
  action?: 'builtin' | 'folder' | 'open' | 'download' | 'recommended';
  /** A recommended model not downloaded yet: the download flow with this repository and variant. */
  preset?: DownloadPreset;
}

/** A name for a model folder: `owner/name@rev` for a download, the folder name otherwise. */
export function describeFolder(folder: string, builtinFolder: string): string {
  if (path.resolve(folder) === path.resolve(builtinFolder)) return vscode.l10n.t('{0} (built-in)', BUILTIN_MODEL_ID);
  const m = readManifestSync(folder);
  return m ? hubId(m) : path.basename(folder);
}

export class ModelPicker implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private trustNoticeShown = false;
  private readonly recentFolders: RecentFolders;
  private readonly downloads: HubDownloads;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: ModelSettings,
    private readonly service: SwitchableModel,
    private readonly channel: vscode.LogOutputChannel,
    private readonly log: Logger,
  ) {
    this.recentFolders = new RecentFolders(context.globalState);
    this.downloads = new HubDownloads(config, this.modelsDir, channel, log);
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
    void showWarning(
        vscode.l10n.t(
          'This workspace sets llmLens.model to "{0}". LLM Lens ignores model paths set by a workspace you have not trusted, so that opening a folder cannot make it read files from elsewhere; it uses {1} instead.',
          quoted(fromWorkspace),
          describeFolder(this.service.folder, this.service.builtinFolder),
        ),
        manage,
      ).then((choice) => choice === manage && vscode.commands.executeCommand('workbench.trust.manage'));
  }

  /** "LLM Lens: Select Model"; true when another model is now in use. */
  async selectModel(args?: SelectModelArgs): Promise<boolean> {
    if (args?.builtin) return this.use(undefined);
    if (typeof args?.folder === 'string') return this.use(args.folder);
    if (args?.download && typeof args.download.repo === 'string') {
      const folder = await this.downloads.download(args.download);
      return folder ? this.useDownloaded(folder) : false;
    }
    const active = path.resolve(this.service.folder);
    const mark = (folder: string) => (path.resolve(folder) === active ? '$(check) ' : '');
    const stored = (await listStoredModels(this.modelsDir)).filter((m) => !m.partial);
    const storedPaths = new Set(stored.map((m) => path.resolve(m.path)));
    const recent = this.recentFolders.list().filter((f) => !storedPaths.has(path.resolve(f)) && path.resolve(f) !== path.resolve(this.service.builtinFolder));

    // The curated list first, each with what it is good for, its download and the memory it needs; one already
    // downloaded (that repository and variant, at main) is used from its folder rather than fetched again.
    const builtinMemory = builtinEstimate(this.service.builtinFolder);
    const items: FolderItem[] = [
      { label: vscode.l10n.t('Recommended'), kind: vscode.QuickPickItemKind.Separator },
      // What it is for beside the name; the figures first on the line below, where the width cuts the end.
      {
        label: `${mark(this.service.builtinFolder)}${BUILTIN_MODEL_ID}`,
        description: `${vscode.l10n.t('ships with LLM Lens')} · ${vscode.l10n.t('for learning how the lens reads text')}`,
        detail: [builtinMemory ? sizeAndMemory(undefined, builtinMemory.totalBytes) : undefined, vscode.l10n.t('a tiny GPT-2-shaped model trained for LLM Lens, instant and offline')].filter(Boolean).join(' · '),
        action: 'builtin',
      },
    ];
    const shown = new Set<string>();
    for (const r of RECOMMENDED) {
      const have = stored.find((m) => m.manifest?.repo === r.repo && m.manifest.revision === 'main' && m.manifest.variant === r.variant);
      if (have) shown.add(path.resolve(have.path));
      items.push({
        label: `${have ? mark(have.path) : ''}${r.repo}`,
        description: [r.goodFor(), have ? vscode.l10n.t('downloaded') : undefined].filter(Boolean).join(' · '),
        detail: [r.variant, sizeAndMemory(have ? undefined : r.downloadBytes, recommendedMemory(r)), r.about()].join(' · '),
        ...(have ? { folder: have.path, action: 'folder' as const } : { preset: { repo: r.repo, variant: r.variant }, action: 'recommended' as const }),
      });
    }
    const others = stored.filter((m) => !shown.has(path.resolve(m.path)));
    if (others.length) {
      items.push({ label: vscode.l10n.t('Downloaded'), kind: vscode.QuickPickItemKind.Separator });
      for (const m of others) {
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
      {
        label: `$(folder-opened) ${vscode.l10n.t('Open Folder...')}`,
        detail: vscode.l10n.t('A GPT-2 or Llama-family model (GPT-2, SmolLM2, Qwen2.5) in the transformers.js layout (config.json, tokenizer.json, onnx/model.onnx)'),
        action: 'open',
      },
      { label: `$(cloud-download) ${vscode.l10n.t('Download from Hugging Face...')}`, detail: vscode.l10n.t('Any GPT-2 or Llama-family repository in the transformers.js layout, for example Xenova/distilgpt2 or HuggingFaceTB/SmolLM2-360M-Instruct'), action: 'download' },
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
        const folder = await this.downloads.download();
        return folder ? this.useDownloaded(folder) : false;
      }
      case 'recommended': {
        const folder = await this.downloads.download(pick.preset);
        return folder ? this.useDownloaded(folder) : false;
      }
      default:
        return false;
    }
  }

  /**
   * Switches to a folder a download just wrote. Another variant of the repository in use lands in the same folder:
   * the model service and the worker know the model by its folder, so neither would read the new files; going through
   * the built-in model first makes both load it anew (the old variant's files are gone already).
   */
  private async useDownloaded(folder: string): Promise<boolean> {
    if (this.service.current !== undefined && path.resolve(folder) === path.resolve(this.service.folder)) {
      this.log.info(`Model: ${folder} was downloaded again while in use; loading it anew`);
      this.service.setFolder(undefined);
      await this.service.ensureLoaded().catch(() => undefined);
    }
    return this.use(folder);
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
    if (folder && !path.resolve(folder).startsWith(path.resolve(this.modelsDir) + path.sep)) await this.recentFolders.remember(folder);
    return true;
  }

  /** "LLM Lens: Manage Models". */
  manageModels(): Promise<void> {
    return manageModels({ modelsDir: this.modelsDir, service: this.service, recent: this.recentFolders, use: (f) => this.use(f), channel: this.channel, log: this.log });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
