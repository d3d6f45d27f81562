// "LLM Lens: Manage Models": downloaded models, unfinished downloads and recent folders; use one, delete one
// (the model in use goes back to the built-in one first), or forget a recent folder.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../../core/common/logger';
import { errorMessage } from '../../core/common/errors';
import { formatBytes } from '../../core/hub/errors';
import { deleteStoredModel, hubId, listStoredModels, type StoredModel } from '../../core/hub/store';
import { showError } from '../log';
import { noLinks } from '../plainText';
import type { RecentFolders } from './recentFolders';

export interface ManageDeps {
  modelsDir: string;
  service: { readonly folder: string };
  recent: RecentFolders;
  /** Switches to a folder (undefined: the built-in model); false when it could not. */
  use(folder: string | undefined): Promise<boolean>;
  channel: vscode.LogOutputChannel;
  log: Logger;
}

/** "LLM Lens: Manage Models": downloaded models, unfinished downloads and recent folders, each deletable. */
export async function manageModels(deps: ManageDeps): Promise<void> {
  type Item = vscode.QuickPickItem & { model?: StoredModel; recent?: string };
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = vscode.l10n.t('LLM Lens: Manage Models');
  qp.placeholder = vscode.l10n.t('Select to use a model; the trash button deletes it');
  const trash = { iconPath: new vscode.ThemeIcon('trash'), tooltip: vscode.l10n.t('Delete') };
  const forget = { iconPath: new vscode.ThemeIcon('close'), tooltip: vscode.l10n.t('Remove from the list (the folder stays on disk)') };
  const refresh = async () => {
    const stored = await listStoredModels(deps.modelsDir);
    const active = path.resolve(deps.service.folder);
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
    const recent = deps.recent.list();
    if (recent.length) {
      items.push({ label: vscode.l10n.t('Recent folders'), kind: vscode.QuickPickItemKind.Separator });
      for (const f of recent) items.push({ label: path.basename(f), description: f, recent: f, buttons: [forget] });
    }
    qp.items = items;
  };
  qp.onDidTriggerItemButton(async ({ item }) => {
    if (item.recent) {
      await deps.recent.forget(item.recent);
    } else if (item.model) {
      await deleteModel(deps, item.model);
    }
    await refresh();
  });
  qp.onDidAccept(async () => {
    const item = qp.selectedItems[0];
    qp.hide();
    if (item?.model && !item.model.partial) await deps.use(item.model.path);
    else if (item?.recent) await deps.use(item.recent);
  });
  qp.onDidHide(() => qp.dispose());
  qp.busy = true;
  qp.show();
  await refresh();
  qp.busy = false;
}

async function deleteModel(deps: ManageDeps, m: StoredModel): Promise<void> {
  const name = m.manifest ? hubId(m.manifest) : m.name;
  const del = vscode.l10n.t('Delete');
  // eslint-disable-next-line no-restricted-syntax -- a modal confirmation; its text goes through noLinks too
  const ok = await vscode.window.showWarningMessage(noLinks(vscode.l10n.t('Delete {0} ({1}) from disk?', name, formatBytes(m.bytes))), { modal: true }, del);
  if (ok !== del) return;
  // The model in use goes back to the built-in one first.
  if (path.resolve(m.path) === path.resolve(deps.service.folder) && !(await deps.use(undefined))) return;
  try {
    await deleteStoredModel(deps.modelsDir, m.path);
    deps.log.info(`Deleted ${m.path}`);
  } catch (e) {
    void showError(deps.channel, vscode.l10n.t('Could not delete {0}: {1}', m.path, errorMessage(e)));
  }
}

