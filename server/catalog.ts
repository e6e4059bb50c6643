import {
  ConfigInvalidError,
  type Configuration,
  ConflictError,
  findMaterialNameCollisions,
  type JsonValue,
  materialFingerprint,
  NotFoundError,
  type PluginHost,
  type RepositoryPlugin,
  type ValidationIssue,
} from 'hoist';
import { formatPath } from './config/load.ts';
import {
  type HoistConfig,
  Name,
  PipelineConfig,
  PollInterval,
  pollIntervalMs,
} from './config/schema.ts';
import type { SecretBox } from './secrets.ts';
import type { ConfigurationPlan, PackageRow, RepositoryRow, Source, Store } from './store/store.ts';

/** A package ready to poll: both configurations opened, with its plugin. */
export interface PolledPackage {
  repository: string;
  name: string;
  plugin: string;
  repositoryConfig: Configuration;
  packageConfig: Configuration;
  fingerprint: string;
  pollIntervalMs: number | null;
}

/** What the API shows of a repository: secure values only as set/unset. */
export interface RepositoryView {
  name: string;
  plugin: string;
  config: Record<string, string>;
  secrets: Record<string, 'set'>;
  source: Source;
  packages: string[];
}

/** What the API shows of a package. */
export interface PackageView {
  repository: string;
  name: string;
  config: Record<string, string>;
  secrets: Record<string, 'set'>;
  pollInterval: string;
  fingerprint: string;
  source: Source;
}

/**
 * Repositories, packages and pipelines as the API and the configuration file change them:
 * validated by their plugin (every problem at once, each with its field path), secure values
 * sealed, duplicate materials and colliding job-environment names refused.
 */
export class Catalog {
  constructor(
    private readonly store: Store,
    private readonly host: PluginHost,
    private readonly box: SecretBox,
  ) {}

