// Text the model refuses, worded on the host in the display language from the facts the worker sends
// (protocol/worker.ts ErrorDetailsByCode); the core's English sentence is only for logs and the CLI.
import * as vscode from 'vscode';
import { detailsOf } from '../protocol/worker';
import { SETTINGS } from './commands';

/** Worker error codes for text the core refuses: the person's to fix, not a fault. */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(['tooManyTokens', 'binaryText', 'emptyText']);

export function isRefusal(e: unknown): boolean {
  return typeof e === 'object' && e !== null && REFUSAL_CODES.has(String((e as { code?: unknown }).code));
}

/** The refusal in the display language, or undefined when `e` is not one. */
export function refusalMessage(e: unknown): string | undefined {
  if (!isRefusal(e)) return undefined;
  const err = e as { code: string; details?: unknown };
  const many = detailsOf(err, 'tooManyTokens');
  if (many) {
    const count = many.atLeast ? vscode.l10n.t('at least {0}', many.tokens) : String(many.tokens);
    return many.reason === 'setting'
      ? vscode.l10n.t('The text has {0} tokens; the limit is {1} tokens per analysis (setting {2}). Select less text or raise the limit.', count, many.limit, SETTINGS.analysisMaxTokens)
      : vscode.l10n.t('The text has {0} tokens; the model reads at most {1} tokens (its context length). Select less text.', count, many.limit);
  }
  const binary = detailsOf(err, 'binaryText');
  if (binary) return vscode.l10n.t('The text looks like binary data ({0} of {1} characters are control characters or undecodable bytes); LLM Lens reads text.', binary.controlChars, binary.length);
  return vscode.l10n.t('There is no text to analyze: select some text first.');
}
