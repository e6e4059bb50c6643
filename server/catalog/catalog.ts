import {
  ConfigInvalidError,
  type Configuration,
  ConflictError,
  materialFingerprint,
  NotFoundError,
  type PluginHost,
  type ValidationIssue,
} from 'hoist';
import { formatPath } from '../config/load.ts';
import {
  type HoistConfig,
  Name,
  PipelineConfig,
  PollInterval,
  pollIntervalMs,
} from '../config/schema.ts';
import { definitionOf, toStored } from '../pipelines/definition.ts';
import type { SecretBox } from '../secrets.ts';
import type { ConfigurationPlan, PackageRow, RepositoryRow, Store } from '../store/store.ts';
import { type PluginVerdicts, planConfiguration } from './plan.ts';
import {
  pipelineIssues,
  pipelinesDownstreamOf,
  pipelinesUsing,
  variableCollisions,
} from './references.ts';
import { type SealedValues, sealedValues } from './sealed.ts';

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

/** Called once after every change of repositories or packages. */
export type CatalogListener = () => void | Promise<void>;

/**
 * Repositories, packages and pipelines as the API and the configuration file change them:
 * validated by their plugin (every problem at once, each with its field path), secure values
 * sealed, duplicate materials and colliding job-environment names refused. It announces each
 * change of what is polled to its listeners (the poller).
 */
export class Catalog {
  private readonly sealed: SealedValues;
  private readonly listeners: CatalogListener[] = [];

  constructor(
    private readonly store: Store,
    private readonly host: PluginHost,
    box: SecretBox,
  ) {
    this.sealed = sealedValues(box);
  }

  /** Listens to changes of what is polled. */
  onChange(listener: CatalogListener): void {
    this.listeners.push(listener);
  }

  /** Plans a configuration file's objects; @throws ConfigInvalidError listing every problem. */
  async plan(config: HoistConfig): Promise<ConfigurationPlan> {
    const { plan, issues } = planConfiguration({
      desired: config,
      current: {
        repositories: await this.store.listRepositories(),
        packages: await this.store.listPackages(),
      },
      verdicts: await this.verdicts(config),
      pluginIds: this.pluginIds(),
      sealed: this.sealed,
    });
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    return plan;
  }

  /** Applies a configuration: nothing changes unless all of it is valid. */
  async apply(config: HoistConfig) {
    const plan = await this.plan(config);
    const summary = await this.store.applyConfiguration(plan);
    await this.changed();
    return summary;
  }

