import type { JsonValue, MaterialState, PluginContext, RepositoryPlugin } from 'hoist';
import type { WorkerPool } from './worker-pool.ts';
import { ISOLATED_CALLS, type IsolatedCall, type PluginSource } from './worker-protocol.ts';

/**
 * JavaScript plugins loaded from a module file, and where: such a plugin can be loaded again in
 * a worker thread. Filled by the loader of installed plugins.
 */
const moduleOf = new WeakMap<RepositoryPlugin, string>();

/** Records that `plugin` is the export of the module at `url` (with its id). */
export function markPluginModule(plugin: RepositoryPlugin, url: string): void {
  moduleOf.set(plugin, url);
}

/** Where a worker can load the plugin from, or undefined when it can only run in process. */
export function workerSource(
  plugin: RepositoryPlugin,
  bundled: readonly RepositoryPlugin[],
): PluginSource | undefined {
  if (bundled.includes(plugin)) return { kind: 'bundled', id: plugin.id };
  const url = moduleOf.get(plugin);
  return url ? { kind: 'module', id: plugin.id, url } : undefined;
}

/**
 * The same plugin with its I/O and parsing calls (connection checks, latest revisions, the
 * lookup by label) run in the pool's workers. Validation stays in process: it is pure and quick.
 * The material state is copied in and, when the call succeeds, its changes copied back.
 */
export function isolatePlugin(
  plugin: RepositoryPlugin,
  source: PluginSource,
  pool: WorkerPool,
): RepositoryPlugin {
  const remote =
    (call: IsolatedCall) =>
    async (...args: unknown[]): Promise<unknown> => {
      const ctx = args.pop() as PluginContext;
      const before = snapshotOf(ctx.state);
      const { result, state } = await pool.run(
        { type: 'call', source, call, args, state: before },
        { signal: ctx.signal, logger: ctx.logger, pluginId: plugin.id },
      );
      applyChanges(ctx.state, before, state);
      return result;
    };
  const calls: Record<string, unknown> = Object.fromEntries(
    ISOLATED_CALLS.filter((call) => typeof plugin[call] === 'function').map((call) => [
      call,
      remote(call),
    ]),
  );
  // A bundled plugin answers an unchanged repository in this thread (one small request), the
  // rest in a worker. An installed plugin's code never runs in the server's thread.
  const unchanged = source.kind === 'bundled' ? plugin.latestRevisionsSinceIfUnchanged : undefined;
  const since = calls.latestRevisionsSince as RepositoryPlugin['latestRevisionsSince'] | undefined;
  if (unchanged && since) {
    calls.latestRevisionsSince = async (
      ...args: Parameters<RepositoryPlugin['latestRevisionsSince']>
    ) => (await unchanged.apply(plugin, args)) ?? since(...args);
  }
  // Consumed here: nothing else may call a plugin's code in this thread.
  return Object.freeze({
    ...plugin,
    ...calls,
    latestRevisionsSinceIfUnchanged: undefined,
  }) as RepositoryPlugin;
}

/** Every key of a state the host made (`createMemoryState`); others start empty in the worker. */
function snapshotOf(state: MaterialState): Record<string, JsonValue> {
  const snapshot = (state as { snapshot?: () => Record<string, JsonValue> }).snapshot;
  return typeof snapshot === 'function' ? snapshot.call(state) : {};
}

/** Writes what the call changed into the caller's state: set, changed and deleted keys. */
export function applyChanges(
  state: MaterialState,
  before: Record<string, JsonValue>,
  after: Record<string, JsonValue>,
): void {
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) state.delete(key);
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(value)) state.set(key, value);
  }
}
