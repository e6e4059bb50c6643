import { createHash } from 'node:crypto';
import {
  type Configuration,
  HoistError,
  type JsonValue,
  type PluginContext,
  RepositoryMetadataError,
  RepositoryUnreachableError,
} from 'hoist';
import { repositoryAccess } from './access.ts';
import { MAX_KEPT_VERSIONS, NewestPackages, packageUrl, type Selection } from './choose.ts';
import { isTrue } from './config.ts';
import { parseConstraint } from './constraint.ts';
import {
  failOnStatus,
  type RepositoryAccess,
  readAll,
  send,
  streamRecord,
  verifyDigest,
} from './fetch.ts';
import { type Metalink, parseMetalink, parseMirrorlist, trustedHashes } from './mirrors.ts';
import { type ModularFilter, parseModules } from './modules.ts';
import { type PrimaryPackage, PrimaryReader } from './primary.ts';
import { parseRepomd, type Repomd, type RepomdRecord } from './repomd.ts';
import { parsePackageSpec } from './spec.ts';
import { checkMirror, checkNamedUrl, localRoot, resolveNamed } from './trust.ts';
import { XmlSyntaxError } from './xml-tokenizer.ts';

/** What one read of a repository yields. */
export interface RepositoryRead {
  /** Packages that match the spec and arch filter (not yet the constraint or modules). */
  packages: PrimaryPackage[];
  selection: Selection;
  /** The base URL that answered. */
  base: string;
  repomdUrl: string;
  /** How the answer was obtained: reused from state (`not-modified`, `same-primary`) or read. */
  source: 'not-modified' | 'same-primary' | 'read';
  /** Packages in the primary (0 when reused). */
  totalPackages: number;
}

const STATE_VERSION = 1;
/** Above this many matches the answer is not cached in the material state. */
const CACHE_LIMIT = 5000;

/** Parses the package configuration into a selection (without the module filter). */
export function selectionOf(pkg: Configuration): Selection {
  const arches = pkg.ARCH
    ? new Set(
        pkg.ARCH.split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      )
    : undefined;
  return {
    spec: parsePackageSpec(pkg.PACKAGE_SPEC ?? ''),
    arches,
    constraint: pkg.VERSION_CONSTRAINT ? parseConstraint(pkg.VERSION_CONSTRAINT) : undefined,
    modular: undefined,
  };
}

/** Fetches repomd.xml from the first base that answers; applies metalink verification. */
export async function fetchRepomd(
  repo: Configuration,
  ctx: PluginContext,
  access: RepositoryAccess,
  conditional?: { base: string; etag?: string; lastModified?: string },
): Promise<{
  base: string;
  url: string;
  repomd: Repomd | undefined;
  bytes?: Buffer;
  etag?: string;
  lastModified?: string;
}> {
  const { bases, metalink } = await resolveBases(repo, ctx, access);
  const errors: HoistError[] = [];
  for (const base of bases) {
    const url = repomdUrl(base);
    try {
      const response = await send(ctx, access, url, conditionalHeaders(base, conditional));
      if (response.status === 304) {
        await response.cancel();
        return { base, url, repomd: undefined };
      }
      await failOnStatus(response, url);
      const bytes = await readAll(response, url);
      if (metalink) verifyAgainstMetalink(bytes, metalink, url);
      const repomd = parseXml(() => parseRepomd(bytes), url);
      return {
        base,
        url,
        repomd,
        bytes,
        ...(response.headers.etag ? { etag: response.headers.etag } : {}),
        ...(response.headers['last-modified']
          ? { lastModified: response.headers['last-modified'] }
          : {}),
      };
    } catch (error) {
      if (!(error instanceof HoistError) || ctx.signal.aborted) throw error;
      ctx.logger.debug('repository base failed', { base, error: error.message });
      errors.push(error);
    }
  }
  // When every mirror failed, the most specific failure (bad checksum, bad metadata, refused
  // credentials) says more than "unreachable".
  throw (
    errors.find((e) => !(e instanceof RepositoryUnreachableError)) ??
    errors[0] ??
    new RepositoryMetadataError('No repository URL to try')
  );
}

/**
 * Reads the packages a configuration selects, reusing the last answer from the material state
 * when repomd.xml is unchanged (304) or names the same primary.xml.
 */
