import { materialFingerprint, type RepositoryPlugin, type ValidationIssue } from 'hoist';
import { formatPath } from '../config/load.ts';
import { type HoistConfig, pollIntervalMs } from '../config/schema.ts';
import { definitionOf, toStored } from '../pipelines/definition.ts';
import type { ConfigurationPlan, PackageRow, PipelineRow, RepositoryRow } from '../store/store.ts';
import { pipelineIssues, variableCollisions } from './references.ts';
import type { SealedValues } from './sealed.ts';

/** What the plugins said of the desired configuration (gathered before planning). */
export interface PluginVerdicts {
  /** The plugin of each repository (by its index), when it exists. */
  plugins: (RepositoryPlugin | undefined)[];
  /** Problems of each repository's configuration, by its index. */
  repositories: ValidationIssue[][];
  /** Problems of each package's configuration (its repository's included), by index. */
  packages: ValidationIssue[][][];
}

/** Everything a plan is made from. */
export interface PlanInput {
  /** The configuration file, parsed. */
  desired: HoistConfig;
  /** What the store holds now. */
  current: { repositories: RepositoryRow[]; packages: PackageRow[]; pipelines?: PipelineRow[] };
  verdicts: PluginVerdicts;
  /** Known plugin ids, for the error naming them. */
  pluginIds: string[];
  sealed: Pick<SealedValues, 'split' | 'pipeline'>;
  /**
   * Installed plugins that failed to load, with why: a repository of theirs that is stored
   * already is kept as stored (with its packages), so a broken plugin stops nothing else.
   */
  unavailable?: ReadonlyMap<string, string>;
}

/**
 * Plans a configuration file as rows to store, or every problem with its field path. Pure over
 * (current, desired, the plugins' verdicts): objects made over the API are kept and win over
 * none; two packages with one identity, job variables that would collide and references to
 * nothing are refused.
 */
export function planConfiguration(input: PlanInput): {
  plan: ConfigurationPlan;
  issues: ValidationIssue[];
} {
  const { current } = input;
  const issues: ValidationIssue[] = [];
  const at = (path: PropertyKey[], message: string) =>
    issues.push({ key: formatPath(path), message });
  const plan: ConfigurationPlan = { repositories: [], packages: [], pipelines: [] };
  const apiPackages = current.packages.filter((p) => p.source === 'api');
  const fingerprints = new Map<string, string>();
  for (const p of apiPackages)
    fingerprints.set(p.fingerprint, `package ${p.repository}/${p.name} (made over the API)`);

  planRepositories(input, fingerprints, plan, at);
  const allPackages = [
    ...plan.packages.map((p) => ({ repository: p.repository, package: p.name })),
    ...apiPackages.map((p) => ({ repository: p.repository, package: p.name })),
  ];
  for (const message of variableCollisions(allPackages)) at(['repositories'], message);
  planPipelines(input, allPackages, plan, at);
  return { plan, issues };
}

