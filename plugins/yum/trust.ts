import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Configuration, RepositoryMetadataError } from 'hoist';

/**
 * What repository metadata may point at. Metadata read over the network (http or https) may
 * name only http and https URLs; metadata read from a local (`file:`) repository may also name
 * files, but only inside that repository's folder. Credentials go only to the origins the
 * operator configured.
 */

/** Origins (scheme, host, port) of the URLs the operator configured: they get the credentials. */
export function configuredOrigins(repo: Configuration): Set<string> {
  const origins = new Set<string>();
  for (const value of [repo.REPO_URL, repo.MIRRORLIST, repo.METALINK]) {
    const origin = webOrigin(value);
    if (origin) origins.add(origin);
  }
  return origins;
}

/** Does a request to `url` carry the repository's credentials? */
export function mayCarryCredentials(url: string, origins: ReadonlySet<string>): boolean {
  const origin = webOrigin(url);
  return origin !== undefined && origins.has(origin);
}

/** Is this URL read over the network (http or https)? */
export function isNetworkUrl(url: string): boolean {
  return /^https?:$/.test(protocolOf(url) ?? '');
}

/**
 * Refuses a URL that a metadata file may not name.
 * @param url the absolute URL the metadata names (already resolved)
 * @param href what the metadata said, for the message
 * @param from the metadata file that named it
 * @param root the repository folder (a `file:` URL) when `from` is local
 */
export function checkNamedUrl(url: string, href: string, from: string, root?: string): string {
  const protocol = protocolOf(url);
  if (protocol === 'http:' || protocol === 'https:') return url;
  const named = href === url ? href : `${href} (${url})`;
  if (protocol === 'file:' && root && !isNetworkUrl(from)) {
    if (isInside(url, root)) return url;
    throw new RepositoryMetadataError(
      `${from} names ${named}, outside the repository folder ${fileURLToPath(root)}; refused`,
    );
  }
  throw new RepositoryMetadataError(
    isNetworkUrl(from)
      ? `${from} names ${named}; metadata read over the network may name only http and https URLs`
      : `${from} names ${named}; a local repository may name only http and https URLs and files in its folder`,
  );
}

/**
 * Resolves a metadata href against its base (an `xml:base` when it is an absolute URL, else the
 * repository base) and checks what the result may be.
 */
export function resolveNamed(
  href: string,
  xmlBase: string | undefined,
  repositoryBase: string,
  from: string,
): string {
  const base = xmlBase && protocolOf(xmlBase) ? xmlBase : repositoryBase;
  let url: string;
  try {
    url = new URL(href, withSlash(base)).href;
  } catch {
    throw new RepositoryMetadataError(`${from} names ${JSON.stringify(href)}, which is not a URL`);
  }
  const shown = xmlBase && base === xmlBase ? `${href} under xml:base ${xmlBase}` : href;
  return checkNamedUrl(url, shown, from, localRoot(repositoryBase));
}

/** The repository folder of a local base, as a `file:` URL ending in `/`; undefined otherwise. */
export function localRoot(base: string): string | undefined {
  return protocolOf(base) === 'file:' ? withSlash(base) : undefined;
}

function isInside(url: string, root: string): boolean {
  let path: string;
  let folder: string;
  try {
    path = fileURLToPath(url);
    folder = fileURLToPath(root);
  } catch {
    return false;
  }
  const prefix = folder.endsWith(sep) ? folder : `${folder}${sep}`;
  return path.startsWith(prefix);
}

function webOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

function protocolOf(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Refuses a mirror a mirror list or metalink may not name: one read over the network names only
 * http and https mirrors; the operator's own local list may name local folders too.
 */
export function checkMirror(url: string, from: string): string {
  const protocol = protocolOf(url);
  if (protocol === 'http:' || protocol === 'https:') return url;
  if (protocol === 'file:' && !isNetworkUrl(from)) return url;
  return checkNamedUrl(url, url, from);
}
