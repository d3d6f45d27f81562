// One LogOutputChannel for the whole extension, adapted to the core's Logger interface.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';
import { noLinks } from './plainText';

export function createLog(): { channel: vscode.LogOutputChannel; logger: Logger } {
  const channel = vscode.window.createOutputChannel('LLM Lens', { log: true });
  const logger: Logger = {
    trace: (m) => channel.trace(m),
    debug: (m) => channel.debug(m),
    info: (m) => channel.info(m),
    warn: (m) => channel.warn(m),
    error: (m) => channel.error(m instanceof Error ? `${m.message}\n${m.stack ?? ''}` : m),
  };
  return { channel, logger };
}

/** Shows an error with a "Show Log" action; the details are already in the log. Links in it are broken (plainText.ts). */
export async function showError(channel: vscode.LogOutputChannel, message: string): Promise<void> {
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showErrorMessage(noLinks(message), showLog);
  if (choice === showLog) channel.show(true);
}

/** A warning, its links broken: every notification of the extension goes through these three. */
export function showWarning<T extends string>(message: string, ...actions: T[]): Thenable<T | undefined> {
  return vscode.window.showWarningMessage(noLinks(message), ...actions);
}

/** Information, its links broken. */
export function showInfo<T extends string>(message: string, ...actions: T[]): Thenable<T | undefined> {
  return vscode.window.showInformationMessage(noLinks(message), ...actions);
}
