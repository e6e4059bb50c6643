import {
  ConfigInvalidError,
  ConflictError,
  materialFingerprint,
  NotFoundError,
  type PluginHost,
  type ValidationIssue,
} from 'hoist';
import { type HoistConfig, Name, PollInterval, pollIntervalMs } from '../config/schema.ts';
import type { PackageRow, RepositoryRow, Store } from '../store/store.ts';
import type { PluginVerdicts } from './plan.ts';
import { variableCollisions } from './references.ts';
import type { SealedValues } from './sealed.ts';

/**
 * Repository and package changes made over the API, one object at a time: validated by the
 * plugin, names and intervals checked, the same material twice and colliding job variables
 * refused, secure values sealed. The catalog announces each change after it.
 */

/** What a change reads and writes. */
export interface ChangeContext {
  store: Store;
  host: PluginHost;
  sealed: SealedValues;
}

export async function requireRepository(store: Store, name: string): Promise<RepositoryRow> {
  const repo = await store.getRepository(name);
  if (!repo) throw new NotFoundError(`no repository '${name}'`);
  return repo;
}

export function pluginIds(host: PluginHost): string[] {
  return host.registry.list().map((p) => p.id);
}

/** The plugins' verdicts on a configuration file (gathered for the pure plan). */
export async function verdicts(ctx: ChangeContext, config: HoistConfig): Promise<PluginVerdicts> {
  const verdicts: PluginVerdicts = { plugins: [], repositories: [], packages: [] };
  for (const [i, repo] of config.repositories.entries()) {
    const known = ctx.host.registry.has(repo.plugin);
    verdicts.plugins[i] = known ? ctx.host.registry.get(repo.plugin) : undefined;
    verdicts.repositories[i] = known
      ? await ctx.host.validateRepository(repo.plugin, repo.config)
      : [];
    const packages: ValidationIssue[][] = [];
    for (const pkg of known ? repo.packages : [])
      packages.push(await ctx.host.validatePackage(repo.plugin, repo.config, pkg.config));
    verdicts.packages[i] = packages;
  }
  return verdicts;
}

export async function putRepository(
  ctx: ChangeContext,
  input: { name: string; plugin: string; config: Record<string, string> },
  existing: RepositoryRow | undefined,
) {
  const nameCheck = Name.safeParse(input.name);
  if (!nameCheck.success)
    throw new ConfigInvalidError([
      { key: 'name', message: nameCheck.error.issues[0]?.message ?? 'invalid' },
    ]);
  if (!ctx.host.registry.has(input.plugin))
    throw new ConfigInvalidError([
      {
        key: 'plugin',
        message: `no plugin '${input.plugin}'; known: ${pluginIds(ctx.host).join(', ')}`,
      },
    ]);
  const plugin = ctx.host.registry.get(input.plugin);
  const issues = await ctx.host.validateRepository(input.plugin, input.config);
  if (issues.length > 0)
    throw new ConfigInvalidError(
      issues.map((i) => ({ key: i.key ? `config.${i.key}` : 'config', message: i.message })),
    );
  // Packages change identity when identity properties of their repository change.
  const packages = existing ? await ctx.store.listPackages(existing.name) : [];
  const refingerprinted = packages.map((p) => ({
    ...p,
    fingerprint: materialFingerprint(plugin, input.config, ctx.sealed.open(p.config, p.secrets)),
  }));
  await refuseDuplicates(
    ctx,
    refingerprinted.map((p) => ({
      key: `${p.repository}/${p.name}`,
      fingerprint: p.fingerprint,
    })),
  );
  const split = ctx.sealed.split(plugin.repositoryProperties, input.config, existing?.secrets);
  await ctx.store.saveRepository({
    name: input.name,
    plugin: input.plugin,
    ...split,
    source: 'api',
  });
  for (const p of refingerprinted) await ctx.store.savePackage({ ...p, source: p.source });
}

export async function putPackage(
  ctx: ChangeContext,
  input: {
    repository: string;
    name: string;
    config: Record<string, string>;
    pollInterval?: string;
  },
  existing: PackageRow | undefined,
) {
  const repo = await requireRepository(ctx.store, input.repository);
  const issues: ValidationIssue[] = [];
  const nameCheck = Name.safeParse(input.name);
  if (!nameCheck.success)
    issues.push({ key: 'name', message: nameCheck.error.issues[0]?.message ?? 'invalid' });
  const interval = input.pollInterval ?? (existing ? undefined : '60s');
  const intervalCheck = interval === undefined ? undefined : PollInterval.safeParse(interval);
  if (intervalCheck && !intervalCheck.success)
    issues.push({
      key: 'pollInterval',
      message: intervalCheck.error.issues[0]?.message ?? 'invalid',
    });
  const plugin = ctx.host.registry.get(repo.plugin);
  const repoConfig = ctx.sealed.open(repo.config, repo.secrets);
  for (const issue of await ctx.host.validatePackage(repo.plugin, repoConfig, input.config))
    issues.push({ key: issue.key ? `config.${issue.key}` : 'config', message: issue.message });
  if (issues.length > 0) throw new ConfigInvalidError(issues);
  const fingerprint = materialFingerprint(plugin, repoConfig, input.config);
  await refuseDuplicates(ctx, [{ key: `${input.repository}/${input.name}`, fingerprint }]);
  const [collision] = variableCollisions([
    ...(await ctx.store.listPackages())
      .filter((p) => !(p.repository === input.repository && p.name === input.name))
      .map((p) => ({ repository: p.repository, package: p.name })),
    { repository: input.repository, package: input.name },
  ]);
  if (collision) throw new ConflictError(collision);
  await ctx.store.savePackage({
    repository: input.repository,
    name: input.name,
    ...ctx.sealed.split(plugin.packageProperties, input.config, existing?.secrets),
    pollIntervalMs:
      interval === undefined ? (existing?.pollIntervalMs ?? 60_000) : pollIntervalMs(interval),
    fingerprint,
    source: existing?.source ?? 'api',
  });
}

async function refuseDuplicates(
  ctx: ChangeContext,
  candidates: { key: string; fingerprint: string }[],
) {
  const others = await ctx.store.listPackages();
  for (const c of candidates) {
    const clash = others.find(
      (p) => p.fingerprint === c.fingerprint && `${p.repository}/${p.name}` !== c.key,
    );
    if (clash)
      throw new ConflictError(
        `package '${c.key}' has the same repository and package identity as '${clash.repository}/${clash.name}': they would be one material`,
      );
  }
}
