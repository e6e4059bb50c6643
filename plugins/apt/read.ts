import {
  type Configuration,
  type ConnectionResult,
  HoistError,
  type PluginContext,
  type Revision,
} from 'hoist';
import { repositoryAccess } from '../yum/access.ts';
import { newerThan, previousVersion, revisionLabel, selectStream, toRevision } from './choose.ts';
import { fetchRelease } from './inrelease.ts';
import { locations, readRepository } from './repository.ts';

/**
 * What the apt plugin does over the network, loaded on its first call (see index.ts): a process
 * that never polls an apt repository, such as a yum `hoist check`, does without these modules.
 */

export async function checkRelease(
  repo: Configuration,
  ctx: PluginContext,
): Promise<ConnectionResult> {
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
}

export async function checkPackage(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): Promise<ConnectionResult> {
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
}

export async function newestRevision(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): Promise<Revision | null> {
  const { stream, root, published } = await readStream(repo, pkg, ctx);
  const newest = stream.at(-1);
  return newest ? toRevision(newest.pkg, root, published) : null;
}

export async function revisionsSince(
  repo: Configuration,
  pkg: Configuration,
  previous: Pick<Revision, 'revision' | 'data'>,
  ctx: PluginContext,
): Promise<Revision[]> {
  const { stream, root, published } = await readStream(repo, pkg, ctx);
  return newerThan(stream, previousVersion(previous)).map((c) =>
    toRevision(c.pkg, root, published),
  );
}

export async function revisionByLabel(
  repo: Configuration,
  pkg: Configuration,
  label: string,
  ctx: PluginContext,
): Promise<Revision | null> {
  const { stream, root, published } = await readStream(repo, pkg, ctx);
  const found = stream.findLast((c) => revisionLabel(c.pkg) === label);
  return found ? toRevision(found.pkg, root, published) : null;
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
