// Text from outside the extension (a workspace's settings, a hub's file names and configs, error messages that
// quote them) shown in a notification. VS Code turns `[label](command:...)` in notification text into a link that
// runs the command, so such text must not be able to form one. No vscode import: unit tests check it directly.

/** Longest piece of foreign text a notification quotes. */
const MAX_QUOTED = 300;

/**
 * The message with every Markdown link broken (a zero-width space between `]` and `(`, so it reads the same),
 * control characters dropped and its length bounded. Our own messages contain no links, so every notification
 * goes through this.
 */
export function noLinks(message: string): string {
  const clean = message.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').replace(/\]\s*\(/g, (m) => `]\u200b${m.slice(1)}`);
  return clean;
}

/** A piece of foreign text quoted inside a message: links broken, one line, bounded. */
export function quoted(text: string): string {
  const one = noLinks(String(text)).replace(/\s+/g, ' ').trim();
  return one.length > MAX_QUOTED ? `${one.slice(0, MAX_QUOTED)}…` : one;
}
