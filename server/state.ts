import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigInvalidError, type PluginCallHooks, type RepositoryPlugin } from 'hoist';
import { bundledPlugins } from '../plugins/index.ts';
import { loadAdminToken } from './admin-token.ts';
import { TokenTable } from './api/auth.ts';
import { Catalog } from './catalog/catalog.ts';
import { loadInstanceId } from './cluster/instance.ts';
import { loadConfigFile, parseConfigText } from './config/load.ts';
import type { HoistConfig } from './config/schema.ts';
import { claimDataFolder } from './data-lock.ts';
import { createPluginRuntime } from './plugin-runtime.ts';
import { loadInstalledPlugins, type PluginStatus } from './plugins/load.ts';
import { listInstalled } from './plugins/packages.ts';
import { loadSecretBox, type SecretBox } from './secrets.ts';
import { openPostgresStore } from './store/postgres.ts';
import { openSqliteStore } from './store/sqlite.ts';
import type { Store } from './store/store.ts';

/** Options of `createServer`. */
export interface ServerOptions {
  /** Data folder (database, keys, admin token); default `$HOIST_DATA` or `./hoist-data`. */
  dataDir?: string;
  /** Configuration file applied at start (and by `POST /api/config/apply`). */
  configFile?: string;
  /**
   * `postgres://…` to share the work with other instances on one PostgreSQL database; default
   * `$HOIST_DATABASE_URL`, else SQLite in the data folder (one instance).
   */
  database?: string;
  /** How long a stopped instance's leases block its work; default `$HOIST_LEASE_MS` or 30 s. */
  leaseMs?: number;
  /** The URL other instances reach this one at; default `$HOIST_ADVERTISE_URL`, else the listen address. */
  advertiseUrl?: string;
  host?: string;
  /** 0 picks a free port; default 8153. */
  port?: number;
  /** pino logging: true, false, or pino options; default true. */
  logger?: boolean | Record<string, unknown>;
  /** Plugins besides the bundled ones. */
  plugins?: readonly RepositoryPlugin[];
  /** Checks at once; default 16. */
  concurrency?: number;
  /** Checks at once per repository host; default 4. */
  perHost?: number;
  env?: NodeJS.ProcessEnv;
  /** Whether the built-in local agent runs jobs: on, off or auto; default `$HOIST_LOCAL_AGENT` or auto. */
  localAgent?: string;
}

/**
 * Everything a server starts from, in order and before it serves: the configuration file read
 * and checked, the admin token and secret key, the store opened (and its secret key checked),
 * the instance id, the plugins and the configuration applied. Anything that fails closes what
 * was opened.
 */
export async function openState(
  options: ServerOptions,
  env: NodeJS.ProcessEnv,
  dataDir: string,
  version: string,
  pluginCalls?: PluginCallHooks,
) {
  // Read and check the file before touching anything.
  const pluginIds = [
    ...bundledPlugins.map((p) => p.id),
    ...(await listInstalled(dataDir).catch(() => [])).map((p) => p.id),
    ...(options.plugins ?? []).map((p) => p.id),
  ];
  let config: HoistConfig | undefined = options.configFile
    ? await loadConfigFile(options.configFile, env, pluginIds)
    : undefined;
  await ownerOnly(dataDir);
  const { token: adminToken } = await loadAdminToken(dataDir, env);
  const box = await loadSecretBox(dataDir, env);
  // Errors of idle database connections are logged once the logger exists.
  let onError: ((error: Error) => void) | undefined;
  const database = options.database ?? env.HOIST_DATABASE_URL;
  const store = await openStore(database, dataDir, (error) => onError?.(error));
  try {
    await checkSecretKey(store, box);
  } catch (error) {
    await store.close();
    throw error;
  }
  const instanceId = await loadInstanceId(dataDir, env);
  const leaseMs = options.leaseMs ?? (Number(env.HOIST_LEASE_MS) || 30_000);
  // Installed plugins load explicitly from the list in the data folder, before anything polls;
  // one that fails to load is reported and stops nothing else.
  const installed = await loadInstalledPlugins(dataDir);
  const runtime = createPluginRuntime({
    extraPlugins: [...installed.plugins, ...(options.plugins ?? [])],
    userAgent: `hoist/${version}`,
    ...(pluginCalls ? { hooks: pluginCalls } : {}),
  });
  const catalog = new Catalog(store, runtime.host, box);
  const plugins = pluginBoard(runtime.host.registry.list(), installed.status);
  catalog.setUnavailable(plugins.failed());
  /** What the file removed at start that an earlier configuration (a `hoist apply`) had made. */
  let dropped: string[] = [];
  const tokens = new TokenTable();
  const setTokens = (c: HoistConfig | undefined) =>
    tokens.set([{ name: 'admin', role: 'admin', token: adminToken }, ...(c?.auth.tokens ?? [])]);
  try {
    if (config) dropped = (await catalog.apply(config)).dropped;
    await catalog.ensureMaterials();
    // Objects made over the API were validated when saved, maybe by an older plugin version.
    await catalog.revalidate({ source: 'api' });
  } catch (error) {
    await store.close();
    await runtime.close();
    throw error;
  }
  setTokens(config);
  /** Re-applies the configuration file (or the given YAML text), tokens included. */
  const applyConfig = async (text?: string) => {
    if (text === undefined && !options.configFile) {
      throw new ConfigInvalidError([
        {
          key: '',
          message: 'the server was started without --config; send the YAML in the request body',
        },
      ]);
    }
    const known = runtime.host.registry.list().map((p) => p.id);
    const next =
      text !== undefined
        ? parseConfigText(text, 'request body', env, known)
        : await loadConfigFile(options.configFile as string, env, known);
    const summary = await catalog.apply(next);
    config = next;
    setTokens(config);
    return summary;
  };
  return {
    store,
    box,
    catalog,
    runtime,
    tokens,
    instanceId,
    leaseMs,
    applyConfig,
    dropped,
    plugins,
    onDatabaseError: (handler: (error: Error) => void) => {
      onError = handler;
    },
  };
}

