import { createHash } from 'node:crypto';
import {
  type Configuration,
  type JsonValue,
  type PluginContext,
  RepositoryMetadataError,
  RepositoryUnreachableError,
} from 'hoist';
import { repositoryAccess } from '../yum/access.ts';
import { type RepositoryAccess, streamRecord } from '../yum/fetch.ts';
import type { RepomdRecord } from '../yum/repomd.ts';
import { checkNamedUrl, localRoot } from '../yum/trust.ts';
import { type Candidate, matches, packageUrl, type Selection } from './choose.ts';
import { DEFAULT_ARCHES, isFlat, listOf, namePattern } from './config.ts';
import { parseConstraint } from './constraint.ts';
import { ControlSyntaxError } from './deb822.ts';
import { fetchRelease, type ReleaseFetch } from './inrelease.ts';
import { type AptPackage, PackagesReader } from './packages.ts';
import { chooseIndex, type IndexChoice, type Release, strongestHash } from './release.ts';
import { type CachedState, readState, STATE_KEY, STATE_VERSION, writeState } from './state.ts';
import { parseDebVersion } from './version.ts';

/** What one read of a repository yields. */
export interface AptRead {
  /** Packages that pass the name, architecture and constraint filters, in index order. */
  candidates: Candidate[];
  selection: Selection;
  /** The archive root (REPO_URL with a final slash). */
  root: string;
  /** When the repository published its index (Release `Date`), ISO 8601. */
  published: string;
  releaseUrl: string;
  source: 'not-modified' | 'same-release' | 'read';
  /** Packages in the indexes read (0 when reused). */
  totalPackages: number;
}

/** Above this many matches the answer is not cached in the material state. */
const CACHE_LIMIT = 5000;
/** Names kept while reading a pattern that matches several (enough to name them in the error). */
const MAX_NAMES = 11;

/** The selection a configuration describes. */
export function selectionOf(repo: Configuration, pkg: Configuration): Selection {
  return {
    name: namePattern(pkg.PACKAGE ?? ''),
    arches: listOf(repo.ARCH || DEFAULT_ARCHES),
    constraint: pkg.VERSION_CONSTRAINT ? parseConstraint(pkg.VERSION_CONSTRAINT) : undefined,
  };
}

/** The archive root and the distribution folder (where InRelease lives). */
export function locations(repo: Configuration): { root: string; folder: string; flat: boolean } {
  const root = withSlash(repo.REPO_URL ?? '');
  const distribution = (repo.DISTRIBUTION ?? '').trim();
  const flat = isFlat(distribution);
  const folder = flat
    ? new URL(distribution, root).href
    : new URL(`dists/${distribution}/`, root).href;
  return { root, folder, flat };
}

/**
 * Reads the packages a configuration selects, reusing the last answer from the material state
 * when the Release is unchanged (304, or the same text).
 */
export async function readRepository(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): Promise<AptRead> {
  const access = await repositoryAccess(repo, ctx);
  const selection = selectionOf(repo, pkg);
  const { root, folder, flat } = locations(repo);
  // What decides the answer; never the credentials (no hash of a secret is kept).
  const configKey = sha256(
    JSON.stringify([STATE_VERSION, root, folder, repo.COMPONENTS, repo.ARCH, repo.SIGNED_BY, pkg]),
  );
  const cached = readState(ctx, configKey);
  const fetched = await fetchRelease(repo, ctx, access, folder, {
    flat,
    ...(cached ? { previous: cached.conditional } : {}),
  });
  const reuse = (source: AptRead['source'], releaseUrl: string): AptRead => {
    const state = cached as CachedState;
    checkLocations(state.packages, root, releaseUrl);
    return {
      candidates: state.packages.map((p) => ({ pkg: p, version: parseDebVersion(p.version) })),
      selection,
      root,
      published: state.published,
      releaseUrl,
      source,
      totalPackages: 0,
    };
  };
  if (fetched.kind === 'not-modified') {
    if (cached) return reuse('not-modified', fetched.url);
    throw new RepositoryMetadataError(`${fetched.url} answered 304 to an unconditional request`);
  }
  const releaseKey = fetched.kind === 'release' ? sha256(fetched.text) : '';
  if (cached && fetched.kind === 'release' && cached.releaseKey === releaseKey) {
    writeState(ctx, { ...cached.raw, conditional: { ...fetched.conditional } });
    return reuse('same-release', fetched.url);
  }
  const read = await readFresh(ctx, access, repo, selection, fetched, { root, folder, flat });
  if (fetched.kind === 'release' && read.candidates.length <= CACHE_LIMIT) {
    writeState(ctx, {
      v: STATE_VERSION,
      configKey,
      releaseKey,
      conditional: { ...fetched.conditional },
      published: read.published,
      packages: read.candidates.map((c) => c.pkg) as unknown as JsonValue,
    });
  } else ctx.state.delete(STATE_KEY);
  return read;
}

/** Reads the indexes a fetched Release (or a flat repository without one) names. */
async function readFresh(
  ctx: PluginContext,
  access: RepositoryAccess,
  repo: Configuration,
  selection: Selection,
  fetched: Exclude<ReleaseFetch, { kind: 'not-modified' }>,
  where: { root: string; folder: string; flat: boolean },
): Promise<AptRead> {
  const { root, folder, flat } = where;
  const indexes =
    fetched.kind === 'release'
      ? indexesOf(fetched.release, repo, selection, flat, fetched.url)
      : FLAT_UNSIGNED.map((path) => ({ path, entry: undefined, openSize: undefined }));
  const read = await readIndexes(ctx, access, folder, indexes, selection, fetched.kind === 'none');
  checkLocations(
    read.packages.map((c) => c.pkg),
    root,
    fetched.url,
  );
  return {
    candidates: read.packages,
    selection,
    root,
    published: publishedOf(fetched.kind === 'release' ? fetched.release : undefined),
    releaseUrl: fetched.url,
    source: 'read',
    totalPackages: read.total,
  };
}

