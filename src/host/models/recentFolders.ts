// The folders a person opened as models, newest first (downloads are listed from storage instead).
import * as path from 'node:path';
import type * as vscode from 'vscode';

const RECENT_KEY = 'llmLens.recentModelFolders';
const MAX_RECENT = 5;

export class RecentFolders {
  constructor(private readonly state: vscode.Memento) {}

  list(): string[] {
    const v = this.state.get<unknown>(RECENT_KEY, []);
    return Array.isArray(v) ? v.filter((f): f is string => typeof f === 'string') : [];
  }

  async remember(folder: string): Promise<void> {
    const list = [folder, ...this.list().filter((f) => path.resolve(f) !== path.resolve(folder))].slice(0, MAX_RECENT);
    await this.state.update(RECENT_KEY, list);
  }

  async forget(folder: string): Promise<void> {
    await this.state.update(RECENT_KEY, this.list().filter((f) => f !== folder));
  }
}
