// A stand-in for the 'vscode' module outside VS Code (the bench's panels section and the dev preview alias
// 'vscode' to it): enough for the host's string tables and view-state builders.
let translations: Record<string, string> | undefined;

export const l10n = {
  t(message: string, ...args: unknown[]): string {
    const text = translations?.[message] ?? message;
    return text.replace(/\{(\d+)\}/g, (m, i: string) => (Number(i) < args.length ? String(args[Number(i)]) : m));
  },
};
export const env = { language: 'en' };

/**
 * The display language the stub answers in, as VS Code would with l10n/bundle.l10n.<language>.json loaded: the dev
 * preview renders each panel in pt-br with it. No bundle: English, the source strings.
 */
export function setPreviewLanguage(language: string, bundle?: Record<string, string>): void {
  env.language = language;
  translations = bundle;
}

/** Every setting at its default, as in a fresh profile. */
export const workspace = {
  getConfiguration(_section?: string) {
    return { get: <T>(_key: string, defaultValue: T): T => defaultValue };
  },
};
export class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  event = (l: (e: T) => void) => {
    this.listeners.push(l);
    return { dispose() {} };
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
  dispose(): void {}
}
