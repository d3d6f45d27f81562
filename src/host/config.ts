// Typed access to the llmLens.* settings; each getter reads the current value.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { defaultThreads } from '../core/threads';

export class Config {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('llmLens');
  }

  /** Threads onnxruntime-web may use; 0 means its own default. Takes effect when the worker restarts. */
  get threads(): number {
    const n = this.section.get<number>('runtime.threads', 0);
    return n > 0 ? n : defaultThreads(os.cpus().length);
  }
}

/** Settings of the analysis panel (llmLens.analysis.*), read when used. */
export class AnalysisConfig {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('llmLens.analysis');
  }

  /** Texts with more tokens are refused before the model runs. */
  get maxTokens(): number {
    return Math.max(1, Math.floor(this.section.get<number>('maxTokens', 1024)));
  }

  /** Next-token and logit-lens candidates shown per position. */
  get topK(): number {
    return Math.min(20, Math.max(1, Math.floor(this.section.get<number>('topK', 5))));
  }

  /** Nearest vocabulary neighbours shown for the chosen token. */
  get neighbours(): number {
    return Math.min(50, Math.max(1, Math.floor(this.section.get<number>('neighbours', 8))));
  }

  /** Whether the panel re-analyses when the editor's selection moves elsewhere (unless pinned). */
  get followSelection(): boolean {
    return this.section.get<boolean>('followSelection', true);
  }

  /** Milliseconds the selection must rest before the panel follows it. */
  get followDelay(): number {
    return Math.min(5000, Math.max(50, this.section.get<number>('followDelay', 400)));
  }
}
