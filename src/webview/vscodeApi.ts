// The webview's single handle on VS Code: typed posting, and the ready handshake.
import type { HostToWebviewMessage, WebviewToHostMessage } from '../protocol/webview';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const vscode = acquireVsCodeApi();

export function onHostMessage(handler: (m: HostToWebviewMessage) => void): void {
  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    const m = e.data as HostToWebviewMessage | undefined;
    if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
    handler(m);
  });
}
