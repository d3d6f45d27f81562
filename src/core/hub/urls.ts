// Hub addresses: repository ids, the resolve (file) and API URLs, and the local folder name of a download.
import { HubBadRepoIdError } from './errors';

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
    const revision = k >= 0 && models[k + 1] ? decodeURIComponent(models[k + 1]) : undefined;
    return { repo: checkRepoId(repoSegs.join('/')), revision };
  }
  let revision: string | undefined;
  const at = s.lastIndexOf('@');
  if (at > 0) {
    revision = s.slice(at + 1) || undefined;
    s = s.slice(0, at);
  }
  return { repo: checkRepoId(s), revision };
}

function trimEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

/** `{endpoint}/{repo}/resolve/{rev}/{file}`: a small file's bytes, or a redirect to a large file's storage. */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${trimEndpoint(endpoint)}/${repoPath(repo)}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** `{endpoint}/api/models/{repo}/revision/{rev}?blobs=true`: the revision's commit and files, with LFS sizes and SHA-256. */
export function apiRevisionUrl(endpoint: string, repo: string, revision: string): string {
  return `${trimEndpoint(endpoint)}/api/models/${repoPath(repo)}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

/** `owner--name@rev`, safe as one folder name on every OS (the revision keeps only [A-Za-z0-9._-]). */
export function modelFolderName(repo: string, revision: string): string {
  return `${repo.split('/').join('--')}@${revision.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}