export async function readRepository(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): Promise<RepositoryRead> {
  const access = await repositoryAccess(repo, ctx);
  const { selection, cached } = lastAnswer(repo, pkg, ctx);
  const includeModular = isTrue(pkg.INCLUDE_MODULAR);

  const fetched = await fetchRepomd(repo, ctx, access, cached?.conditional);
  if (!fetched.repomd) {
    if (cached) return notModified(cached, selection, fetched.base, fetched.url);
    throw new RepositoryMetadataError(`${fetched.url} answered 304 to an unconditional request`);
  }
  const { repomd, base, url } = fetched;
  const primary = repomd.records.get('primary');
  if (!primary?.href) {
    throw new RepositoryMetadataError(`${url} has no primary record: not a yum repository`);
  }
  const primaryUrl = resolveNamed(primary.href, primary.base, base, url);
  const modulesRecord = includeModular ? undefined : repomd.records.get('modules');
  const modulesUrl =
    modulesRecord && resolveNamed(modulesRecord.href, modulesRecord.base, base, url);
  const primaryKey = `${primary.checksum?.type}:${primary.checksum?.value}:${primary.href}|${modulesRecord?.checksum?.value ?? ''}`;
  const conditional = {
    base,
    ...(fetched.etag ? { etag: fetched.etag } : {}),
    ...(fetched.lastModified ? { lastModified: fetched.lastModified } : {}),
  };
  if (cached && cached.primaryKey === primaryKey && primary.checksum) {
    const answer = cached.answer(selection);
    checkLocations(answer.packages, base, primaryUrl);
    writeState(ctx, { ...cached.raw, conditional });
    return {
      ...answer,
      base,
      repomdUrl: url,
      source: 'same-primary',
      totalPackages: 0,
    };
  }

  const [read, modular] = await Promise.all([
    readPrimary(ctx, access, primaryUrl, primary, selection),
    modulesRecord && modulesUrl
      ? readModules(ctx, access, modulesUrl, modulesRecord)
      : Promise.resolve(undefined),
  ]);
  const packages = read.packages;
  checkLocations(packages, base, primaryUrl);
  if (primary.checksum && packages.length <= CACHE_LIMIT) {
    writeState(ctx, {
      v: STATE_VERSION,
      configKey: configKeyOf(repo, pkg),
      primaryKey,
      conditional,
      packages: packages as unknown as JsonValue,
      modular: modular ? serializeModular(modular, packages) : null,
    });
  } else {
    ctx.state.delete('yum');
  }
  return {
    packages,
    selection: { ...selection, modular },
    base,
    repomdUrl: url,
    source: 'read',
    totalPackages: read.total,
  };
}

async function readPrimary(
  ctx: PluginContext,
  access: RepositoryAccess,
  url: string,
  record: RepomdRecord,
  selection: Selection,
): Promise<{ packages: PrimaryPackage[]; total: number }> {
  const newest = new NewestPackages(selection);
  const reader = new PrimaryReader({
    wantName: (name) => selection.spec.nameMayMatch(name),
    namePrefix: selection.spec.namePrefix,
    onPackage: (p) => {
      if (!p.name || !p.arch || !p.version || !p.href) {
        ctx.logger.debug('skipped an incomplete package in primary.xml', { url, name: p.name });
        return;
      }
      newest.add(p);
    },
  });
  // The reader copies what it keeps of a chunk: the decoder may reuse its memory.
  await streamRecord(
    ctx,
    access,
    url,
    record,
    url,
    (chunk) => parseXml(() => reader.push(chunk), url),
    { borrowed: true },
  );
  const summary = parseXml(() => reader.finish(), url);
  if (newest.dropped > 0) {
    ctx.logger.info('kept only the newest versions of each name', {
      url,
      kept: MAX_KEPT_VERSIONS,
      dropped: newest.dropped,
    });
  }
  return { packages: newest.packages(), total: summary.packages };
}

