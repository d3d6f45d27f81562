// The models folder on disk: downloaded models (each with its lens-download.json), unfinished
// downloads under .downloads/, and deleting either without ever reaching outside the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, STAGING_DIR, type DownloadManifest } from './download';
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
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (!partial && !fs.existsSync(path.join(p, 'config.json'))) continue;
    out.push({ name: e.name, path: p, bytes: await folderBytes(p), manifest: await readManifest(p), partial });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Finished models directly in `dir` (folders holding a config.json), then unfinished downloads. */
export async function listStoredModels(dir: string): Promise<StoredModel[]> {
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
  await fs.promises.rm(t, { recursive: true, force: true });
}
