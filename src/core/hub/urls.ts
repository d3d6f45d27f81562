// Hub addresses: repository ids, the resolve (file) and API URLs, and the local folder name of a download.
import { HubBadRepoIdError, HubBadRevisionError, HubUnsafeFileNameError } from './errors';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

// The hub's own rule: letters, digits, '-', '_', '.', no '--' or '..', not starting or ending with '-' or '.'.
const NAME = /^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9_.-]{1,96}(?<![-.])$/;

export interface RepoRef {
  repo: string;
  revision?: string;
}

/** Checks an `owner/name` id (or a legacy owner-less one like `gpt2`) and returns it unchanged. */
export function checkRepoId(repo: string): string {
  const parts = repo.split('/');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) throw new HubBadRepoIdError(repo);
  return repo;
}

/**
 * Checks a revision (branch, tag, commit, `refs/pr/1`) and returns it unchanged. It is sent as one encoded path
 * segment, and encodeURIComponent leaves dots alone: `.` or `..` would be read by URL normalisation as a step up
 * the path (`/resolve/../x` is `/x`), fetching files from somewhere other than the revision asked for.
 */
export function checkRevision(revision: string): string {
  if (!revision || revision === '.' || revision === '..' || /[\x00-\x1f\x7f]/.test(revision)) throw new HubBadRevisionError(revision);
  return revision;
}

/**
 * Why a repository file name must not become a local path or a URL path, or undefined when it may. Names come from
 * the hub's listing, which a hostile or broken endpoint controls: a `..` or `.` segment climbs out of the folder
 * (and is rewritten by URL normalisation), a leading `/` or a drive letter is absolute, a backslash is a separator
 * on Windows, a colon names an NTFS stream, and control characters have no business in a path or a message.
 */
export function unsafePathReason(name: string): string | undefined {
  if (!name) return 'an empty name';
  if (/[\x00-\x1f\x7f-\x9f]/.test(name)) return 'control characters in the name';
  if (name.includes('\\')) return 'a backslash in the name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.includes(':')) return 'a colon in the name';
  const segs = name.split('/');
  if (segs.includes('..')) return 'a ".." segment that climbs out of the folder';
  if (segs.some((p) => p === '' || p === '.')) return 'an empty or "." path segment';
  return undefined;
}

/**
 * Accepts what people paste: `owner/name`, `owner/name@rev`, or a hub page URL such as
 * `https://huggingface.co/owner/name/tree/rev`.
 */
export function parseRepoInput(input: string): RepoRef {
  let s = input.trim();
  const url = /^https?:\/\/[^/]+\/(.*)$/i.exec(s);
  if (url) {
    const segs = url[1].split(/[?#]/)[0].split('/').filter(Boolean);
    const models = segs[0] === 'models' ? segs.slice(1) : segs;
    const k = models.findIndex((p) => p === 'tree' || p === 'blob' || p === 'resolve');
    const repoSegs = k >= 0 ? models.slice(0, k) : models;
    const revision = k >= 0 && models[k + 1] ? checkRevision(decodeURIComponent(models[k + 1])) : undefined;
    return { repo: checkRepoId(repoSegs.join('/')), revision };
  }
  let revision: string | undefined;
  const at = s.lastIndexOf('@');
  if (at > 0) {
    revision = s.slice(at + 1) || undefined;
    s = s.slice(0, at);
  }
  if (revision !== undefined) checkRevision(revision);
  return { repo: checkRepoId(s), revision };
}

function trimEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

/**
 * `{endpoint}/{repo}/resolve/{rev}/{file}`: a small file's bytes, or a redirect to a large file's storage. Every
 * segment is encoded; a file name that is no safe path (a `..` segment, which normalisation would rewrite) is refused.
 */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const why = unsafePathReason(file);
  if (why) throw new HubUnsafeFileNameError(repo, file, why);
  return `${trimEndpoint(endpoint)}/${repoPath(repo)}/resolve/${encodeURIComponent(checkRevision(revision))}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** `{endpoint}/api/models/{repo}/revision/{rev}?blobs=true`: the revision's commit and files, with LFS sizes and SHA-256. */
export function apiRevisionUrl(endpoint: string, repo: string, revision: string): string {
  return `${trimEndpoint(endpoint)}/api/models/${repoPath(repo)}/revision/${encodeURIComponent(checkRevision(revision))}?blobs=true`;
}

/** `owner--name@rev`, safe as one folder name on every OS (the revision keeps only [A-Za-z0-9._-]). */
export function modelFolderName(repo: string, revision: string): string {
  return `${repo.split('/').join('--')}@${revision.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}
