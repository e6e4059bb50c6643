import {
  type Configuration,
  type ConnectionResult,
  defineRepositoryPlugin,
  HoistError,
  type PluginContext,
} from 'hoist';
import { repositoryAccess } from '../yum/access.ts';
import { newerThan, previousVersion, revisionLabel, selectStream, toRevision } from './choose.ts';
import {
  packageProperties,
  repositoryProperties,
  validatePackage,
  validateRepository,
} from './config.ts';
import { fetchRelease } from './inrelease.ts';
import { locations, readRepository } from './repository.ts';

/** The bundled apt plugin: reads Release and Packages files itself and orders as dpkg does. */
export const aptPlugin = defineRepositoryPlugin({
  id: 'apt',
  version: '1.0.0',
  displayName: 'Apt repository',
  description:
    'Polls a Debian/Ubuntu (apt) repository: verifies InRelease against SIGNED_BY, reads Packages natively (xz, gz, zstd, bz2), picks the newest package by dpkg version order.',
  repositoryProperties,
  packageProperties,
  validateRepository,
  validatePackage,

  async checkRepositoryConnection(repo, ctx) {
    const { folder, flat } = locations(repo);
    try {
      const access = await repositoryAccess(repo, ctx);
      const fetched = await fetchRelease(repo, ctx, access, folder, { flat });
      if (fetched.kind !== 'release')
        return {
          ok: true,
          messages: [
            `Flat repository at ${folder} has no Release file; its Packages index is read unverified`,
          ],
        };
      const { release } = fetched;
      const name = release.codename ?? release.suite;
      return {
        ok: true,
        messages: [
          `Successfully read ${fetched.url}${name ? ` (${name}${release.date ? `, ${release.date}` : ''})` : ''}${fetched.signed ? ', signature verified' : ''}`,
        ],
      };
    } catch (error) {
      return failure(error, `Could not read the Release of ${folder}`);
    }
  },

  async checkPackageConnection(repo, pkg, ctx) {
    try {
      const newest = await newestRevision(repo, pkg, ctx);
      if (!newest)
        return {
          ok: false,
          messages: [`Could not find any package that matched '${pkg.PACKAGE}'.`],
        };
      return { ok: true, messages: [`Found package '${newest.revision}'.`] };
    } catch (error) {
      return failure(error, `Could not check package '${pkg.PACKAGE}'`);
    }
  },

  async latestRevision(repo, pkg, ctx) {
    return newestRevision(repo, pkg, ctx);
  },

  async latestRevisionsSince(repo, pkg, previous, ctx) {
    const { stream, root, published } = await readStream(repo, pkg, ctx);
    return newerThan(stream, previousVersion(previous)).map((c) =>
      toRevision(c.pkg, root, published),
    );
  },

  async revisionByLabel(repo, pkg, label, ctx) {
    const { stream, root, published } = await readStream(repo, pkg, ctx);
    const found = stream.findLast((c) => revisionLabel(c.pkg) === label);
    return found ? toRevision(found.pkg, root, published) : null;
  },
});

async function newestRevision(repo: Configuration, pkg: Configuration, ctx: PluginContext) {
  const { stream, root, published } = await readStream(repo, pkg, ctx);
  const newest = stream.at(-1);
  return newest ? toRevision(newest.pkg, root, published) : null;
}

async function readStream(repo: Configuration, pkg: Configuration, ctx: PluginContext) {
  const read = await readRepository(repo, pkg, ctx);
  const stream = selectStream(read.candidates, read.selection);
  ctx.logger.debug('apt repository read', {
    release: read.releaseUrl,
    source: read.source,
    packages: read.totalPackages,
    matches: stream.length,
  });
  return { stream, root: read.root, published: read.published };
}

function failure(error: unknown, context: string): ConnectionResult {
  if (error instanceof HoistError) return { ok: false, messages: [`${context}. ${error.message}`] };
  throw error;
}

export { type ConstraintClause, parseConstraint, satisfies } from './constraint.ts';
export {
  compareDebVersions,
  compareVersionStrings,
  type DebVersion,
  formatDebVersion,
  parseDebVersion,
} from './version.ts';