  /** Plans a configuration file's objects; @throws ConfigInvalidError listing every problem. */
  async plan(config: HoistConfig): Promise<ConfigurationPlan> {
    const issues: ValidationIssue[] = [];
    const at = (path: PropertyKey[], message: string) =>
      issues.push({ key: formatPath(path), message });
    const plan: ConfigurationPlan = { repositories: [], packages: [], pipelines: [] };
    const existingRepos = new Map((await this.store.listRepositories()).map((r) => [r.name, r]));
    const existingPackages = await this.store.listPackages();
    const apiPackages = existingPackages.filter((p) => p.source === 'api');
    const seenRepos = new Set<string>();
    const fingerprints = new Map<string, string>();
    for (const p of apiPackages)
      fingerprints.set(p.fingerprint, `package ${p.repository}/${p.name} (made over the API)`);

    for (const [i, repo] of config.repositories.entries()) {
      if (seenRepos.has(repo.name))
        at(['repositories', i, 'name'], `repository '${repo.name}' is defined twice`);
      seenRepos.add(repo.name);
      const existing = existingRepos.get(repo.name);
      if (existing?.source === 'api') {
        at(
          ['repositories', i, 'name'],
          `repository '${repo.name}' was made over the API; rename one of them`,
        );
      }
      if (!this.host.registry.has(repo.plugin)) {
        at(['repositories', i, 'plugin'], `no plugin '${repo.plugin}'; known: ${this.pluginIds()}`);
        continue;
      }
      const plugin = this.host.registry.get(repo.plugin);
      const repoIssues = await this.host.validateRepository(repo.plugin, repo.config);
      for (const issue of repoIssues) {
        at(['repositories', i, 'config', ...(issue.key ? [issue.key] : [])], issue.message);
      }
      const isRepoIssue = (i: ValidationIssue) =>
        repoIssues.some((r) => r.key === i.key && r.message === i.message);
      const { config, secrets } = this.split(
        plugin.repositoryProperties,
        repo.config,
        existing?.secrets,
      );
      plan.repositories.push({
        name: repo.name,
        plugin: repo.plugin,
        config,
        secrets,
        source: 'config',
      });
      const seenPackages = new Set<string>();
      for (const [j, pkg] of repo.packages.entries()) {
        const path = ['repositories', i, 'packages', j];
        if (seenPackages.has(pkg.name))
          at([...path, 'name'], `package '${pkg.name}' is defined twice in '${repo.name}'`);
        seenPackages.add(pkg.name);
        for (const issue of await this.host.validatePackage(repo.plugin, repo.config, pkg.config)) {
          if (!isRepoIssue(issue))
            at([...path, 'config', ...(issue.key ? [issue.key] : [])], issue.message);
        }
        const fingerprint = materialFingerprint(plugin, repo.config, pkg.config);
        const where = `repositories[${i}].packages[${j}] (${repo.name}/${pkg.name})`;
        const clash = fingerprints.get(fingerprint);
        if (clash)
          at(path, `same repository and package identity as ${clash}: they would be one material`);
        fingerprints.set(fingerprint, where);
        const old = existingPackages.find((p) => p.repository === repo.name && p.name === pkg.name);
        const split = this.split(plugin.packageProperties, pkg.config, old?.secrets);
        plan.packages.push({
          repository: repo.name,
          name: pkg.name,
          config: split.config,
          secrets: split.secrets,
          pollIntervalMs: pollIntervalMs(pkg.pollInterval),
          fingerprint,
          source: 'config',
        });
      }
    }
    const allPackages = [
      ...plan.packages.map((p) => ({ repository: p.repository, package: p.name })),
      ...apiPackages.map((p) => ({ repository: p.repository, package: p.name })),
    ];
    for (const collision of findMaterialNameCollisions(allPackages)) {
      at(
        ['repositories'],
        `packages ${collision.sources.join(' and ')} would share job variables ${collision.name}; rename one`,
      );
    }
    const pipelineNames = new Set<string>();
    const known = new Set(allPackages.map((p) => `${p.repository}/${p.package}`));
    for (const [i, pipeline] of config.pipelines.entries()) {
      if (pipelineNames.has(pipeline.name))
        at(['pipelines', i, 'name'], `pipeline '${pipeline.name}' is defined twice`);
      pipelineNames.add(pipeline.name);
    }
    const stagesOf = new Map(
      config.pipelines.map((p) => [p.name, new Set(p.stages.map((s) => s.name))]),
    );
    for (const [i, pipeline] of config.pipelines.entries()) {
      for (const [j, material] of pipeline.materials.entries()) {
        if ('package' in material && !known.has(material.package)) {
          at(['pipelines', i, 'materials', j, 'package'], `no package '${material.package}'`);
        }
        if ('pipeline' in material) {
          const stages = stagesOf.get(material.pipeline);
          if (!stages)
            at(['pipelines', i, 'materials', j, 'pipeline'], `no pipeline '${material.pipeline}'`);
          else if (!stages.has(material.stage)) {
            at(
              ['pipelines', i, 'materials', j, 'stage'],
              `pipeline '${material.pipeline}' has no stage '${material.stage}'`,
            );
          }
        }
      }
      plan.pipelines.push({
        name: pipeline.name,
        definition: pipeline as unknown as JsonValue,
        source: 'config',
      });
    }
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    return plan;
  }

  /** Applies a configuration: nothing changes unless all of it is valid. */
  async apply(config: HoistConfig) {
    const plan = await this.plan(config);
    const summary = await this.store.applyConfiguration(plan);
    await this.ensureMaterials();
    return summary;
  }

  /** Every material the packages name exists in the store (so it gets polled). */
  async ensureMaterials(): Promise<void> {
    const now = new Date().toISOString();
    for (const pkg of await this.store.listPackages()) {
      const repo = await this.store.getRepository(pkg.repository);
      if (repo)
        await this.store.ensureMaterial(
          pkg.fingerprint,
          repo.plugin,
          pkg.pollIntervalMs === null ? null : now,
        );
    }
  }

