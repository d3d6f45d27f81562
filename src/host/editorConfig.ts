// Typed access to the settings of the editor surfaces: hover cards (llmLens.hover.*), surprisal highlighting
// and the limits both honour (llmLens.editor.*). Read when used, so a change applies to the next hover.
import * as vscode from 'vscode';

export const DEFAULT_MAX_FILE_BYTES = 1_000_000;

export class EditorConfig {
  private get section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('llmLens');
  }

  get hoverEnabled(): boolean {
    return this.section.get<boolean>('hover.enabled', true) !== false;
  }

  /** Tokens of text before a token that the model reads to score it. */
  get contextTokens(): number {
    return clampInt(this.section.get<number>('hover.contextTokens', 256), 1, 1024, 256);
  }

  /** Language ids the editor surfaces work in: "*" for all, "!id" to leave one out. */
  get languages(): string[] {
    const v = this.section.get<unknown>('editor.languages', ['*']);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : ['*'];
  }

  /** Documents larger than this (UTF-8 bytes) get no hover card and no highlighting. */
  get maxFileBytes(): number {
    return clampInt(this.section.get<number>('editor.maxFileBytes', DEFAULT_MAX_FILE_BYTES), 1, 1 << 30, DEFAULT_MAX_FILE_BYTES);
  }

  /** Most tokens scored for one hover or one highlighting pass. */
  get maxTokens(): number {
    return clampInt(this.section.get<number>('editor.maxTokens', 2048), 16, 16384, 2048);
  }

  /** Milliseconds highlighting waits after scrolling or typing stops. */
  get surprisalDelay(): number {
    return clampInt(this.section.get<number>('surprisal.delay', 300), 0, 5000, 300);
  }
}

function clampInt(v: unknown, min: number, max: number, fallback: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

/** Whether a language id is in the list: "*" takes all, "!id" leaves one out, an exclusion wins. */
export function languageEnabled(languages: readonly string[], languageId: string): boolean {
  if (languages.includes(`!${languageId}`)) return false;
  return languages.includes('*') || languages.includes(languageId);
}
