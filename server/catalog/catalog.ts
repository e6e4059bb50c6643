import {
  ConfigInvalidError,
  type Configuration,
  ConflictError,
  type HoistError,
  NotFoundError,
  type PluginHost,
} from 'hoist';
import { formatPath } from '../config/load.ts';
import { type HoistConfig, PipelineConfig } from '../config/schema.ts';
import { definitionOf, toStored } from '../pipelines/definition.ts';
import type { SecretBox } from '../secrets.ts';
import type { ConfigurationPlan, RepositoryRow, Store } from '../store/store.ts';
import {
  type ChangeContext,
  pluginIds,
  putPackage,
  putRepository,
  requireRepository,
  verdicts,
} from './changes.ts';
import { sealNotifications } from './notifications.ts';
import { planConfiguration } from './plan.ts';
import { pipelineIssues, pipelinesDownstreamOf, pipelinesUsing } from './references.ts';
import { type SealedValues, sealedValues } from './sealed.ts';
import { MaterialVerdicts } from './verdicts.ts';

/** A package ready to poll: both configurations opened, with its plugin. */
export interface PolledPackage {
  repository: string;
  name: string;
  plugin: string;
  repositoryConfig: Configuration;
  packageConfig: Configuration;
  fingerprint: string;
  pollIntervalMs: number | null;
  /**
   * Why the material is not polled now: its plugin failed to load, or its configuration's
   * problems found when its plugin was installed or upgraded (until it is saved again). Its
   * checks fail with this error, and no message reaches the plugin.
   */
  blocked?: HoistError;
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
  private readonly pipelineListeners: CatalogListener[] = [];

  private readonly context: ChangeContext;
  private readonly verdicts: MaterialVerdicts;

  constructor(
    private readonly store: Store,
    private readonly host: PluginHost,
    private readonly box: SecretBox,
  ) {
    this.sealed = sealedValues(box);
    this.context = { store, host, sealed: this.sealed };
    this.verdicts = new MaterialVerdicts(this.context);
  }

  /** Listens to changes of what is polled. */
  onChange(listener: CatalogListener): void {
    this.listeners.push(listener);
  }

  /** Listens to changes of pipelines (the timers). */
  onPipelinesChange(listener: CatalogListener): void {
    this.pipelineListeners.push(listener);
  }

  /** Installed plugins that failed to load: their stored objects are kept as they are. */
  setUnavailable(failed: Map<string, string>): void {
    this.verdicts.unavailable = failed;
  }

  /**
   * Validates stored configurations again with their plugin (when it was installed or
   * upgraded, or at start for objects made over the API): none per poll. A package found
   * invalid is not polled until it is saved again.
   */
  revalidate(which: { plugins?: string[]; source?: 'api' | 'config' }): Promise<number> {
    return this.verdicts.revalidate(which);
  }

  /** Plans a configuration file's objects; @throws ConfigInvalidError listing every problem. */
  async plan(config: HoistConfig): Promise<ConfigurationPlan> {
    const { plan, issues } = planConfiguration({
      desired: config,
      current: {
        repositories: await this.store.listRepositories(),
        packages: await this.store.listPackages(),
        pipelines: await this.store.listPipelines(),
      },
      verdicts: await verdicts(this.context, config),
      pluginIds: pluginIds(this.host),
      sealed: this.sealed,
      unavailable: this.verdicts.unavailable,
    });
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    return {
      ...plan,
      notifications: sealNotifications(
        config.notifications ?? [],
        await this.store.listNotifications(),
        this.box,
      ),
    };
  }

  /** Applies a configuration: nothing changes unless all of it is valid. */
  /**
   * Applies a configuration: nothing changes unless all of it is valid. `dropped` names what an
   * earlier configuration had made and this one removes (objects made over the API stay).
   */
  async apply(config: HoistConfig) {
    const plan = await this.plan(config);
    const dropped = await this.droppedBy(plan);
    const summary = await this.store.applyConfiguration(plan);
    // What the file holds was validated just now.
    for (const p of plan.packages) this.verdicts.saved(p.fingerprint);
    await this.changed();
    await this.pipelinesChanged();
    return { ...summary, dropped };
  }

