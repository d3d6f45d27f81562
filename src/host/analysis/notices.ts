// What the analysis panel says instead of charts: text it will not send to the model, and failures, worded in
// the display language with the action that helps.
import * as vscode from 'vscode';
import type { TextProblem } from '../../core/analysis/textCheck';
import { errorMessage } from '../../core/common/errors';
import type { PanelNotice } from '../../protocol/webview';
import { SETTINGS } from '../commands';
import { refusalMessage } from '../refusals';

export function problemNotice(p: TextProblem, wholeLine: boolean, line: number, maxTokens: number): PanelNotice {
  switch (p.kind) {
    case 'empty':
      return { kind: 'info', message: wholeLine ? vscode.l10n.t('The current line is empty. Select some text to analyze.') : vscode.l10n.t('The selection is empty. Select some text to analyze.') };
    case 'whitespace':
      return { kind: 'info', message: wholeLine ? vscode.l10n.t('The current line holds only whitespace. Select some text to analyze.') : vscode.l10n.t('The selection holds only whitespace. Select some text to analyze.') };
    case 'binary':
      return {
        kind: 'error',
        message: p.nul
          ? vscode.l10n.t('This looks like binary data, not text (it contains NUL characters). LLM Lens analyzes text.')
          : vscode.l10n.t('This looks like binary data, not text (it is full of control characters). LLM Lens analyzes text.'),
      };
    case 'minifiedLine':
      return { kind: 'info', message: vscode.l10n.t('Line {0} is {1} characters long (a minified file?). Select the part you want to analyze.', line + 1, p.chars) };
    case 'tooLong':
      return {
        kind: 'error',
        message: vscode.l10n.t('The selection has {0} characters, more than {1} tokens can hold. Select less text, or raise the limit in the setting "{2}".', p.chars, maxTokens, SETTINGS.analysisMaxTokens),
        action: openSettings(),
      };
  }
}

export function errorNotice(e: unknown): PanelNotice {
  const refusal = refusalMessage(e);
  if (refusal !== undefined) {
    const code = (e as { code: string }).code;
    return code === 'tooManyTokens' ? { kind: 'error', message: refusal, action: openSettings() } : { kind: 'info', message: refusal };
  }
  return { kind: 'error', message: vscode.l10n.t('The analysis failed: {0}', errorMessage(e)), action: { label: vscode.l10n.t('Show Log'), command: 'showLog' } };
}

const openSettings = (): PanelNotice['action'] => ({ label: vscode.l10n.t('Open Settings'), command: 'openSettings' });