  /** Packages with their opened configurations, for the poller. */
  async polledPackages(): Promise<PolledPackage[]> {
    const repos = new Map((await this.store.listRepositories()).map((r) => [r.name, r]));
    const result: PolledPackage[] = [];
    for (const pkg of await this.store.listPackages()) {
      const repo = repos.get(pkg.repository);
      if (!repo) continue;
      result.push({
        repository: repo.name,
        name: pkg.name,
        plugin: repo.plugin,
        repositoryConfig: this.open(repo.config, repo.secrets),
        packageConfig: this.open(pkg.config, pkg.secrets),
        fingerprint: pkg.fingerprint,
        pollIntervalMs: pkg.pollIntervalMs,
      });
    }
    return result;
  }

  // --- API operations -------------------------------------------------------------------

  async createRepository(input: { name: string; plugin: string; config: Record<string, string> }) {
    if (await this.store.getRepository(input.name))
      throw new ConflictError(`repository '${input.name}' exists already`);
    await this.putRepository(input, undefined);
  }

  async updateRepository(name: string, input: { plugin?: string; config: Record<string, string> }) {
    const existing = await this.requireRepository(name);
    await this.putRepository(
      { name, plugin: input.plugin ?? existing.plugin, config: input.config },
      existing,
    );
  }

  async deleteRepository(name: string) {
    await this.requireRepository(name);
    const packages = await this.store.listPackages(name);
    const users = await this.pipelinesUsing(packages.map((p) => `${p.repository}/${p.name}`));
    if (users.length > 0) {
      throw new ConflictError(`repository '${name}' is in use by pipeline(s) ${users.join(', ')}`);
    }
    await this.store.deleteRepository(name);
  }

  async createPackage(input: {
    repository: string;
    name: string;
    config: Record<string, string>;
    pollInterval?: string;
  }) {
    if (await this.store.getPackage(input.repository, input.name)) {
      throw new ConflictError(`package '${input.repository}/${input.name}' exists already`);
    }
    await this.putPackage(input, undefined);
  }

  async updatePackage(
    repository: string,
    name: string,
    input: { config: Record<string, string>; pollInterval?: string },
  ) {
    const existing = await this.store.getPackage(repository, name);
    if (!existing) throw new NotFoundError(`no package '${repository}/${name}'`);
    await this.putPackage({ repository, name, ...input }, existing);
  }

  async deletePackage(repository: string, name: string) {
    if (!(await this.store.getPackage(repository, name)))
      throw new NotFoundError(`no package '${repository}/${name}'`);
    const users = await this.pipelinesUsing([`${repository}/${name}`]);
    if (users.length > 0)
      throw new ConflictError(
        `package '${repository}/${name}' is in use by pipeline(s) ${users.join(', ')}`,
      );
    await this.store.deletePackage(repository, name);
  }

  async savePipeline(definition: unknown, mode: 'create' | 'update', name?: string) {
    const parsed = PipelineConfig.safeParse(definition);
    if (!parsed.success) {
      throw new ConfigInvalidError(
        parsed.error.issues.map((i) => ({ key: formatPath(i.path), message: i.message })),
      );
    }
    const pipeline = parsed.data;
    if (name !== undefined && pipeline.name !== name) {
      throw new ConfigInvalidError([
        { key: 'name', message: `must be '${name}', the pipeline in the path` },
      ]);
    }
    const existing = await this.store.getPipeline(pipeline.name);
    if (mode === 'create' && existing)
      throw new ConflictError(`pipeline '${pipeline.name}' exists already`);
    if (mode === 'update' && !existing) throw new NotFoundError(`no pipeline '${pipeline.name}'`);
    const packages = new Set(
      (await this.store.listPackages()).map((p) => `${p.repository}/${p.name}`),
    );
    const issues: ValidationIssue[] = [];
    for (const [j, material] of pipeline.materials.entries()) {
      if ('package' in material && !packages.has(material.package)) {
        issues.push({
          key: `materials[${j}].package`,
          message: `no package '${material.package}'`,
        });
      }
      if ('pipeline' in material) {
        const upstream = await this.store.getPipeline(material.pipeline);
        const stages =
          (upstream?.definition as { stages?: { name: string }[] } | undefined)?.stages ?? [];
        if (!upstream)
          issues.push({
            key: `materials[${j}].pipeline`,
            message: `no pipeline '${material.pipeline}'`,
          });
        else if (!stages.some((s) => s.name === material.stage)) {
          issues.push({
            key: `materials[${j}].stage`,
            message: `pipeline '${material.pipeline}' has no stage '${material.stage}'`,
          });
        }
      }
    }
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    await this.store.savePipeline({
      name: pipeline.name,
      definition: pipeline as unknown as JsonValue,
      source: 'api',
    });
  }