/** The state of every plugin: the bundled and loaded ones, and installed ones that failed. */
export interface PluginBoard {
  list(): PluginStatus[];
  /** Installed plugins that failed to load, with why. */
  failed(): Map<string, string>;
  /** After a reload: the installed plugins' new states. */
  update(loaded: readonly RepositoryPlugin[], installed: PluginStatus[]): void;
}

export function pluginBoard(
  loaded: readonly RepositoryPlugin[],
  installed: PluginStatus[],
): PluginBoard {
  let current: PluginStatus[] = [];
  const update = (plugins: readonly RepositoryPlugin[], status: PluginStatus[]) => {
    const mine = new Set(status.map((s) => s.id));
    current = [
      ...plugins
        .filter((p) => !mine.has(p.id))
        .map(
          (p): PluginStatus => ({
            id: p.id,
            version: p.version,
            name: p.displayName,
            kind: 'bundled',
            state: 'loaded',
          }),
        ),
      ...status,
    ];
  };
  update(loaded, installed);
  return {
    list: () => current,
    failed: () =>
      new Map(current.filter((s) => s.state === 'failed').map((s) => [s.id, s.error ?? 'failed'])),
    update,
  };
}

/**
 * The data folder is its owner's only (0700), as is everything made in it (keys, the
 * database, logs, work folders): a folder made by an older version is tightened too.
 */
async function ownerOnly(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
}

export function loggerOptions(options: ServerOptions, env: NodeJS.ProcessEnv) {
  if (options.logger === false) return false;
  return {
    level: env.HOIST_LOG_LEVEL ?? 'info',
    redact: ['req.headers.authorization', 'headers.authorization'],
    ...(typeof options.logger === 'object' ? options.logger : {}),
  };
}

async function openStore(
  database: string | undefined,
  dataDir: string,
  onError: (error: Error) => void,
): Promise<Store> {
  if (!database) {
    const release = claimDataFolder(dataDir);
    const file = join(dataDir, 'hoist.db');
    let store: Store;
    try {
      store = openSqliteStore(file);
    } catch (error) {
      release();
      throw error;
    }
    // SQLite gives its -wal and -shm files the database's mode.
    for (const path of [file, `${file}-wal`, `${file}-shm`])
      await chmod(path, 0o600).catch(() => {});
    const close = store.close;
    return Object.assign(store, { close: () => close().finally(release) });
  }
  if (!/^postgres(ql)?:\/\//.test(database)) {
    throw new ConfigInvalidError([
      {
        key: 'database',
        message: `unsupported database URL '${database.split(':')[0]}:…': use postgres://user:password@host:port/database, or none for SQLite`,
      },
    ]);
  }
  return openPostgresStore(database, { onError });
}

/**
 * Secure values are sealed with the secret key: an instance started with another key than the
 * one the database was written with is refused, rather than failing on every secret later.
 */
async function checkSecretKey(store: Store, box: SecretBox): Promise<void> {
  const sealed = await store.setting('secret-key-check', box.seal('hoist'));
  let opened: string | undefined;
  try {
    opened = box.open(sealed);
  } catch {
    opened = undefined;
  }
  if (opened !== 'hoist') {
    throw new ConfigInvalidError([
      {
        key: 'HOIST_SECRET_KEY',
        message:
          'the secret key differs from the one this database was written with; start every instance with the same HOIST_SECRET_KEY',
      },
    ]);
  }
}
