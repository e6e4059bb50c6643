import {
  type Configuration,
  type ConnectionResult,
  defineRepositoryPlugin,
  type PluginContext,
} from 'hoist';
import { repositoryAccess } from './access.ts';
import { newerThan, previousEvr, revisionLabel, selectStream, toRevision } from './choose.ts';
import {
  packageProperties,
  repositoryProperties,
  validatePackage,
  validateRepository,
} from './config.ts';
import { fetchRepomd, readRepository } from './repository.ts';
import { readRepositoryIfUnchanged } from './unchanged.ts';

/** The bundled yum plugin: reads repomd.xml and primary.xml itself and orders as rpm does. */
export const yumPlugin = defineRepositoryPlugin({
  id: 'yum',
  version: '1.0.0',
  displayName: 'Yum repository',
  description:
    'Polls a yum/dnf (rpm-md) repository: reads repodata natively (gz, xz, zstd, bz2), picks the newest package by rpm version order.',
  repositoryProperties,
  packageProperties,
  validateRepository,
  validatePackage,

  async checkRepositoryConnection(repo, ctx) {
    try {
      const access = await repositoryAccess(repo, ctx);
      const { url, repomd } = await fetchRepomd(repo, ctx, access);
      const primary = repomd?.records.get('primary');
      if (!primary)
        return { ok: false, messages: [`${url} has no primary record: not a yum repository`] };
      return {
        ok: true,
        messages: [
          `Successfully accessed repository metadata at ${url}` +
            (repomd?.revision ? ` (revision ${repomd.revision})` : ''),
        ],
      };
    } catch (error) {
      return failure(
        error,
        repo.REPO_URL
          ? `Could not access ${trimSlash(repo.REPO_URL)}/repodata/repomd.xml`
          : 'Could not access the repository',
      );
    }
  },

  async checkPackageConnection(repo, pkg, ctx) {
    try {
      const newest = await newestRevision(repo, pkg, ctx);
      if (!newest) {
        return {
          ok: false,
          messages: [`Could not find any package that matched '${pkg.PACKAGE_SPEC}'.`],
        };
      }
      return { ok: true, messages: [`Found package '${newest.revision}'.`] };
    } catch (error) {
      return failure(error, `Could not check package '${pkg.PACKAGE_SPEC}'`);
    }
  },

  async latestRevision(repo, pkg, ctx) {
    return newestRevision(repo, pkg, ctx);
  },

  async latestRevisionsSince(repo, pkg, previous, ctx) {
    const { packages, base } = await readStream(repo, pkg, ctx);
    return newerThan(packages, previousEvr(previous)).map((p) => toRevision(p, base));
  },

  async latestRevisionsSinceIfUnchanged(repo, pkg, previous, ctx) {
    const read = await readRepositoryIfUnchanged(repo, pkg, ctx);
    if (!read) return undefined;
    const packages = selectStream(read.packages, read.selection);
    return newerThan(packages, previousEvr(previous)).map((p) => toRevision(p, read.base));
  },

  async revisionByLabel(repo, pkg, label, ctx) {
    const { packages, base } = await readStream(repo, pkg, ctx);
    const found = packages.findLast((p) => revisionLabel(p) === label);
    return found ? toRevision(found, base) : null;
  },
});

async function newestRevision(repo: Configuration, pkg: Configuration, ctx: PluginContext) {
  const { packages, base } = await readStream(repo, pkg, ctx);
  const newest = packages.at(-1);
  return newest ? toRevision(newest, base) : null;
}

async function readStream(repo: Configuration, pkg: Configuration, ctx: PluginContext) {
  const read = await readRepository(repo, pkg, ctx);
  const packages = selectStream(read.packages, read.selection);
  ctx.logger.debug('yum repository read', {
    repomd: read.repomdUrl,
    source: read.source,
    packages: read.totalPackages,
    matches: packages.length,
  });
  return { packages, base: read.base };
}

/** Every failure of a connection check is its answer, as GoCD's yum plugin answers it. */
function failure(error: unknown, context: string): ConnectionResult {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return { ok: false, messages: [`${context}. ${message}`] };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export { type ConstraintClause, parseConstraint, satisfies } from './constraint.ts';
export { compareEvr, type Evr, formatEvr, parseEvr, rpmvercmp } from './evr.ts';
export { type PackageSpec, parsePackageSpec } from './spec.ts';
