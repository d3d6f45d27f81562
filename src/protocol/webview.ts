// Messages between the host's panel controller and the webviews. Each panel starts with `ready`.
import type { RuntimeInfo } from './worker';

export type ViewId = 'runtime';

/** webview -> host */
export type WebviewToHostMessage =
  | { type: 'ready' }
  | { type: 'command'; command: 'refresh' }
  | { type: 'log'; level: 'warn' | 'error'; message: string };

/** host -> webview */
export type HostToWebviewMessage =
  | { type: 'init'; view: ViewId; state: ViewState }
  | { type: 'error'; message: string };

export type ViewState = { view: 'runtime'; info: RuntimeInfo | undefined; error?: string; strings: Record<string, string> };

export function isWebviewToHostMessage(m: unknown): m is WebviewToHostMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
      return true;
    case 'command':
      return o.command === 'refresh';
    case 'log':
      return (o.level === 'warn' || o.level === 'error') && typeof o.message === 'string';
    default:
      return false;
  }
}
