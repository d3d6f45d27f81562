// Typed access to the llmLens.* settings; each getter reads the current value.
import * as os from 'node:os';
import * as vscode from 'vscode';

export class Config {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('llmLens');
  }

  /** Threads onnxruntime-web may use; 0 means its own default. Takes effect when the worker restarts. */
  get threads(): number {
    const n = this.section.get<number>('runtime.threads', 0);
    return n > 0 ? n : Math.min(4, Math.max(1, Math.ceil(os.cpus().length / 2)));
  }
}