  /** Every material the packages name exists in the store (so it gets polled). */
  async ensureMaterials(): Promise<void> {
    const now = new Date().toISOString();
    const repos = new Map((await this.store.listRepositories()).map((r) => [r.name, r]));
    for (const pkg of await this.store.listPackages()) {
      const repo = repos.get(pkg.repository);
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
        repositoryConfig: this.sealed.open(repo.config, repo.secrets),
        packageConfig: this.sealed.open(pkg.config, pkg.secrets),
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
    const users = pipelinesUsing(
      await this.pipelines(),
      packages.map((p) => `${p.repository}/${p.name}`),
    );
    if (users.length > 0)
      throw new ConflictError(`repository '${name}' is in use by pipeline(s) ${users.join(', ')}`);
    await this.store.deleteRepository(name);
    await this.changed();
  }

  async createPackage(input: {
    repository: string;
    name: string;
    config: Record<string, string>;
    pollInterval?: string;
  }) {
    if (await this.store.getPackage(input.repository, input.name))
      throw new ConflictError(`package '${input.repository}/${input.name}' exists already`);
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
    const users = pipelinesUsing(await this.pipelines(), [`${repository}/${name}`]);
    if (users.length > 0)
      throw new ConflictError(
        `package '${repository}/${name}' is in use by pipeline(s) ${users.join(', ')}`,
      );
    await this.store.deletePackage(repository, name);
    await this.changed();
  }

  async savePipeline(definition: unknown, mode: 'create' | 'update', name?: string) {
    const parsed = PipelineConfig.safeParse(definition);
    if (!parsed.success) {
      throw new ConfigInvalidError(
        parsed.error.issues.map((i) => ({ key: formatPath(i.path), message: i.message })),
      );
    }
    const pipeline = parsed.data;
    if (name !== undefined && pipeline.name !== name)
      throw new ConfigInvalidError([
        { key: 'name', message: `must be '${name}', the pipeline in the path` },
      ]);
    const existing = await this.store.getPipeline(pipeline.name);
    if (mode === 'create' && existing)
      throw new ConflictError(`pipeline '${pipeline.name}' exists already`);
    if (mode === 'update' && !existing) throw new NotFoundError(`no pipeline '${pipeline.name}'`);
    const others = new Map((await this.pipelines()).map((p) => [p.name, p.definition]));
    others.set(pipeline.name, pipeline);
    const issues = pipelineIssues(pipeline, {
      packages: new Set((await this.store.listPackages()).map((p) => `${p.repository}/${p.name}`)),
      stagesOf: (upstream) => {
        const found = others.get(upstream);
        return found && new Set(found.stages.map((s) => s.name));
      },
    });
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    await this.store.savePipeline({
      name: pipeline.name,
      definition: toStored(pipeline),
      source: 'api',
    });
  }

  async deletePipeline(name: string) {
    if (!(await this.store.getPipeline(name))) throw new NotFoundError(`no pipeline '${name}'`);
    const downstream = pipelinesDownstreamOf(await this.pipelines(), name);
    if (downstream.length > 0)
      throw new ConflictError(`pipeline '${name}' is upstream of ${downstream.join(', ')}`);
    await this.store.deletePipeline(name);
  }

  async requireRepository(name: string): Promise<RepositoryRow> {
    const repo = await this.store.getRepository(name);
    if (!repo) throw new NotFoundError(`no repository '${name}'`);
    return repo;
  }

  // --- internals --------------------------------------------------------------------------

  /** The plugins' verdicts on a configuration file (gathered for the pure plan). */
  private async verdicts(config: HoistConfig): Promise<PluginVerdicts> {
    const verdicts: PluginVerdicts = { plugins: [], repositories: [], packages: [] };
    for (const [i, repo] of config.repositories.entries()) {
      const known = this.host.registry.has(repo.plugin);
      verdicts.plugins[i] = known ? this.host.registry.get(repo.plugin) : undefined;
      verdicts.repositories[i] = known
        ? await this.host.validateRepository(repo.plugin, repo.config)
        : [];
      const packages: ValidationIssue[][] = [];
      for (const pkg of known ? repo.packages : [])
        packages.push(await this.host.validatePackage(repo.plugin, repo.config, pkg.config));
      verdicts.packages[i] = packages;
    }
    return verdicts;
  }

  private async putRepository(
    input: { name: string; plugin: string; config: Record<string, string> },
    existing: RepositoryRow | undefined,
  ) {
    const nameCheck = Name.safeParse(input.name);
    if (!nameCheck.success)
      throw new ConfigInvalidError([
        { key: 'name', message: nameCheck.error.issues[0]?.message ?? 'invalid' },
      ]);
    if (!this.host.registry.has(input.plugin))
      throw new ConfigInvalidError([
        {
          key: 'plugin',
          message: `no plugin '${input.plugin}'; known: ${this.pluginIds().join(', ')}`,
        },
      ]);
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
      fingerprint: materialFingerprint(plugin, input.config, this.sealed.open(p.config, p.secrets)),
    }));
    await this.refuseDuplicates(
      refingerprinted.map((p) => ({
        key: `${p.repository}/${p.name}`,
        fingerprint: p.fingerprint,
      })),
    );
    const split = this.sealed.split(plugin.repositoryProperties, input.config, existing?.secrets);
    await this.store.saveRepository({
      name: input.name,
      plugin: input.plugin,
      ...split,
      source: 'api',
    });
    for (const p of refingerprinted) await this.store.savePackage({ ...p, source: p.source });
    await this.changed();
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
    if (interval !== undefined && !PollInterval.safeParse(interval).success)
      issues.push({ key: 'pollInterval', message: "must look like '30s', '5m', '1h' or 'never'" });
    const plugin = this.host.registry.get(repo.plugin);
    const repoConfig = this.sealed.open(repo.config, repo.secrets);
    for (const issue of await this.host.validatePackage(repo.plugin, repoConfig, input.config))
      issues.push({ key: issue.key ? `config.${issue.key}` : 'config', message: issue.message });
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    const fingerprint = materialFingerprint(plugin, repoConfig, input.config);
    await this.refuseDuplicates([{ key: `${input.repository}/${input.name}`, fingerprint }]);
    const [collision] = variableCollisions([
      ...(await this.store.listPackages())
        .filter((p) => !(p.repository === input.repository && p.name === input.name))
        .map((p) => ({ repository: p.repository, package: p.name })),
      { repository: input.repository, package: input.name },
    ]);
    if (collision) throw new ConflictError(collision);
    await this.store.savePackage({
      repository: input.repository,
      name: input.name,
      ...this.sealed.split(plugin.packageProperties, input.config, existing?.secrets),
      pollIntervalMs:
        interval === undefined ? (existing?.pollIntervalMs ?? 60_000) : pollIntervalMs(interval),
      fingerprint,
      source: existing?.source ?? 'api',
    });
    await this.changed();
  }

  private async refuseDuplicates(candidates: { key: string; fingerprint: string }[]) {
    const others = await this.store.listPackages();
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

  private async pipelines() {
    return (await this.store.listPipelines()).map((p) => ({
      name: p.name,
      definition: definitionOf(p),
    }));
  }

  private async changed(): Promise<void> {
    await this.ensureMaterials();
    for (const listener of this.listeners) await listener();
  }

  private pluginIds(): string[] {
    return this.host.registry.list().map((p) => p.id);
  }
}
