import { ConfigInvalidError, type HoistError, PluginError } from 'hoist';
import type { Store } from '../store/store.ts';
import type { ChangeContext } from './changes.ts';

/**
 * What keeps a material from being polled, decided outside the poll: its plugin failed to load,
 * or its plugin (installed or upgraded since the configuration was saved) refused the
 * configuration. Polls send no message for such a material; saving it again clears its verdict.
 */
export class MaterialVerdicts {
  /** Packages whose configuration an installed or upgraded plugin refused, by fingerprint. */
  private readonly invalid = new Map<string, ConfigInvalidError>();
  /** Installed plugins that failed to load, with why. */
  unavailable: ReadonlyMap<string, string> = new Map();

  constructor(private readonly ctx: ChangeContext & { store: Store }) {}

  /** Why the material of this plugin and fingerprint is not polled, if it is not. */
  blocked(plugin: string, fingerprint: string): { blocked?: HoistError } {
    const failed = this.unavailable.get(plugin);
    if (failed !== undefined) {
      const error = new PluginError(`plugin '${plugin}' failed to load: ${failed}`, {
        pluginId: plugin,
      });
      return { blocked: error };
    }
    const invalid = this.invalid.get(fingerprint);
    return invalid ? { blocked: invalid } : {};
  }

  /** The package was saved (so validated): its verdict is gone. */
  saved(fingerprint: string): void {
    this.invalid.delete(fingerprint);
  }

  /**
   * Validates stored configurations again with their plugin: one validation per repository and
   * package. Answers how many packages are refused now.
   */
  async revalidate(which: { plugins?: string[]; source?: 'api' | 'config' }): Promise<number> {
    const { store, host, sealed } = this.ctx;
    const repos = (await store.listRepositories()).filter(
      (r) =>
        host.registry.has(r.plugin) &&
        (!which.plugins || which.plugins.includes(r.plugin)) &&
        (!which.source || r.source === which.source),
    );
    for (const repo of repos) {
      const repoConfig = sealed.open(repo.config, repo.secrets);
      for (const pkg of await store.listPackages(repo.name)) {
        const pkgConfig = sealed.open(pkg.config, pkg.secrets);
        // validatePackage reports the repository's problems too.
        const issues = await host.validatePackage(repo.plugin, repoConfig, pkgConfig);
        if (issues.length > 0)
          this.invalid.set(
            pkg.fingerprint,
            new ConfigInvalidError(issues, { pluginId: repo.plugin }),
          );
        else this.invalid.delete(pkg.fingerprint);
      }
    }
    return this.invalid.size;
  }
}
