import { PluginDefinitionError, PluginNotFoundError } from '../errors.ts';
import { PLUGIN_API_VERSION, type RepositoryPlugin } from '../plugin/types.ts';

/** Plugins by id, built explicitly from a list: no scanning, no guessing. */
export interface PluginRegistry {
  /** The plugin with this id. @throws PluginNotFoundError */
  get(id: string): RepositoryPlugin;
  has(id: string): boolean;
  /** Every plugin, in registration order. */
  list(): RepositoryPlugin[];
}

/**
 * Builds a registry from plugins made with `defineRepositoryPlugin`.
 * @throws PluginDefinitionError on a duplicate id or an unsupported plugin API version.
 */
export function createPluginRegistry(plugins: readonly RepositoryPlugin[]): PluginRegistry {
  const byId = new Map<string, RepositoryPlugin>();
  for (const plugin of plugins) {
    if (plugin?.apiVersion !== PLUGIN_API_VERSION) {
      throw new PluginDefinitionError(
        `Plugin '${plugin?.id ?? '?'}' speaks plugin API ${String(plugin?.apiVersion)}; this Hoist speaks ${PLUGIN_API_VERSION}. Declare it with defineRepositoryPlugin.`,
        { pluginId: plugin?.id },
      );
    }
    if (byId.has(plugin.id)) {
      throw new PluginDefinitionError(`Two plugins have the id '${plugin.id}'`, {
        pluginId: plugin.id,
      });
    }
    byId.set(plugin.id, plugin);
  }
  return {
    get(id) {
      const plugin = byId.get(id);
      if (!plugin) throw new PluginNotFoundError(id, [...byId.keys()]);
      return plugin;
    },
    has: (id) => byId.has(id),
    list: () => [...byId.values()],
  };
}

/** A registry whose plugins can be replaced while it is in use (a server picking up installs). */
export interface ReloadableRegistry extends PluginRegistry {
  /**
   * Replaces every plugin at once; checked as `createPluginRegistry` checks, and left as it was
   * when the new list is refused.
   * @throws PluginDefinitionError
   */
  replace(plugins: readonly RepositoryPlugin[]): void;
}

export function createReloadableRegistry(plugins: readonly RepositoryPlugin[]): ReloadableRegistry {
  let current = createPluginRegistry(plugins);
  return {
    get: (id) => current.get(id),
    has: (id) => current.has(id),
    list: () => current.list(),
    replace(next) {
      current = createPluginRegistry(next);
    },
  };
}
