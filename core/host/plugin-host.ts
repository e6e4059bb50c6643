import {
  ConfigInvalidError,
  HoistError,
  PluginError,
  PluginNotFoundError,
  PluginTimeoutError,
  type ValidationIssue,
} from '../errors.ts';
import { validateAgainstProperties, withDefaults } from '../plugin/configuration.ts';
import { revisionProblem } from '../plugin/revision.ts';
import type {
  Configuration,
  ConnectionResult,
  HttpClient,
  Logger,
  MaterialState,
  PluginContext,
  PreviousRevision,
  RepositoryPlugin,
  Revision,
} from '../plugin/types.ts';
import { createMemoryState } from './memory-state.ts';
import type { PluginRegistry } from './registry.ts';
import { silentLogger } from './silent-logger.ts';

/** Default time limit of one plugin call. */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;

/** What the host needs to make plugin calls. */
export interface PluginHostOptions {
  registry: PluginRegistry;
  http: HttpClient;
  logger?: Logger;
  /** Time limit of each call unless the call says otherwise; default 120 s. */
  timeoutMs?: number;
  now?: () => Date;
  /** Told of every plugin call as it ends (the server counts them). */
  hooks?: PluginCallHooks;
}

/** One plugin call as it ended: `errorCode` is null when it answered. */
export interface PluginCallEvent {
  pluginId: string;
  call: string;
  seconds: number;
  errorCode: string | null;
}

/** What the host tells of its calls (what a hook throws is ignored). */
export interface PluginCallHooks {
  callEnded(event: PluginCallEvent): void;
}