  async deletePipeline(name: string) {
    if (!(await this.store.getPipeline(name))) throw new NotFoundError(`no pipeline '${name}'`);
    const downstream = (await this.store.listPipelines()).filter((p) =>
      ((p.definition as { materials?: { pipeline?: string }[] }).materials ?? []).some(
        (m) => m.pipeline === name,
      ),
    );
    if (downstream.length > 0) {
      throw new ConflictError(
        `pipeline '${name}' is upstream of ${downstream.map((p) => p.name).join(', ')}`,
      );
    }
    await this.store.deletePipeline(name);
  }

  // --- views ------------------------------------------------------------------------------

  async repositoryView(row: RepositoryRow): Promise<RepositoryView> {
    const packages = await this.store.listPackages(row.name);
    return {
      name: row.name,
      plugin: row.plugin,
      config: row.config,
      secrets: Object.fromEntries(Object.keys(row.secrets).map((k) => [k, 'set' as const])),
      source: row.source,
      packages: packages.map((p) => p.name),
    };
  }

  packageView(row: PackageRow): PackageView {
    return {
      repository: row.repository,
      name: row.name,
      config: row.config,
      secrets: Object.fromEntries(Object.keys(row.secrets).map((k) => [k, 'set' as const])),
      pollInterval: row.pollIntervalMs === null ? 'never' : formatInterval(row.pollIntervalMs),
      fingerprint: row.fingerprint,
      source: row.source,
    };
  }

  async requireRepository(name: string): Promise<RepositoryRow> {
    const repo = await this.store.getRepository(name);
    if (!repo) throw new NotFoundError(`no repository '${name}'`);
    return repo;
  }

  // --- internals --------------------------------------------------------------------------

  private async putRepository(
    input: { name: string; plugin: string; config: Record<string, string> },
    existing: RepositoryRow | undefined,
  ) {
    const nameCheck = Name.safeParse(input.name);
    if (!nameCheck.success)
      throw new ConfigInvalidError([
        { key: 'name', message: nameCheck.error.issues[0]?.message ?? 'invalid' },
      ]);
    if (!this.host.registry.has(input.plugin)) {
      throw new ConfigInvalidError([
        { key: 'plugin', message: `no plugin '${input.plugin}'; known: ${this.pluginIds()}` },
      ]);
    }
    const plugin = this.host.registry.get(input.plugin);
    const issues = await this.host.validateRepository(input.plugin, input.config);
    if (issues.length > 0)
      throw new ConfigInvalidError(
        issues.map((i) => ({ key: i.key ? `config.${i.key}` : 'config', message: i.message })),
      );
    // Packages change identity when identity properties of their repository change.
    const packages = existing ? await this.store.listPackages(existing.name) : [];
    const refingerprinted = packages.map((p) => ({
      ...p,
      fingerprint: materialFingerprint(plugin, input.config, this.open(p.config, p.secrets)),
    }));
    await this.refuseDuplicates(
      refingerprinted.map((p) => ({
        key: `${p.repository}/${p.name}`,
        fingerprint: p.fingerprint,
      })),
    );
    const { config, secrets } = this.split(
      plugin.repositoryProperties,
      input.config,
      existing?.secrets,
    );
    await this.store.saveRepository({
      name: input.name,
      plugin: input.plugin,
      config,
      secrets,
      source: 'api',
    });
    for (const p of refingerprinted) {
      await this.store.savePackage({ ...p, source: p.source });
    }
    await this.ensureMaterials();
  }

