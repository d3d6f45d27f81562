// The hub access token, found where huggingface_hub looks: the HF_TOKEN environment variable (or its older name
// HUGGING_FACE_HUB_TOKEN), else the file `huggingface-cli login` / `hf auth login` writes, so that a person who
// logged in once for Python does not have to export the token again for LLM Lens.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * huggingface_hub's token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else `$XDG_CACHE_HOME/huggingface/token`,
 * else `~/.cache/huggingface/token` (its own constants, a leading `~` expanded as it does).
 */
export function hubTokenPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = (process.platform === 'win32' ? env.USERPROFILE : env.HOME) || os.homedir();
  const expand = (p: string) => (p === '~' || p.startsWith('~/') || p.startsWith('~\\') ? path.join(home, p.slice(1)) : p);
  if (env.HF_TOKEN_PATH) return expand(env.HF_TOKEN_PATH);
  const hfHome = env.HF_HOME ? expand(env.HF_HOME) : path.join(env.XDG_CACHE_HOME ? expand(env.XDG_CACHE_HOME) : path.join(home, '.cache'), 'huggingface');
  return path.join(hfHome, 'token');
}

/**
 * The access token to send to the hub, or undefined: HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token file
 * (see `hubTokenPath`). The file's content is trimmed, as huggingface_hub does; a file that is missing, unreadable,
 * empty, or holds anything but one printable token (it would be refused as a header, or leak other text) is ignored.
 */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  let text: string;
  try {
    const file = hubTokenPath(env);
    // A token is tens of characters; anything large is not a token file.
    if (fs.statSync(file).size > 4096) return undefined;
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return /^[\x21-\x7e]+$/.test(text) ? text : undefined;
}
