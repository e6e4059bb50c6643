import { readFileSync } from 'node:fs';
import { mkdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PLUGIN_API_VERSION, type RepositoryPlugin } from 'hoist';
import { loadExecPlugin } from './exec-plugin.ts';
import { markPluginModule } from './isolated-plugin.ts';
import { type InstalledPlugin, listInstalled, PluginPackageError, pluginsDir } from './packages.ts';

/** A plugin as `hoist plugins list` and `GET /api/plugins` report it. */
export interface PluginStatus {
  id: string;
  version: string;
  name: string;
  kind: 'bundled' | 'exec' | 'javascript';
  state: 'loaded' | 'failed';
  /** Why it failed to load, one line. */
  error?: string;
}

/** The installed plugins that loaded, and the state of every installed one. */
export interface LoadedPlugins {
  plugins: RepositoryPlugin[];
  status: PluginStatus[];
}

/**
 * Loads the installed plugins (executables and JavaScript modules) for the registry, each on
 * its own: one that fails to load (an unreadable manifest, a module that throws, an executable
 * that answers its configuration badly) is reported with its error and stops nothing else.
 * `only` loads that one plugin (the CLI's `check --plugin`).
 */
export async function loadInstalledPlugins(
  dataDir: string,
  options: { only?: string } = {},
): Promise<LoadedPlugins> {
  const installed = (await listInstalled(dataDir)).filter(
    (p) => options.only === undefined || p.id === options.only,
  );
  if (installed.some((p) => p.main && !p.error)) await linkHoist(dataDir);
  const results = await Promise.all(
    installed.map(async (p) => {
      const kind: PluginStatus['kind'] = p.main ? 'javascript' : 'exec';
      const base = { id: p.id, version: p.version, name: p.name ?? p.id, kind };
      if (p.error) return { status: { ...base, state: 'failed' as const, error: p.error } };
      try {
        const plugin = await loadOne(p);
        return {
          plugin,
          status: { ...base, name: p.name ?? plugin.displayName, state: 'loaded' as const },
        };
      } catch (error) {
        const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
        return { status: { ...base, state: 'failed' as const, error: message } };
      }
    }),
  );
  return {
    plugins: results.flatMap((r) => ('plugin' in r && r.plugin ? [r.plugin] : [])),
    status: results.map((r) => r.status),
  };
}

async function loadOne(plugin: InstalledPlugin): Promise<RepositoryPlugin> {
  if (plugin.exec) {
    return loadExecPlugin({
      id: plugin.id,
      version: plugin.version,
      ...(plugin.name ? { name: plugin.name } : {}),
      executable: resolve(plugin.dir, plugin.exec),
      cwd: plugin.dir,
      ...(plugin.protocol ? { protocol: plugin.protocol } : {}),
    });
  }
  // A reinstalled plugin is a new module: the query makes the import read it again.
  const main = resolve(plugin.dir, plugin.main as string);
  const version = (await stat(main).catch(() => undefined))?.mtimeMs ?? 0;
  const url = `${pathToFileURL(main).href}?v=${version}`;
  const module = (await import(url)) as Record<string, unknown>;
  const found = [module.default, ...Object.values(module)].find(
    (v): v is RepositoryPlugin =>
      typeof v === 'object' &&
      v !== null &&
      (v as RepositoryPlugin).apiVersion === PLUGIN_API_VERSION &&
      (v as RepositoryPlugin).id === plugin.id,
  );
  if (!found) {
    throw new PluginPackageError(
      `${plugin.main} of plugin '${plugin.id}' exports no plugin with that id made with defineRepositoryPlugin`,
    );
  }
  // A worker thread loads the same module again to run the plugin's calls off the event loop.
  markPluginModule(found, url);
  return found;
}

/** The root of the running Hoist package (the folder holding its package.json). */
const HOIST_ROOT = findPackageRoot(fileURLToPath(new URL('.', import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'hoist') return dir;
    } catch {
      // No package.json here: go up.
    }
  }
  return from;
}

/**
 * JavaScript plugins import `hoist` as a peer: `<data>/plugins/node_modules/hoist` links to the
 * Hoist that runs them, so a plugin never carries a second copy of the contract.
 */
async function linkHoist(dataDir: string): Promise<void> {
  const link = join(pluginsDir(dataDir), 'node_modules', 'hoist');
  const current = await readlink(link).catch(() => undefined);
  if (current === HOIST_ROOT) return;
  await mkdir(dirname(link), { recursive: true });
  await rm(link, { force: true, recursive: true });
  await symlink(HOIST_ROOT, link, 'dir');
}
