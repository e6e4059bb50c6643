import { pathToFileURL } from 'node:url';
import { type Configuration, type PluginContext, RepositoryMetadataError } from 'hoist';
import { failOnStatus, type RepositoryAccess, readAll, send } from '../yum/fetch.ts';
import { ControlSyntaxError } from './deb822.ts';
import { isExpired, parseRelease, type Release } from './release.ts';
import { readKeyring, verifyDetached, verifyInRelease } from './signature.ts';

/** Validators of the last answer, for a conditional GET. */
export interface Conditional {
  url: string;
  etag?: string;
  lastModified?: string;
}

/** What fetching a distribution's Release yields. */
export type ReleaseFetch =
  | { kind: 'not-modified'; url: string }
  | {
      kind: 'release';
      url: string;
      release: Release;
      /** The (signed) text, which identifies the release. */
      text: string;
      signed: boolean;
      conditional: Conditional;
    }
  /** A flat repository without a Release file: only its Packages index. */
  | { kind: 'none'; url: string };

/**
 * Fetches `InRelease`, else `Release` (with `Release.gpg` when SIGNED_BY is set) from the
 * distribution folder, as apt does, verifying the signature against SIGNED_BY.
 */
export async function fetchRelease(
  repo: Configuration,
  ctx: PluginContext,
  access: RepositoryAccess,
  folder: string,
  options: { flat: boolean; previous?: Conditional },
): Promise<ReleaseFetch> {
  const keys = repo.SIGNED_BY
    ? await readKeyring(await signedBy(repo.SIGNED_BY, ctx), 'SIGNED_BY')
    : undefined;
  const inRelease = `${folder}InRelease`;
  const got = await getOptional(ctx, access, inRelease, options.previous);
  if (got === 'not-modified') return { kind: 'not-modified', url: inRelease };
  if (got) {
    const raw = got.bytes.toString('utf8');
    const text = keys ? await verifyInRelease(raw, keys, inRelease) : clearText(raw, inRelease);
    return released(inRelease, text, Boolean(keys), got.conditional);
  }
  const plain = `${folder}Release`;
  const release = await getOptional(ctx, access, plain, options.previous);
  if (release === 'not-modified') return { kind: 'not-modified', url: plain };
  if (!release) {
    if (options.flat && !keys) return { kind: 'none', url: folder };
    throw new RepositoryMetadataError(
      `${folder} has neither InRelease nor Release: not an apt distribution (check REPO_URL and DISTRIBUTION)`,
    );
  }
  if (keys) {
    const signature = await getOptional(ctx, access, `${plain}.gpg`);
    if (!signature || signature === 'not-modified')
      throw new RepositoryMetadataError(
        `${plain} is not signed (no InRelease, no Release.gpg), and SIGNED_BY asks for a signature`,
      );
    await verifyDetached(release.bytes, signature.bytes, keys, plain);
  }
  return released(plain, release.bytes.toString('utf8'), Boolean(keys), release.conditional);
}

function released(
  url: string,
  text: string,
  signed: boolean,
  conditional: Conditional,
): ReleaseFetch {
  let release: Release;
  try {
    release = parseRelease(text);
  } catch (error) {
    if (error instanceof ControlSyntaxError)
      throw new RepositoryMetadataError(`${url} is malformed: ${error.message}`);
    throw error;
  }
  if (isExpired(release, new Date()))
    throw new RepositoryMetadataError(
      `${url} expired on ${release.validUntil} (Valid-Until); the repository is not being refreshed`,
    );
  return { kind: 'release', url, release, text, signed, conditional };
}

/** The text of a clear-signed message, unverified (no SIGNED_BY: the operator trusts the source). */
export function clearText(raw: string, url: string): string {
  if (!raw.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return raw;
  const lines = raw.split(/\r?\n/);
  const blank = lines.indexOf('');
  const end = lines.indexOf('-----BEGIN PGP SIGNATURE-----');
  if (blank < 0 || end < blank)
    throw new RepositoryMetadataError(`${url} is a malformed clear-signed message`);
  return `${lines
    .slice(blank + 1, end)
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l))
    .join('\n')}\n`;
}

/** GETs a small file; undefined on 404 (and 410), 'not-modified' on 304. */
async function getOptional(
  ctx: PluginContext,
  access: RepositoryAccess,
  url: string,
  previous?: Conditional,
): Promise<{ bytes: Buffer; conditional: Conditional } | 'not-modified' | undefined> {
  const headers: Record<string, string> = {};
  if (previous?.url === url) {
    if (previous.etag) headers['if-none-match'] = previous.etag;
    if (previous.lastModified) headers['if-modified-since'] = previous.lastModified;
  }
  const response = await send(ctx, access, url, headers);
  if (response.status === 304 && Object.keys(headers).length > 0) {
    await response.cancel();
    return 'not-modified';
  }
  if (response.status === 404 || response.status === 410) {
    await response.cancel();
    return undefined;
  }
  await failOnStatus(response, url);
  const bytes = await readAll(response, url);
  const conditional: Conditional = { url };
  if (response.headers.etag) conditional.etag = response.headers.etag;
  if (response.headers['last-modified'])
    conditional.lastModified = response.headers['last-modified'];
  return { bytes, conditional };
}

/** SIGNED_BY's key: the value itself when armored, else the file it names. */
async function signedBy(value: string, ctx: PluginContext): Promise<string | Uint8Array> {
  if (value.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return value;
  const response = await ctx.http.request({
    url: pathToFileURL(value.trim()).href,
    signal: ctx.signal,
  });
  if (response.status !== 200) {
    await response.cancel();
    throw new RepositoryMetadataError(`SIGNED_BY: cannot read the keyring file ${value.trim()}`);
  }
  return readAll(response, `SIGNED_BY file ${value.trim()}`, 4 << 20);
}