/** Indexes a flat repository without a Release may offer, best first. */
const FLAT_UNSIGNED = ['Packages.xz', 'Packages.gz', 'Packages'];

interface IndexToRead {
  path: string;
  entry: IndexChoice['entry'] | undefined;
  openSize: number | undefined;
  component?: string;
  byHash?: boolean;
}

/** The Packages indexes of the configured components and architectures the Release lists. */
function indexesOf(
  release: Release,
  repo: Configuration,
  selection: Selection,
  flat: boolean,
  url: string,
): IndexToRead[] {
  const components = flat ? [''] : listOf(repo.COMPONENTS || 'main');
  const wanted: { base: string; component: string }[] = [];
  for (const component of components) {
    for (const arch of selection.arches) {
      const folder = flat ? '' : `${component}/binary-${arch}/`;
      wanted.push({ base: `${folder}Packages`, component });
      if (flat) break;
    }
  }
  const found: IndexToRead[] = [];
  for (const { base, component } of wanted) {
    const choice = chooseIndex(release, base);
    if (choice) found.push({ ...choice, component, byHash: release.acquireByHash });
  }
  if (found.length === 0) {
    throw new RepositoryMetadataError(
      flat
        ? `${url} lists no Packages index`
        : `${url} lists no Packages index for components ${components.join(', ')} and architectures ${selection.arches.join(', ')}`,
    );
  }
  return found;
}

async function readIndexes(
  ctx: PluginContext,
  access: RepositoryAccess,
  folder: string,
  indexes: IndexToRead[],
  selection: Selection,
  firstFound: boolean,
): Promise<{ packages: Candidate[]; total: number }> {
  const byName = new Map<string, Candidate[]>();
  let total = 0;
  for (const index of indexes) {
    const reader = new PackagesReader({
      wantName: (name) => selection.name.test(name),
      component: index.component ?? '',
      onPackage: (p, version) => {
        const candidate = { pkg: p, version };
        if (!matches(candidate, selection)) return;
        const list = byName.get(p.name);
        if (list) list.push(candidate);
        else if (byName.size < MAX_NAMES) byName.set(p.name, [candidate]);
      },
      onSkipped: (name, why) =>
        ctx.logger.debug('skipped a package', { index: index.path, name, why }),
    });
    const done = await readIndex(ctx, access, folder, index, reader, firstFound);
    total += reader.count;
    if (done && firstFound) return { packages: [...byName.values()].flat(), total };
  }
  if (firstFound)
    throw new RepositoryMetadataError(
      `${folder} has no Release and no Packages index (Packages.xz, Packages.gz or Packages)`,
    );
  return { packages: [...byName.values()].flat(), total };
}

/** Streams one index into the reader; false when an optional index is missing. */
async function readIndex(
  ctx: PluginContext,
  access: RepositoryAccess,
  folder: string,
  index: IndexToRead,
  reader: PackagesReader,
  optional: boolean,
): Promise<boolean> {
  const url = new URL(index.path, folder).href;
  const hash = index.entry && strongestHash(index.entry);
  if (index.entry && !hash)
    throw new RepositoryMetadataError(`${url}: the Release gives no SHA256 or SHA512 hash of it`);
  const record: RepomdRecord = {
    type: 'packages',
    href: index.path,
    base: undefined,
    checksum: hash ? { type: hash.type.field, value: hash.value } : undefined,
    openChecksum: undefined,
    size: index.entry?.size,
    openSize: index.openSize,
    timestamp: undefined,
  };
  const parse = (step: () => void) => {
    try {
      step();
    } catch (error) {
      if (error instanceof ControlSyntaxError)
        throw new RepositoryMetadataError(`${url} is malformed: ${error.message}`);
      throw error;
    }
  };
  const consume = (chunk: Uint8Array) => parse(() => reader.push(chunk));
  // With Acquire-By-Hash the index is fetched by its hash (never a half-updated file), falling
  // back to its name as apt does.
  const byHash =
    index.byHash && hash
      ? new URL(`by-hash/${hash.type.byHash}/${hash.value}`, url).href
      : undefined;
  for (const from of byHash ? [byHash, url] : [url]) {
    try {
      await streamRecord(ctx, access, from, record, from, consume);
      parse(() => reader.finish());
      return true;
    } catch (error) {
      if (!isMissing(error)) throw error;
      if (from === byHash) ctx.logger.debug('by-hash index missing; fetching by name', { url });
    }
  }
  if (optional) return false;
  throw new RepositoryMetadataError(`${url} is listed in the Release but missing (HTTP 404)`);
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof RepositoryUnreachableError && (error.status === 404 || error.status === 410)
  );
}

/** Refuses packages whose file the index may not name (see yum's trust rules). */
function checkLocations(packages: readonly AptPackage[], root: string, from: string): void {
  const local = localRoot(root);
  for (const p of packages) checkNamedUrl(packageUrl(p, root), p.filename, from, local);
}

function publishedOf(release: Release | undefined): string {
  const date = release?.date ? Date.parse(release.date) : Number.NaN;
  return new Date(Number.isNaN(date) ? 0 : date).toISOString();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
