// The one owner of webview panels: CSP with a per-render nonce, local resource roots, the ready
// handshake, message validation, restore after reload, and disposal. Views plug in via PanelView.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { isWebviewToHostMessage, type HostMessageFor, type StateFor, type ViewId, type WebviewMessageFor } from '../protocol/webview';
import type { Logger } from '../core/common/logger';
import { errorMessage } from '../core/common/errors';

/** What a view supplies: its title and how to compute its state; it receives and sends only its own messages. */
export interface PanelView<V extends ViewId = ViewId> {
  readonly id: V;
  title(): string;
  state(): Promise<StateFor<V>>;
  onMessage?(message: WebviewMessageFor<V>, panel: OpenPanel<V>): void | Promise<void>;
  /** The view's panel opened (or was restored after a reload); the view may post to it until detached. */
  attached?(panel: OpenPanel<V>): void;
  detached?(): void;
  /** A new webview document started (first open, reload, or shown again after being hidden). */
  webviewReady?(): void;
}

export interface OpenPanel<V extends ViewId = ViewId> {
  post(message: HostMessageFor<V>): Thenable<boolean>;
  refresh(): Promise<void>;
  readonly panel: vscode.WebviewPanel;
}

export type AnyPanelView = PanelView<'analysis'> | PanelView<'modelCard'> | PanelView<'runtime'>;

export class PanelController implements vscode.Disposable {
  private readonly open = new Map<ViewId, OpenPanel<ViewId>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Logger,
    private readonly views: ReadonlyMap<ViewId, AnyPanelView>,
  ) {
    for (const id of views.keys()) {
      this.disposables.push(
        vscode.window.registerWebviewPanelSerializer(viewType(id), {
          deserializeWebviewPanel: async (panel) => {
            this.attach(id, panel);
          },
        }),
      );
    }
  }

  /** Opens (or reveals) the panel of a view; with preserveFocus the editor keeps the keyboard. */
  show(id: ViewId, preserveFocus = false): OpenPanel {
    const existing = this.open.get(id);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      void existing.refresh();
      return existing;
    }
    const view = this.view(id);
    const panel = vscode.window.createWebviewPanel(viewType(id), view.title(), { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, this.options());
    return this.attach(id, panel);
  }

  get(id: ViewId): OpenPanel | undefined {
    return this.open.get(id);
  }

  dispose(): void {
    for (const p of this.open.values()) p.panel.dispose();
    this.open.clear();
    for (const d of this.disposables) d.dispose();
  }

  private view(id: ViewId): PanelView<ViewId> {
    const v = this.views.get(id);
    if (!v) throw new Error(`No view registered for ${id}`);
    // Each view gets the messages of its own id only (isWebviewToHostMessage checks them against `id`).
    return v as unknown as PanelView<ViewId>;
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
  }

  private attach(id: ViewId, panel: vscode.WebviewPanel): OpenPanel {
    const view = this.view(id);
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html(panel.webview, id);
    const subs: vscode.Disposable[] = [];
    let disposed = false;
    const open: OpenPanel = {
      panel,
      // A view may finish work after its panel was closed: posting then is a no-op, not an error.
      post: (m) => (disposed ? Promise.resolve(false) : panel.webview.postMessage(m)),
      refresh: async () => {
        try {
          const state = await view.state();
          await open.post({ type: 'init', view: id, state } as HostMessageFor<ViewId>);
        } catch (e) {
          if (disposed) return;
          this.log.error(e instanceof Error ? e : String(e));
          await open.post({ type: 'error', message: errorMessage(e) });
        }
      },
    };
    subs.push(
      panel.webview.onDidReceiveMessage(async (raw: unknown) => {
        if (!isWebviewToHostMessage(raw, id)) {
          this.log.warn(`Rejected a malformed message from the ${id} panel: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        if (raw.type === 'ready') {
          view.webviewReady?.();
          return open.refresh();
        }
        if (raw.type === 'log') return this.log[raw.level](`[${id} panel] ${raw.message}`);
        if (raw.type === 'command' && raw.command === 'refresh' && !view.onMessage) return open.refresh();
        await view.onMessage?.(raw, open);
      }),
      panel.onDidDispose(() => {
        disposed = true;
        if (this.open.get(id) === open) this.open.delete(id);
        for (const s of subs) s.dispose();
        view.detached?.();
      }),
    );
    this.open.set(id, open);
    view.attached?.(open);
    return open;
  }

  private html(webview: vscode.Webview, id: ViewId): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="${vscode.env.language}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>LLM Lens</title>
</head>
<body data-view="${id}">
<main id="app" aria-live="polite"></main>
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}

export function viewType(id: ViewId): string {
  return `llmLens.${id}`;
}