/** Per-call options. */
export interface CallOptions {
  /** The material's state; a fresh in-memory one when omitted. */
  state?: MaterialState;
  /** Aborts the call (e.g. at shutdown). */
  signal?: AbortSignal;
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Calls plugins safely: validates configurations on request (core checks, then the plugin's)
 * and before connection checks; before polling calls only core's checks run. It runs
 * each call under a time limit with an AbortSignal, checks what the plugin returns against the
 * contract, and turns anything a plugin throws into a `HoistError` tagged with its id. A plugin
 * can fail its call; it cannot take the host down.
 */
export interface PluginHost {
  readonly registry: PluginRegistry;
  /** Every problem of a repository configuration, core's and the plugin's. */
  validateRepository(pluginId: string, repository: Configuration): Promise<ValidationIssue[]>;
  /** Every problem of a package configuration (and of its repository's). */
  validatePackage(
    pluginId: string,
    repository: Configuration,
    pkg: Configuration,
  ): Promise<ValidationIssue[]>;
  checkRepositoryConnection(
    pluginId: string,
    repository: Configuration,
    options?: CallOptions,
  ): Promise<ConnectionResult>;
  checkPackageConnection(
    pluginId: string,
    repository: Configuration,
    pkg: Configuration,
    options?: CallOptions,
  ): Promise<ConnectionResult>;
  /**
   * The newest revision. Only core's checks run first (pure, no plugin call): the plugin's own
   * validation runs when a configuration is saved (`validate*`), not on every poll, as in GoCD.
   * @throws ConfigInvalidError before calling the plugin when core's checks fail.
   */
  latestRevision(
    pluginId: string,
    repository: Configuration,
    pkg: Configuration,
    options?: CallOptions,
  ): Promise<Revision | null>;
  /** As `latestRevision`: core's checks only, then one plugin call. */
  latestRevisionsSince(
    pluginId: string,
    repository: Configuration,
    pkg: Configuration,
    previous: PreviousRevision,
    options?: CallOptions,
  ): Promise<Revision[]>;
  /** Can the plugin look up one revision by its label (`revisionByLabel`)? */
  canLookUpRevisions(pluginId: string): boolean;
  /**
   * The revision with exactly this label, or `null` when the repository does not have it.
   * @throws PluginError when the plugin cannot look revisions up, or answers another label.
   */
  revisionByLabel(
    pluginId: string,
    repository: Configuration,
    pkg: Configuration,
    label: string,
    options?: CallOptions,
  ): Promise<Revision | null>;
}

type Shape<T> = (value: unknown) => { value: T } | { problem: string };

const ConnectionResultShape: Shape<ConnectionResult> = (value) => {
  const v = value as ConnectionResult | null;
  if (typeof v?.ok !== 'boolean') return { problem: 'ok: must be true or false' };
  if (!Array.isArray(v.messages) || !v.messages.every((m) => typeof m === 'string')) {
    return { problem: 'messages: must be a list of strings' };
  }
  return { value: { ok: v.ok, messages: v.messages } };
};

const IssuesShape: Shape<ValidationIssue[]> = (value) => {
  if (!Array.isArray(value)) return { problem: 'validation issues must be a list' };
  for (const [i, issue] of value.entries()) {
    if (typeof issue?.key !== 'string' || typeof issue?.message !== 'string') {
      return { problem: `${i}: an issue is {key, message} with two strings` };
    }
  }
  return { value: value as ValidationIssue[] };
};

const RevisionShape: Shape<Revision> = (value) => {
  const problem = revisionProblem(value);
  return problem ? { problem } : { value: value as Revision };
};

const RevisionsShape: Shape<Revision[]> = (value) => {
  if (!Array.isArray(value)) return { problem: 'must be a list of revisions' };
  for (const [i, item] of value.entries()) {
    const problem = revisionProblem(item);
    if (problem) return { problem: `${i}.${problem}` };
  }
  return { value: value as Revision[] };
};

/** Creates a plugin host over a registry. */
export function createPluginHost(options: PluginHostOptions): PluginHost {
  const { registry, http } = options;
  const hostLogger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());

  async function invoke<T>(
    plugin: RepositoryPlugin,
    call: string,
    callOptions: CallOptions | undefined,
    run: (ctx: PluginContext) => Promise<T> | T,
  ): Promise<T> {
    const timeoutMs = callOptions?.timeoutMs ?? options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const controller = new AbortController();
    const outer = callOptions?.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    const ctx: PluginContext = {
      http,
      logger: callOptions?.logger ?? hostLogger,
      signal: controller.signal,
      now,
      state: callOptions?.state ?? createMemoryState(),
    };
    const timer = setTimeout(() => {
      controller.abort(
        new PluginTimeoutError(
          `Plugin '${plugin.id}' did not answer ${call} within ${formatMs(timeoutMs)}`,
          { pluginId: plugin.id },
        ),
      );
    }, timeoutMs);
    // Settles the call as soon as it is aborted, whether or not the plugin honours the signal.
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(abortError(controller.signal.reason, plugin.id, call));
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    const started = performance.now();
    let errorCode: string | null = null;
    try {
      // Promise.resolve().then() turns a synchronous throw into a rejection we can tag.
      return await Promise.race([Promise.resolve().then(() => run(ctx)), aborted]);
    } catch (error) {
      const tagged = tagError(error, plugin.id, call);
      errorCode = tagged.code;
      throw tagged;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      const seconds = (performance.now() - started) / 1000;
      try {
        options.hooks?.callEnded({ pluginId: plugin.id, call, seconds, errorCode });
      } catch {
        // Counting a call never changes its answer.
      }
    }
  }

  async function repositoryIssues(plugin: RepositoryPlugin, repository: Configuration) {
    const issues = validateAgainstProperties(plugin.repositoryProperties, repository);
    if (plugin.validateRepository) {
      const own = await invoke(plugin, 'validateRepository', undefined, () =>
        plugin.validateRepository?.(repoConfig(plugin, repository)),
      );
      issues.push(...checkShape(IssuesShape, own ?? [], plugin.id, 'validateRepository'));
    }
    return dedupe(issues);
  }

  async function packageIssues(
    plugin: RepositoryPlugin,
    repository: Configuration,
    pkg: Configuration,
  ) {
    const issues = validateAgainstProperties(plugin.packageProperties, pkg);
    if (plugin.validatePackage) {
      const own = await invoke(plugin, 'validatePackage', undefined, () =>
        plugin.validatePackage?.(repoConfig(plugin, repository), pkgConfig(plugin, pkg)),
      );
      issues.push(...checkShape(IssuesShape, own ?? [], plugin.id, 'validatePackage'));
    }
    return dedupe(issues);
  }

  /** Core's checks only (pure): the plugin's own validation is for saving, not for polling. */
  function requireValid(plugin: RepositoryPlugin, repository: Configuration, pkg: Configuration) {
    const issues = dedupe([
      ...validateAgainstProperties(plugin.repositoryProperties, repository),
      ...validateAgainstProperties(plugin.packageProperties, pkg),
    ]);
    if (issues.length > 0) throw new ConfigInvalidError(issues, { pluginId: plugin.id });
  }

  /** A connection check never throws for what went wrong: it answers a failure saying what. */
  async function connectionCheck(run: () => Promise<ConnectionResult>): Promise<ConnectionResult> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof PluginNotFoundError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, messages: [firstLine(message)] };
    }
  }

  return {
    registry,
    validateRepository: (id, repository) => repositoryIssues(registry.get(id), repository),
    async validatePackage(id, repository, pkg) {
      const plugin = registry.get(id);
      return dedupe([
        ...(await repositoryIssues(plugin, repository)),
        ...(await packageIssues(plugin, repository, pkg)),
      ]);
    },
    async checkRepositoryConnection(id, repository, callOptions) {
      const plugin = registry.get(id);
      return connectionCheck(async () => {
        const issues = await repositoryIssues(plugin, repository);
        if (issues.length > 0) return invalidConnection(issues);
        const result = await invoke(plugin, 'checkRepositoryConnection', callOptions, (ctx) =>
          plugin.checkRepositoryConnection(repoConfig(plugin, repository), ctx),
        );
        return checkShape(ConnectionResultShape, result, id, 'checkRepositoryConnection');
      });
    },
    async checkPackageConnection(id, repository, pkg, callOptions) {
      const plugin = registry.get(id);
      return connectionCheck(async () => {
        const issues = [
          ...(await repositoryIssues(plugin, repository)),
          ...(await packageIssues(plugin, repository, pkg)),
        ];
        if (issues.length > 0) return invalidConnection(issues);
        const result = await invoke(plugin, 'checkPackageConnection', callOptions, (ctx) =>
          plugin.checkPackageConnection(
            repoConfig(plugin, repository),
            pkgConfig(plugin, pkg),
            ctx,
          ),
        );
        return checkShape(ConnectionResultShape, result, id, 'checkPackageConnection');
      });
    },
    async latestRevision(id, repository, pkg, callOptions) {
      const plugin = registry.get(id);
      await requireValid(plugin, repository, pkg);
      const result = await invoke(plugin, 'latestRevision', callOptions, (ctx) =>
        plugin.latestRevision(repoConfig(plugin, repository), pkgConfig(plugin, pkg), ctx),
      );
      if (result === null) return null;
      return checkShape(RevisionShape, result, id, 'latestRevision');
    },
    async latestRevisionsSince(id, repository, pkg, previous, callOptions) {
      const plugin = registry.get(id);
      await requireValid(plugin, repository, pkg);
      const result = await invoke(plugin, 'latestRevisionsSince', callOptions, (ctx) =>
        plugin.latestRevisionsSince(
          repoConfig(plugin, repository),
          pkgConfig(plugin, pkg),
          previous,
          ctx,
        ),
      );
      return checkShape(RevisionsShape, result, id, 'latestRevisionsSince');
    },
    canLookUpRevisions: (id) => typeof registry.get(id).revisionByLabel === 'function',
    async revisionByLabel(id, repository, pkg, label, callOptions) {
      const plugin = registry.get(id);
      const lookUp = plugin.revisionByLabel;
      if (!lookUp) {
        throw new PluginError(`Plugin '${id}' cannot look up a revision by its label`, {
          pluginId: id,
        });
      }
      await requireValid(plugin, repository, pkg);
      const result = await invoke(plugin, 'revisionByLabel', callOptions, (ctx) =>
        lookUp(repoConfig(plugin, repository), pkgConfig(plugin, pkg), label, ctx),
      );
      if (result === null) return null;
      const revision = checkShape(RevisionShape, result, id, 'revisionByLabel');
      if (revision.revision !== label) {
        throw new PluginError(
          `Plugin '${id}' answered revisionByLabel('${label}') with '${revision.revision}'`,
          { pluginId: id },
        );
      }
      return revision;
    },
  };
}