async function readModules(
  ctx: PluginContext,
  access: RepositoryAccess,
  url: string,
  record: RepomdRecord,
): Promise<ModularFilter> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  await streamRecord(ctx, access, url, record, url, (chunk) => {
    size += chunk.length;
    if (size > 256 << 20)
      throw new RepositoryMetadataError(`${url} is larger than 256 MiB; refused`);
    chunks.push(chunk);
  });
  try {
    return await parseModules(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new RepositoryMetadataError(
      `${url} is not valid module metadata: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

async function resolveBases(
  repo: Configuration,
  ctx: PluginContext,
  access: RepositoryAccess,
): Promise<{ bases: string[]; metalink: Metalink | undefined }> {
  const bases: string[] = [];
  let metalink: Metalink | undefined;
  // dnf treats a mirror list whose URL says "metalink" as a metalink.
  const metalinkUrl =
    repo.METALINK || (repo.MIRRORLIST?.includes('metalink') ? repo.MIRRORLIST : undefined);
  if (metalinkUrl) {
    const response = await send(ctx, access, metalinkUrl);
    await failOnStatus(response, `metalink ${metalinkUrl}`);
    const bytes = await readAll(response, metalinkUrl);
    metalink = parseXml(() => parseMetalink(bytes), metalinkUrl);
    if (trustedHashes(metalink.hashes).length === 0) {
      throw new RepositoryMetadataError(
        `${metalinkUrl} gives no sha256 or sha512 hash of repomd.xml`,
      );
    }
    bases.push(...metalink.mirrors.map((mirror) => checkMirror(mirror, metalinkUrl)));
  } else if (repo.MIRRORLIST) {
    const response = await send(ctx, access, repo.MIRRORLIST);
    await failOnStatus(response, `mirror list ${repo.MIRRORLIST}`);
    const listed = parseMirrorlist((await readAll(response, repo.MIRRORLIST)).toString('utf8'));
    // ftp and rsync mirrors are skipped, as librepo skips rsync; a list read over the network may
    // not send us to local files.
    const usable = listed.filter((url) => /^(https?|file):/i.test(url));
    bases.push(...usable.map((url) => checkMirror(url, repo.MIRRORLIST as string)));
  }
  if (repo.REPO_URL) bases.push(repo.REPO_URL);
  if (bases.length === 0) {
    throw new RepositoryMetadataError(`${metalinkUrl ?? repo.MIRRORLIST} lists no usable mirror`);
  }
  return { bases: [...new Set(bases)], metalink };
}

function verifyAgainstMetalink(bytes: Buffer, metalink: Metalink, url: string): void {
  const hashes = trustedHashes(metalink.hashes);
  const errors: unknown[] = [];
  for (const digest of hashes) {
    try {
      verifyDigest(bytes, digest, url);
      return;
    } catch (error) {
      errors.push(error);
    }
  }
  throw errors[0];
}

/** Refuses packages whose location the repository may not name (see trust.ts). */
function checkLocations(packages: readonly PrimaryPackage[], base: string, from: string): void {
  const root = localRoot(base);
  for (const p of packages) checkNamedUrl(packageUrl(p, base), p.href, from, root);
}

function parseXml<T>(parse: () => T, url: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof XmlSyntaxError) {
      throw new RepositoryMetadataError(`${url} is malformed: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The selection a package configuration makes, and the answer kept for it in the state. */
export function lastAnswer(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): { selection: Selection; cached: CachedState | undefined } {
  const configKey = configKeyOf(repo, pkg);
  return { selection: selectionOf(pkg), cached: readState(ctx, configKey) };
}

/** What the kept answer was made for: a changed configuration does not reuse it. */
function configKeyOf(repo: Configuration, pkg: Configuration): string {
  return sha256(
    JSON.stringify([STATE_VERSION, repo.REPO_URL, repo.MIRRORLIST, repo.METALINK, pkg]),
  );
}

/** The read of a repository whose repomd.xml was answered 304: the kept answer. */
export function notModified(
  cached: CachedState,
  selection: Selection,
  base: string,
  url: string,
): RepositoryRead {
  const answer = cached.answer(selection);
  checkLocations(answer.packages, base, `the primary.xml of ${url}`);
  return { ...answer, base, repomdUrl: url, source: 'not-modified', totalPackages: 0 };
}

/** Where a base's repomd.xml is. */
export function repomdUrl(base: string): string {
  return `${trimSlash(base)}/repodata/repomd.xml`;
}

/** The headers of a conditional request for repomd.xml at `base` (none for another base). */
export function conditionalHeaders(
  base: string,
  conditional: CachedState['conditional'],
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (conditional && conditional.base === base) {
    if (conditional.etag) headers['if-none-match'] = conditional.etag;
    if (conditional.lastModified) headers['if-modified-since'] = conditional.lastModified;
  }
  return headers;
}

export interface CachedState {
  raw: Record<string, JsonValue>;
  primaryKey: string;
  conditional: { base: string; etag?: string; lastModified?: string } | undefined;
  answer(selection: Selection): { packages: PrimaryPackage[]; selection: Selection };
}

function readState(ctx: PluginContext, configKey: string): CachedState | undefined {
  const raw = ctx.state.get('yum');
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  if (raw.v !== STATE_VERSION || raw.configKey !== configKey || !Array.isArray(raw.packages))
    return undefined;
  const conditional = raw.conditional as CachedState['conditional'];
  const modular = raw.modular as {
    hidden: string[];
    visible: string[];
    defaultNames: string[];
  } | null;
  return {
    raw,
    primaryKey: String(raw.primaryKey),
    conditional: conditional && typeof conditional === 'object' ? conditional : undefined,
    answer: (selection) => ({
      packages: raw.packages as unknown as PrimaryPackage[],
      selection: {
        ...selection,
        modular: modular
          ? {
              hidden: new Set(modular.hidden),
              visible: new Set(modular.visible),
              defaultNames: new Set(modular.defaultNames),
            }
          : undefined,
      },
    }),
  };
}

function writeState(ctx: PluginContext, value: Record<string, JsonValue | undefined>): void {
  ctx.state.set('yum', JSON.parse(JSON.stringify(value)) as JsonValue);
}

/** Only the part of the module filter that concerns the packages kept. */
function serializeModular(filter: ModularFilter, packages: PrimaryPackage[]): JsonValue {
  const nevras = new Set(
    packages.map((p) => `${p.name}-${p.epoch || '0'}:${p.version}-${p.release}.${p.arch}`),
  );
  const names = new Set(packages.map((p) => p.name));
  return {
    hidden: [...filter.hidden].filter((n) => nevras.has(n)),
    visible: [...filter.visible].filter((n) => nevras.has(n)),
    defaultNames: [...filter.defaultNames].filter((n) => names.has(n)),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
