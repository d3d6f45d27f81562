// The status bar item naming the model in use; clicking it opens "LLM Lens: Select Model".
import * as vscode from 'vscode';
import { describeFolder } from './models/modelPicker';
import { COMMANDS } from './commands';

export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('llmLens.model', vscode.StatusBarAlignment.Right, 100);
  private readonly subs: vscode.Disposable[];

  constructor(private readonly model: { readonly folder: string; readonly builtinFolder: string; onDidChangeModel: vscode.Event<void>; onDidLoad: vscode.Event<unknown> }) {
    this.subs = [model.onDidChangeModel(() => this.update()), model.onDidLoad(() => this.update())];
    this.item.name = vscode.l10n.t('LLM Lens Model');
    this.item.command = COMMANDS.selectModel;
    this.update();
    this.item.show();
  }

  /** Shows the folder the service uses now (call after a switch or a load). */
  update(): void {
    const name = describeFolder(this.model.folder, this.model.builtinFolder);
    this.item.text = `$(telescope) ${name}`;
    this.item.tooltip = vscode.l10n.t('LLM Lens reads text with {0} ({1}). Click to select another model.', name, this.model.folder);
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.item.dispose();
  }
}