  private async droppedBy(plan: ConfigurationPlan): Promise<string[]> {
    const fromConfig = <T extends { source: string }>(rows: T[]) =>
      rows.filter((r) => r.source === 'config');
    const kept = {
      repositories: new Set(plan.repositories.map((r) => r.name)),
      packages: new Set(plan.packages.map((p) => `${p.repository}/${p.name}`)),
      pipelines: new Set(plan.pipelines.map((p) => p.name)),
    };
    return [
      ...fromConfig(await this.store.listPipelines())
        .filter((p) => !kept.pipelines.has(p.name))
        .map((p) => `pipeline ${p.name}`),
      ...fromConfig(await this.store.listPackages())
        .filter((p) => !kept.packages.has(`${p.repository}/${p.name}`))
        .map((p) => `package ${p.repository}/${p.name}`),
      ...fromConfig(await this.store.listRepositories())
        .filter((r) => !kept.repositories.has(r.name))
        .map((r) => `repository ${r.name}`),
    ];
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
        ...this.verdicts.blocked(repo.plugin, pkg.fingerprint),
      });
    }
    return result;
  }

  // --- API operations -------------------------------------------------------------------

  async createRepository(input: { name: string; plugin: string; config: Record<string, string> }) {
    if (await this.store.getRepository(input.name))
      throw new ConflictError(`repository '${input.name}' exists already`);
    await putRepository(this.context, input, undefined);
    await this.changed();
  }

  async updateRepository(name: string, input: { plugin?: string; config: Record<string, string> }) {
    const existing = await this.requireRepository(name);
    await putRepository(
      this.context,
      { name, plugin: input.plugin ?? existing.plugin, config: input.config },
      existing,
    );
    // Saved means validated: its packages' verdicts are the fresh ones.
    for (const p of await this.store.listPackages(name)) this.verdicts.saved(p.fingerprint);
    await this.changed();
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
    await putPackage(this.context, input, undefined);
    await this.changed();
  }

  async updatePackage(
    repository: string,
    name: string,
    input: { config: Record<string, string>; pollInterval?: string },
  ) {
    const existing = await this.store.getPackage(repository, name);
    if (!existing) throw new NotFoundError(`no package '${repository}/${name}'`);
    await putPackage(this.context, { repository, name, ...input }, existing);
    const saved = await this.store.getPackage(repository, name);
    if (saved) this.verdicts.saved(saved.fingerprint);
    this.verdicts.saved(existing.fingerprint);
    await this.changed();
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
    refuseTemplate(definition);
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
      materialsOf: (upstream) => others.get(upstream)?.materials,
    });
    if (issues.length > 0) throw new ConfigInvalidError(issues);
    // A PUT replaces the whole definition: a secure variable it leaves out is removed, one it
    // gives again unchanged keeps its sealed form.
    const previous = existing ? definitionOf(existing) : undefined;
    await this.store.savePipeline({
      name: pipeline.name,
      definition: toStored(this.sealed.pipeline(pipeline, previous)),
      source: 'api',
    });
    await this.pipelinesChanged();
  }

  async deletePipeline(name: string) {
    if (!(await this.store.getPipeline(name))) throw new NotFoundError(`no pipeline '${name}'`);
    const downstream = pipelinesDownstreamOf(await this.pipelines(), name);
    if (downstream.length > 0)
      throw new ConflictError(`pipeline '${name}' is upstream of ${downstream.join(', ')}`);
    await this.store.deletePipeline(name);
    await this.pipelinesChanged();
  }

  /** A sealed secure variable opened, for a job's environment. */
  openSecret(sealed: string): string {
    return this.sealed.openValue(sealed);
  }

  requireRepository(name: string): Promise<RepositoryRow> {
    return requireRepository(this.store, name);
  }

  /** A repository's plugin and configuration, secrets opened (for a connection check). */
  async openedRepository(name: string): Promise<{ plugin: string; config: Configuration }> {
    const repo = await this.requireRepository(name);
    return { plugin: repo.plugin, config: this.sealed.open(repo.config, repo.secrets) };
  }

  // --- internals --------------------------------------------------------------------------

  private async pipelines() {
    return (await this.store.listPipelines()).map((p) => ({
      name: p.name,
      definition: definitionOf(p),
    }));
  }

  private async pipelinesChanged(): Promise<void> {
    for (const listener of this.pipelineListeners) await listener();
  }

  private async changed(): Promise<void> {
    await this.ensureMaterials();
    for (const listener of this.listeners) await listener();
  }
}

/**
 * Templates are declared in the configuration file and expanded when it is read: a pipeline made
 * over the API gives its own stages, and no `template` or `parameters`.
 */
function refuseTemplate(definition: unknown): void {
  if (typeof definition !== 'object' || definition === null) return;
  const keys = ['template', 'parameters'].filter((k) => k in definition);
  if (keys.length > 0)
    throw new ConfigInvalidError(
      keys.map((key) => ({
        key,
        message:
          'templates and parameters are declared in the configuration file (templates:, hoist apply); a pipeline made over the API gives its own stages',
      })),
    );
}
