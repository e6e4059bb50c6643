import {
  defineRepositoryPlugin,
  type PluginContext,
  RepositoryMetadataError,
  type Revision,
} from 'hoist';

/**
 * A Hoist repository plugin in TypeScript: the repository is a JSON document at INDEX_URL
 * (http, https or file) listing each package's versions, newest last.
 */
interface Entry {
  version: string;
  location: string;
  built: string;
}

async function fetchIndex(url: string, ctx: PluginContext): Promise<Record<string, Entry[]>> {
  const response = await ctx.http.request({ url, signal: ctx.signal });
  if (response.status !== 200) {
    await response.cancel();
    throw new RepositoryMetadataError(`${url}: HTTP ${response.status}`);
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  try {
    return (
      JSON.parse(Buffer.concat(chunks).toString('utf8')) as { packages: Record<string, Entry[]> }
    ).packages;
  } catch {
    throw new RepositoryMetadataError(`${url} is not a JSON index`);
  }
}

const toRevision = (name: string, e: Entry): Revision => ({
  revision: `${name}-${e.version}`,
  timestamp: e.built,
  data: { VERSION: e.version, LOCATION: e.location },
});

export const jsonIndexPlugin = defineRepositoryPlugin({
  id: 'json-index',
  version: '1.0.0',
  displayName: 'JSON index over HTTP',
  repositoryProperties: [{ key: 'INDEX_URL', displayName: 'Index URL' }],
  packageProperties: [{ key: 'NAME', displayName: 'Package name' }],
  validateRepository: (repo) =>
    /^(https?|file):\/\//.test(repo.INDEX_URL ?? '')
      ? []
      : [{ key: 'INDEX_URL', message: 'Index URL must be an http, https or file URL' }],
  async checkRepositoryConnection(repo, ctx) {
    const index = await fetchIndex(repo.INDEX_URL as string, ctx);
    return {
      ok: true,
      messages: [`Read ${Object.keys(index).length} packages from ${repo.INDEX_URL}`],
    };
  },
  async checkPackageConnection(repo, pkg, ctx) {
    const newest = (await fetchIndex(repo.INDEX_URL as string, ctx))[pkg.NAME as string]?.at(-1);
    return newest
      ? { ok: true, messages: [`Found package '${pkg.NAME}-${newest.version}'.`] }
      : { ok: false, messages: [`No package ${pkg.NAME}`] };
  },
  async latestRevision(repo, pkg, ctx) {
    const newest = (await fetchIndex(repo.INDEX_URL as string, ctx))[pkg.NAME as string]?.at(-1);
    return newest ? toRevision(pkg.NAME as string, newest) : null;
  },
  async latestRevisionsSince(repo, pkg, previous, ctx) {
    const entries = (await fetchIndex(repo.INDEX_URL as string, ctx))[pkg.NAME as string] ?? [];
    const seen = entries.findIndex((e) => `${pkg.NAME}-${e.version}` === previous.revision);
    return entries.slice(seen + 1).map((e) => toRevision(pkg.NAME as string, e));
  },
});

export { jsonIndexPlugin as default };