/** The repositories and packages of a plan, with their problems. */
function planRepositories(
  input: PlanInput,
  fingerprints: Map<string, string>,
  plan: ConfigurationPlan,
  at: (path: PropertyKey[], message: string) => void,
): void {
  const { desired, current, verdicts } = input;
  const existingRepos = new Map(current.repositories.map((r) => [r.name, r]));
  const seenRepos = new Set<string>();
  for (const [i, repo] of desired.repositories.entries()) {
    if (seenRepos.has(repo.name))
      at(['repositories', i, 'name'], `repository '${repo.name}' is defined twice`);
    seenRepos.add(repo.name);
    const existing = existingRepos.get(repo.name);
    if (existing?.source === 'api')
      at(
        ['repositories', i, 'name'],
        `repository '${repo.name}' was made over the API; rename one of them`,
      );
    const plugin = verdicts.plugins[i];
    if (!plugin) {
      const failed = input.unavailable?.get(repo.plugin);
      if (failed !== undefined && existing?.plugin === repo.plugin) {
        keepAsStored(existing, current.packages, fingerprints, plan);
        continue;
      }
      at(
        ['repositories', i, 'plugin'],
        failed !== undefined
          ? `plugin '${repo.plugin}' failed to load: ${failed}`
          : `no plugin '${repo.plugin}'; known: ${input.pluginIds.join(', ')}`,
      );
      continue;
    }
    const repoIssues = verdicts.repositories[i] ?? [];
    for (const issue of repoIssues)
      at(['repositories', i, 'config', ...(issue.key ? [issue.key] : [])], issue.message);
    const isRepoIssue = (x: ValidationIssue) =>
      repoIssues.some((r) => r.key === x.key && r.message === x.message);
    const split = input.sealed.split(plugin.repositoryProperties, repo.config, existing?.secrets);
    plan.repositories.push({ name: repo.name, plugin: repo.plugin, ...split, source: 'config' });
    const seenPackages = new Set<string>();
    for (const [j, pkg] of repo.packages.entries()) {
      const path = ['repositories', i, 'packages', j];
      if (seenPackages.has(pkg.name))
        at([...path, 'name'], `package '${pkg.name}' is defined twice in '${repo.name}'`);
      seenPackages.add(pkg.name);
      for (const issue of verdicts.packages[i]?.[j] ?? []) {
        if (!isRepoIssue(issue))
          at([...path, 'config', ...(issue.key ? [issue.key] : [])], issue.message);
      }
      const fingerprint = materialFingerprint(plugin, repo.config, pkg.config);
      const clash = fingerprints.get(fingerprint);
      if (clash)
        at(path, `same repository and package identity as ${clash}: they would be one material`);
      fingerprints.set(fingerprint, `repositories[${i}].packages[${j}] (${repo.name}/${pkg.name})`);
      const old = current.packages.find((p) => p.repository === repo.name && p.name === pkg.name);
      plan.packages.push({
        repository: repo.name,
        name: pkg.name,
        ...input.sealed.split(plugin.packageProperties, pkg.config, old?.secrets),
        pollIntervalMs: pollIntervalMs(pkg.pollInterval),
        fingerprint,
        source: 'config',
      });
    }
  }
}

/** A repository whose plugin failed to load, and its packages, planned exactly as stored. */
function keepAsStored(
  repo: RepositoryRow,
  packages: PackageRow[],
  fingerprints: Map<string, string>,
  plan: ConfigurationPlan,
): void {
  const { createdAt: _c, updatedAt: _u, ...row } = repo;
  plan.repositories.push({ ...row, source: 'config' });
  for (const pkg of packages.filter((p) => p.repository === repo.name)) {
    const { createdAt: _pc, updatedAt: _pu, ...kept } = pkg;
    fingerprints.set(pkg.fingerprint, `package ${pkg.repository}/${pkg.name}`);
    plan.packages.push({ ...kept, source: 'config' });
  }
}

function planPipelines(
  input: PlanInput,
  packages: { repository: string; package: string }[],
  plan: ConfigurationPlan,
  at: (path: PropertyKey[], message: string) => void,
): void {
  const { desired } = input;
  const stored = new Map((input.current.pipelines ?? []).map((p) => [p.name, p]));
  const names = new Set<string>();
  for (const [i, pipeline] of desired.pipelines.entries()) {
    if (names.has(pipeline.name))
      at(['pipelines', i, 'name'], `pipeline '${pipeline.name}' is defined twice`);
    names.add(pipeline.name);
  }
  const stages = new Map(
    desired.pipelines.map((p) => [p.name, new Set(p.stages.map((s) => s.name))]),
  );
  const known = {
    packages: new Set(packages.map((p) => `${p.repository}/${p.package}`)),
    stagesOf: (name: string) => stages.get(name),
    materialsOf: (name: string) => desired.pipelines.find((p) => p.name === name)?.materials,
  };
  for (const [i, pipeline] of desired.pipelines.entries()) {
    for (const issue of pipelineIssues(pipeline, known))
      at(['pipelines', i, ...pathOf(issue.key)], issue.message);
    const previous = stored.get(pipeline.name);
    plan.pipelines.push({
      name: pipeline.name,
      // Secure variables sealed; one that did not change keeps its sealed form.
      definition: toStored(
        input.sealed.pipeline(pipeline, previous ? definitionOf(previous) : undefined),
      ),
      source: 'config',
    });
  }
}

/** `materials[0].package` as path segments. */
function pathOf(key: string): PropertyKey[] {
  return key.split('.').flatMap((part) => {
    const match = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) return [part];
    const indexes = [...(match[2] ?? '').matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    return [match[1] as string, ...indexes];
  });
}
