import {
  ConfigInvalidError,
  createPluginHost,
  createReloadableRegistry,
  type Logger,
  type PluginCallHooks,
  type PluginHost,
  type RepositoryPlugin,
} from 'hoist';
import { createHttpClient, type HostHttpClient } from '../agent/http/http-client.ts';
import { bundledPlugins } from '../plugins/index.ts';
import { isolatePlugin, workerSource } from './plugins/isolated-plugin.ts';
import { createWorkerPool, type PoolStats, type WorkerPool } from './plugins/worker-pool.ts';

/** Heap limit of one isolated plugin call unless `HOIST_PLUGIN_MEMORY_MB` says otherwise. */
export const DEFAULT_PLUGIN_MEMORY_MB = 512;
/** Isolated calls at once (the poller's checks at once); further calls wait for a worker. */
export const DEFAULT_PLUGIN_WORKERS = 16;

/** A plugin host with its HTTP client, as the CLI and the server use it. */
export interface PluginRuntime {
  host: PluginHost;
  http: HostHttpClient;
  /** Does this runtime run plugin calls in worker threads? */
  readonly isolated: boolean;
  /** The worker threads now (all zero when not isolated). */
  workers(): PoolStats;
  /** Replaces the extra plugins (the bundled ones stay); refused whole when one is invalid. */
  reload(extraPlugins: readonly RepositoryPlugin[]): void;
  close(): Promise<void>;
}

/** Options of the runtime. */
export interface PluginRuntimeOptions {
  /** Plugins besides the bundled ones (installed plugins, tests). */
  extraPlugins?: readonly RepositoryPlugin[];
  logger?: Logger;
  timeoutMs?: number;
  userAgent?: string;
  /**
   * Run the I/O and parsing calls of the bundled plugins and of installed JavaScript plugins in
   * worker threads, each call under a memory limit and ended (the thread terminated) at its
   * deadline. Default: on when Hoist runs compiled (`dist/`, as `hoist serve` does; `hoist check`
   * asks for it only with `HOIST_ISOLATE_PLUGINS=1`), off when it runs from its TypeScript sources (the unit tests), which a worker cannot load.
   */
  isolate?: boolean;
  /** Heap limit of each isolated call in MiB; default `$HOIST_PLUGIN_MEMORY_MB` or 512. */
  memoryMb?: number;
  /** Isolated calls at once; default 16. */
  workers?: number;
  /** Upper bound of every plugin call, whatever the caller asks; default `$HOIST_PLUGIN_TIMEOUT` (s). */
  maxCallMs?: number;
  /** Deadline of a whole HTTP transfer; default `$HOIST_TRANSFER_TIMEOUT` (s) or 120 s. */
  transferTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Told of every plugin call as it ends (the server's metrics). */
  hooks?: PluginCallHooks;
}

const WORKER_URL = new URL('./plugins/plugin-worker.js', import.meta.url);
/** Compiled: this module is JavaScript, and the worker beside it can be loaded. */
const COMPILED = import.meta.url.endsWith('.js');

/** Builds the registry from the bundled list (plus any extra plugins) and a host over it. */
export function createPluginRuntime(options: PluginRuntimeOptions = {}): PluginRuntime {
  const env = options.env ?? process.env;
  const transferTimeoutMs =
    options.transferTimeoutMs ?? seconds(env, 'HOIST_TRANSFER_TIMEOUT', 3600);
  const maxCallMs = options.maxCallMs ?? seconds(env, 'HOIST_PLUGIN_TIMEOUT', 86_400);
  const memoryMb =
    options.memoryMb ?? positive(env, 'HOIST_PLUGIN_MEMORY_MB', 65_536) ?? DEFAULT_PLUGIN_MEMORY_MB;
  const userAgent = options.userAgent ?? 'hoist';
  const http = createHttpClient({
    userAgent,
    ...(transferTimeoutMs ? { transferTimeoutMs } : {}),
  });
  // HOIST_ISOLATE_PLUGINS=0 runs every call on the event loop, as before (to compare, or diagnose).
  const isolate = (options.isolate ?? env.HOIST_ISOLATE_PLUGINS !== '0') && COMPILED;
  const pool: WorkerPool | undefined = isolate
    ? createWorkerPool({
        workerUrl: WORKER_URL,
        setup: { userAgent, transferTimeoutMs },
        maxWorkers: options.workers ?? DEFAULT_PLUGIN_WORKERS,
        memoryMb,
      })
    : undefined;
  const prepare = (plugins: readonly RepositoryPlugin[]) =>
    plugins.map((plugin) => {
      const source = pool && workerSource(plugin, bundledPlugins);
      return source && pool ? isolatePlugin(plugin, source, pool) : plugin;
    });
  const registry = createReloadableRegistry(
    prepare([...bundledPlugins, ...(options.extraPlugins ?? [])]),
  );
  const host = createPluginHost({
    registry,
    http,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  return {
    host: maxCallMs ? capTimeouts(host, maxCallMs) : host,
    http,
    isolated: Boolean(pool),
    workers: () => pool?.stats() ?? { workers: 0, busy: 0, queued: 0, started: 0, calls: 0 },
    reload: (extra) => registry.replace(prepare([...bundledPlugins, ...extra])),
    close: async () => {
      await pool?.close();
      await http.close();
    },
  };
}

/** The host with every call's time limit at most `maxMs`. */
function capTimeouts(host: PluginHost, maxMs: number): PluginHost {
  type Options = { timeoutMs?: number } | undefined;
  const cap = <T extends Options>(o: T) => ({
    ...o,
    timeoutMs: Math.min(o?.timeoutMs ?? maxMs, maxMs),
  });
  return {
    ...host,
    registry: host.registry,
    checkRepositoryConnection: (id, repo, o) => host.checkRepositoryConnection(id, repo, cap(o)),
    checkPackageConnection: (id, repo, pkg, o) =>
      host.checkPackageConnection(id, repo, pkg, cap(o)),
    latestRevision: (id, repo, pkg, o) => host.latestRevision(id, repo, pkg, cap(o)),
    latestRevisionsSince: (id, repo, pkg, previous, o) =>
      host.latestRevisionsSince(id, repo, pkg, previous, cap(o)),
    revisionByLabel: (id, repo, pkg, label, o) =>
      host.revisionByLabel(id, repo, pkg, label, cap(o)),
  };
}

/** A duration in seconds from the environment, in ms; undefined when unset. */
function seconds(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  const value = positive(env, name, max);
  return value === undefined ? undefined : Math.round(value * 1000);
}

function positive(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!(value > 0 && value <= max)) {
    throw new ConfigInvalidError([
      { key: name, message: `must be a number from more than 0 to ${max}, got '${text}'` },
    ]);
  }
  return value;
}