  private async putPackage(
    input: {
      repository: string;
      name: string;
      config: Record<string, string>;
      pollInterval?: string;
    },
    existing: PackageRow | undefined,
  ) {
    const repo = await this.requireRepository(input.repository);
    const issues: ValidationIssue[] = [];
    const nameCheck = Name.safeParse(input.name);
    if (!nameCheck.success)
      issues.push({ key: 'name', message: nameCheck.error.issues[0]?.message ?? 'invalid' });
    const interval = input.pollInterval ?? (existing ? undefined : '60s');
    if (interval !== undefined && !PollInterval.safeParse(interval).success) {
      issues.push({ key: 'pollInterval', message: "must look like '30s', '5m', '1h' or 'never'" });
    }
    const plugin: RepositoryPlugin = this.host.registry.get(repo.plugin);
    const repoConfig = this.open(repo.config, repo.secrets);
    for (const issue of await this.host.validatePackage(repo.plugin, repoConfig, input.config)) {
      issues.push({ key: issue.key ? `config.${issue.key}` : 'config', message: issue.message });
    }
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    const fingerprint = materialFingerprint(plugin, repoConfig, input.config);
    await this.refuseDuplicates([{ key: `${input.repository}/${input.name}`, fingerprint }]);
    const collisions = findMaterialNameCollisions([
      ...(await this.store.listPackages())
        .filter((p) => !(p.repository === input.repository && p.name === input.name))
        .map((p) => ({ repository: p.repository, package: p.name })),
      { repository: input.repository, package: input.name },
    ]);
    if (collisions.length > 0) {
      const c = collisions[0] as { name: string; sources: string[] };
      throw new ConflictError(
        `packages ${c.sources.join(' and ')} would share job variables ${c.name}; rename one`,
      );
    }
    const split = this.split(plugin.packageProperties, input.config, existing?.secrets);
    await this.store.savePackage({
      repository: input.repository,
      name: input.name,
      config: split.config,
      secrets: split.secrets,
      pollIntervalMs:
        interval === undefined ? (existing?.pollIntervalMs ?? 60_000) : pollIntervalMs(interval),
      fingerprint,
      source: existing?.source ?? 'api',
    });
    await this.ensureMaterials();
  }

  private async refuseDuplicates(candidates: { key: string; fingerprint: string }[]) {
    const others = await this.store.listPackages();
    for (const c of candidates) {
      const clash = others.find(
        (p) => p.fingerprint === c.fingerprint && `${p.repository}/${p.name}` !== c.key,
      );
      if (clash) {
        throw new ConflictError(
          `package '${c.key}' has the same repository and package identity as '${clash.repository}/${clash.name}': they would be one material`,
        );
      }
    }
  }

  private async pipelinesUsing(packages: string[]): Promise<string[]> {
    const wanted = new Set(packages);
    return (await this.store.listPipelines())
      .filter((p) =>
        ((p.definition as { materials?: { package?: string }[] }).materials ?? []).some(
          (m) => m.package && wanted.has(m.package),
        ),
      )
      .map((p) => p.name);
  }

  /** Splits values into plain and sealed; an unchanged secret keeps its sealed form. */
  private split(
    properties: RepositoryPlugin['repositoryProperties'],
    values: Record<string, string>,
    previous: Record<string, string> | undefined,
  ) {
    const secure = new Set(properties.filter((p) => p.secure).map((p) => p.key));
    const config: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (!secure.has(key)) {
        config[key] = value;
        continue;
      }
      if (value === '') continue;
      const old = previous?.[key];
      secrets[key] = old !== undefined && this.tryOpen(old) === value ? old : this.box.seal(value);
    }
    return { config, secrets };
  }

  private open(config: Record<string, string>, secrets: Record<string, string>): Configuration {
    const result: Record<string, string> = { ...config };
    for (const [key, sealed] of Object.entries(secrets)) result[key] = this.box.open(sealed);
    return result;
  }

  private tryOpen(sealed: string): string | undefined {
    try {
      return this.box.open(sealed);
    } catch {
      return undefined;
    }
  }

  private pluginIds(): string {
    return this.host.registry
      .list()
      .map((p) => p.id)
      .join(', ');
  }
}

/** 60000 → `60s`, 300000 → `5m`. */
export function formatInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
