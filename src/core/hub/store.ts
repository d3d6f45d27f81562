// The models folder on disk: downloaded models (each with its lens-download.json), unfinished
// downloads under .downloads/ with whatever an interrupted replacement left there, and deleting any of
// them without ever reaching outside the folder or under a download that is running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../common/logger';
import { MANIFEST_FILE, STAGING_DIR, downloadBusy, replacedFolderOf, restoreReplaced, type DownloadManifest } from './download';
import { HubFileSystemError } from './errors';

export interface StoredModel {
  /** `owner--name@rev` */
  name: string;
  path: string;
  bytes: number;
  /** What lens-download.json says; absent for a folder copied in by hand. */
  manifest?: DownloadManifest;
  /** True for an unfinished download (resumable by downloading the same repository, revision and variant again). */
  partial: boolean;
  /**
   * Also partial: an older copy of a model folder that an interrupted replacement left in .downloads/ (`.replaced-*`)
   * while the model folder itself is in place. Only worth deleting; downloading that model again removes it too.
   */
  leftover?: boolean;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    // `parentPath` is Node 20.12+; `path` is its older name.
    const parent = (e as unknown as { parentPath?: string; path?: string }).parentPath ?? (e as unknown as { path: string }).path;
    total += (await fs.promises.stat(path.join(parent, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function readManifest(dir: string): Promise<DownloadManifest | undefined> {
  return parseManifest(await fs.promises.readFile(path.join(dir, MANIFEST_FILE), 'utf8').catch(() => ''));
}

/** The manifest the downloader wrote in a model folder, if it is one of its downloads. */
export function readManifestSync(dir: string): DownloadManifest | undefined {
  try {
    return parseManifest(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

function parseManifest(text: string): DownloadManifest | undefined {
  try {
    const m = JSON.parse(text) as DownloadManifest;
    return typeof m?.repo === 'string' && typeof m.revision === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** How a download is named everywhere: "owner/repo@revision". */
export function hubId(m: Pick<DownloadManifest, 'repo' | 'revision'>): string {
  return `${m.repo}@${m.revision}`;
}

/** For a folder the downloader made: its hub id as ModelSpec's name and source ("hf:owner/repo@rev"). */
export function downloadIdentity(dir: string): { source?: string; name?: string } {
  const m = readManifestSync(dir);
  return m ? { source: `hf:${hubId(m)}`, name: hubId(m) } : {};
}

async function listIn(dir: string, partial: boolean): Promise<StoredModel[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: StoredModel[] = [];
  for (const e of entries) {
    // Hidden folders in the models folder are someone else's; in .downloads/ they are the downloader's own (a model
    // folder moved aside during a replacement), listed so that their bytes never sit there unseen.
    if (!e.isDirectory() || (e.name.startsWith('.') && !partial)) continue;
    const p = path.join(dir, e.name);
    if (!partial && !fs.existsSync(path.join(p, 'config.json'))) continue;
    const leftover = partial && e.name.startsWith('.') ? { leftover: true } : {};
    out.push({ name: e.name, path: p, bytes: await folderBytes(p), manifest: await readManifest(p), partial, ...leftover });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Finished models directly in `dir` (folders holding a config.json), then unfinished downloads and leftovers. A
 * model folder that a crash in the middle of its replacement left moved aside is put back first (see restoreReplaced).
 */
export async function listStoredModels(dir: string, log: Logger = silentLogger): Promise<StoredModel[]> {
  await restoreReplaced(dir, log);
  return [...(await listIn(dir, false)), ...(await listIn(path.join(dir, STAGING_DIR), true))];
}

/** Deletes a model or an unfinished download; refuses any path that is not one of `dir`'s own entries. */
export async function deleteStoredModel(dir: string, target: string): Promise<void> {
  const root = path.resolve(dir);
  const t = path.resolve(target);
  const parent = path.dirname(t);
  if (t === root || (parent !== root && parent !== path.join(root, STAGING_DIR))) {
    throw new HubFileSystemError(target, `refusing to delete it: it is not a model folder inside ${dir}`);
  }
  if (parent !== root) {
    // Not under a running download: an unfinished one another window is writing, or a folder it is moving.
    const folder = replacedFolderOf(dir, path.basename(t)) ?? path.basename(t);
    const busy = await downloadBusy(dir, folder, folder);
    if (busy) throw busy;
  }
  await fs.promises.rm(t, { recursive: true, force: true });
}