/** The configuration a plugin's call receives: defaults filled in, unless it asked for none. */
function repoConfig(plugin: RepositoryPlugin, config: Configuration): Configuration {
  return plugin.configuration === 'as-configured'
    ? config
    : withDefaults(plugin.repositoryProperties, config);
}

function pkgConfig(plugin: RepositoryPlugin, config: Configuration): Configuration {
  return plugin.configuration === 'as-configured'
    ? config
    : withDefaults(plugin.packageProperties, config);
}

function checkShape<T>(shape: Shape<T>, value: unknown, pluginId: string, call: string): T {
  const checked = shape(value);
  if ('value' in checked) return checked.value;
  const [where, ...rest] = checked.problem.split(': ');
  const message = rest.length > 0 ? ` at ${where}: ${rest.join(': ')}` : `: ${checked.problem}`;
  throw new PluginError(`Plugin '${pluginId}' returned an invalid result from ${call}${message}`, {
    pluginId,
  });
}

function abortError(reason: unknown, pluginId: string, call: string): HoistError {
  if (reason instanceof HoistError) return reason;
  return new PluginError(`Call to plugin '${pluginId}' (${call}) was cancelled`, { pluginId });
}

function tagError(error: unknown, pluginId: string, call: string): HoistError {
  if (error instanceof HoistError) {
    error.pluginId ??= pluginId;
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PluginError(`Plugin '${pluginId}' failed in ${call}: ${firstLine(message)}`, {
    cause: error,
    pluginId,
  });
}

function invalidConnection(issues: ValidationIssue[]): ConnectionResult {
  return {
    ok: false,
    messages: issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message)),
  };
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.key}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 500);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
