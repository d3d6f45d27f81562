// One LogOutputChannel for the whole extension, adapted to the core's Logger interface.
import * as vscode from 'vscode';
import type { Logger } from '../core/common/logger';

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

/** Shows an error with a "Show Log" action; the details are already in the log. */
export async function showError(channel: vscode.LogOutputChannel, message: string): Promise<void> {
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showErrorMessage(message, showLog);
  if (choice === showLog) channel.show(true);
}
