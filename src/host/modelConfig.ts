// Typed access to the model settings: llmLens.model (restricted in untrusted workspaces) and llmLens.hub.endpoint.
import * as vscode from 'vscode';
import { DEFAULT_ENDPOINT } from '../core/hub/urls';

export class ModelConfig {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('llmLens');
  }

  /**
   * The built-in model's id or a model folder. In an untrusted workspace VS Code leaves out the
   * workspace's value (package.json restrictedConfigurations), so this is the user's choice there.
   */
  get model(): string {
    return this.section.get<string>('model', '') ?? '';
  }

  /** Saves the chosen model where the value in effect comes from: the trusted workspace if it sets one, else the user settings. */
  async setModel(value: string): Promise<void> {
    const i = this.section.inspect<string>('model');
    const target =
      vscode.workspace.isTrusted && i?.workspaceFolderValue !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : vscode.workspace.isTrusted && i?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    await this.section.update('model', value, target);
  }

  /** The hub's base URL. Application-scoped: a workspace cannot point downloads (and HF_TOKEN) at another server. */
  get hubEndpoint(): string {
    const v = (this.section.get<string>('hub.endpoint', DEFAULT_ENDPOINT) ?? '').trim();
    return /^https?:\/\/[^/]/i.test(v) ? v : DEFAULT_ENDPOINT;
  }
}
