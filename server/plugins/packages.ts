import {
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { PLUGIN_API_VERSION, PLUGIN_ID } from 'hoist';
import { z } from 'zod';
import { extractTarball, PluginPackageError, type TarballLimits } from './tarball.ts';

/** `hoist-plugin.json`, or the `hoist` field of a package.json. */
export const PluginManifest = z
  .strictObject({
    id: z.string().regex(PLUGIN_ID, 'must be kebab-case, e.g. my-repo'),
    version: z.string().min(1),
    name: z.string().optional(),
    apiVersion: z.number().int().optional(),
    exec: z.string().min(1).optional(),
    /** How an executable is run: one process per message (default), or one long-lived process. */
    protocol: z.enum(['process', 'lines']).optional(),
    main: z.string().min(1).optional(),
  })
  .refine((m) => Boolean(m.exec) !== Boolean(m.main), 'needs exactly one of "exec" or "main"');
export type PluginManifest = z.infer<typeof PluginManifest>;

/** An installed plugin as `hoist plugins list` shows it; `error` when its manifest is unreadable. */
export interface InstalledPlugin extends PluginManifest {
  dir: string;
  error?: string;
}

/** A plugin package was refused: nothing was installed. */
export { PluginPackageError };

export const pluginsDir = (dataDir: string) => join(dataDir, 'plugins');

/** Reads and checks the manifest of an unpacked plugin. */
export async function readManifest(dir: string): Promise<PluginManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'hoist-plugin.json'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PluginPackageError(`hoist-plugin.json is not valid JSON`);
    try {
      raw = (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { hoist?: unknown })
        .hoist;
    } catch {
      raw = undefined;
    }
    if (raw === undefined)
      throw new PluginPackageError('no hoist-plugin.json, and no "hoist" field in package.json');
  }
  const parsed = PluginManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PluginPackageError(
      `invalid plugin manifest: ${issue?.path.join('.') || '(manifest)'}: ${issue?.message}`,
    );
  }
  if (parsed.data.apiVersion !== undefined && parsed.data.apiVersion !== PLUGIN_API_VERSION) {
    throw new PluginPackageError(
      `the plugin needs plugin API ${parsed.data.apiVersion}; this Hoist speaks ${PLUGIN_API_VERSION}`,
    );
  }
  const entry = parsed.data.exec ?? parsed.data.main ?? '';
  const target = resolve(dir, entry);
  if (!target.startsWith(resolve(dir) + sep))
    throw new PluginPackageError(`"${entry}" points outside the plugin`);
  return parsed.data;
}

/**
 * Installs a plugin from a `.tgz` (as `npm pack` makes it) or a folder into
 * `<data>/plugins/<id>`, replacing an older version. Refused whole, leaving the plugins folder as
 * it was, on absolute paths, `..`, links or devices, a missing or invalid manifest, an id of a
 * bundled plugin, or an unsupported plugin API version.
 */
export async function installPlugin(
  source: string,
  dataDir: string,
  bundledIds: readonly string[],
  limits?: TarballLimits,
): Promise<InstalledPlugin> {
  const root = pluginsDir(dataDir);
  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(join(root, '.install-'));
  try {
    const info = await lstat(source).catch(() => {
      throw new PluginPackageError(`cannot read ${source}`);
    });
    if (info.isDirectory()) await copyFolder(source, staging);
    else await extractTarball(source, staging, limits);
    const manifest = await readManifest(staging);
    if (bundledIds.includes(manifest.id)) {
      throw new PluginPackageError(`'${manifest.id}' is the id of a bundled plugin`);
    }
    const target = join(root, manifest.id);
    const old = `${target}.old-${process.pid}`;
    await rm(old, { recursive: true, force: true });
    await rename(target, old).catch(() => {});
    await rename(staging, target);
    await rm(old, { recursive: true, force: true });
    await writeIndex(dataDir, [...new Set([...(await readIndex(dataDir)), manifest.id])]);
    return { ...manifest, dir: target };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Removes an installed plugin. */
export async function removePlugin(
  id: string,
  dataDir: string,
  bundledIds: readonly string[],
): Promise<void> {
  if (bundledIds.includes(id))
    throw new PluginPackageError(`'${id}' is bundled with Hoist and cannot be removed`);
  const ids = await readIndex(dataDir);
  if (!ids.includes(id)) throw new PluginPackageError(`no installed plugin '${id}'`);
  await writeIndex(
    dataDir,
    ids.filter((i) => i !== id),
  );
  await rm(join(pluginsDir(dataDir), id), { recursive: true, force: true });
}

/**
 * The installed plugins, from the explicit list in `<data>/plugins/installed.json`. One whose
 * manifest cannot be read is listed with its `error` (and an empty version): it stops nothing else.
 */
export async function listInstalled(dataDir: string): Promise<InstalledPlugin[]> {
  const result: InstalledPlugin[] = [];
  for (const id of await readIndex(dataDir)) {
    const dir = join(pluginsDir(dataDir), id);
    try {
      result.push({ ...(await readManifest(dir)), dir });
    } catch (error) {
      result.push({ id, version: '', dir, error: (error as Error).message });
    }
  }
  return result;
}

async function readIndex(dataDir: string): Promise<string[]> {
  try {
    return JSON.parse(
      await readFile(join(pluginsDir(dataDir), 'installed.json'), 'utf8'),
    ) as string[];
  } catch {
    return [];
  }
}

async function writeIndex(dataDir: string, ids: string[]): Promise<void> {
  const file = join(pluginsDir(dataDir), 'installed.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(ids.sort(), null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

async function copyFolder(source: string, target: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink())
        throw new PluginPackageError(
          `${path} is a link; plugin folders may hold only files and folders`,
        );
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name === '.git') continue;
        await walk(path);
      } else if (!entry.isFile()) throw new PluginPackageError(`${path} is not a regular file`);
    }
  };
  await walk(source);
  await cp(source, target, {
    recursive: true,
    filter: (src) => !src.includes(`${sep}node_modules`) && !src.includes(`${sep}.git`),
  });
}
