import { createMemoryState, NotFoundError, type PluginHost, type Revision } from 'hoist';
import type { Catalog } from '../catalog/catalog.ts';
import type { Store } from '../store/store.ts';

/** A person waits for a rollback's lookup in the repository at most this long. */
const LOOKUP_TIMEOUT_MS = 60_000;

/** What looking up revisions needs. */
export interface LookupOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
}

/** The newest stored revision of a `repo/pkg` material. */
export async function latestOf(
  { store }: LookupOptions,
  material: string,
): Promise<Revision | undefined> {
  const [repository, name] = material.split('/') as [string, string];
  const pkg = await store.getPackage(repository, name);
  return pkg ? store.latestRevision(pkg.fingerprint) : undefined;
}

/**
 * A revision by label: from the material's history, else (when the plugin can look one up)
 * from the repository, so that a rollback may reach a version published before this server
 * first polled it.
 */
export async function findRevision(
  options: LookupOptions,
  material: string,
  label: string,
): Promise<Revision | undefined> {
  const { store, catalog, host } = options;
  const [repository, name] = material.split('/') as [string, string];
  const pkg = await store.getPackage(repository, name);
  if (!pkg) throw new NotFoundError(`no package '${material}'`);
  const stored = (await store.listRevisions(pkg.fingerprint, 10_000)).find(
    (r) => r.revision === label,
  );
  if (stored) return stored;
  const polled = (await catalog.polledPackages()).find((p) => p.fingerprint === pkg.fingerprint);
  if (!polled || !host.canLookUpRevisions(polled.plugin)) {
    throw new NotFoundError(
      `no revision '${label}' in the history of '${material}' (its plugin cannot look up revisions it has not reported)`,
    );
  }
  // The material's cached answers (ETag, the primary's checksum) spare a download when the
  // repository has not changed; the copy is not written back, so the poll's state stays its own.
  const cached = await store.getMaterial(pkg.fingerprint);
  const found = await host.revisionByLabel(
    polled.plugin,
    polled.repositoryConfig,
    polled.packageConfig,
    label,
    { state: createMemoryState(cached?.state ?? {}), timeoutMs: LOOKUP_TIMEOUT_MS },
  );
  if (!found) {
    throw new NotFoundError(
      `no revision '${label}' of '${material}' in its history or in the repository`,
    );
  }
  return found;
}
