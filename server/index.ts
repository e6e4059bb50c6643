import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ConfigInvalidError, type RepositoryPlugin } from 'hoist';
import { loadAdminToken } from './admin-token.ts';
import { createApp } from './api/app.ts';
import { auditLog } from './api/audit.ts';
import { TokenTable } from './api/auth.ts';
import type { ServerContext } from './api/context.ts';
import { configRoutes } from './api/routes-config.ts';
import { materialRoutes } from './api/routes-materials.ts';
import { runRoutes } from './api/routes-runs.ts';
import { Catalog } from './catalog/catalog.ts';
import { Instance, loadInstanceId } from './cluster/instance.ts';
import { loadConfigFile, parseConfigText } from './config/load.ts';
import type { HoistConfig } from './config/schema.ts';
import { createMetrics } from './metrics.ts';
import { PipelineEngine } from './pipelines/engine.ts';
import { createPluginRuntime, type PluginRuntime } from './plugin-runtime.ts';
import { loadInstalledPlugins } from './plugins/packages.ts';
import { Poller } from './poller/poller.ts';
import { loadSecretBox, type SecretBox } from './secrets.ts';
import { openPostgresStore } from './store/postgres.ts';
import { openSqliteStore } from './store/sqlite.ts';
import type { Store } from './store/store.ts';
import { webRoutes } from './web/routes.ts';

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
}

/** A running Hoist server. */
export interface HoistServer {
  /** Base URL, e.g. `http://127.0.0.1:8153`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly poller: Poller;
  readonly engine: PipelineEngine;
  readonly runtime: PluginRuntime;
  readonly instance: Instance;
  /** Stops polling (running checks may finish for `graceMs`), then the HTTP server and store. */
  close(graceMs?: number): Promise<void>;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/**
 * Creates and starts a Hoist server: opens the store, applies the configuration file (refusing
 * to start, with nothing changed, when it is invalid), starts the poller and serves the API.
 * @throws ConfigInvalidError when the configuration file is invalid.
 */
export async function createServer(options: ServerOptions = {}): Promise<HoistServer> {
  const env = options.env ?? process.env;
  const dataDir = options.dataDir ?? env.HOIST_DATA ?? './hoist-data';
  // Read and check the file before touching anything.
  let config: HoistConfig | undefined = options.configFile
    ? await loadConfigFile(options.configFile, env)
    : undefined;
  const { token: adminToken } = await loadAdminToken(dataDir, env);
  const box = await loadSecretBox(dataDir, env);
  const database = options.database ?? env.HOIST_DATABASE_URL;
  // Errors of idle database connections are logged once the logger exists.
  let onDatabaseError: ((error: Error) => void) | undefined;
  const store = await openStore(database, dataDir, (error) => onDatabaseError?.(error));
  try {
    await checkSecretKey(store, box);
  } catch (error) {
    await store.close();
    throw error;
  }
  const instanceId = await loadInstanceId(dataDir, env);
  const leaseMs = options.leaseMs ?? (Number(env.HOIST_LEASE_MS) || 30_000);
  // Installed plugins load explicitly from the list in the data folder, before anything polls.
  const installed = await loadInstalledPlugins(dataDir);
  const runtime = createPluginRuntime({
    extraPlugins: [...installed, ...(options.plugins ?? [])],
    userAgent: `hoist/${VERSION}`,
  });
  const catalog = new Catalog(store, runtime.host, box);
  const tokens = new TokenTable();
  const setTokens = (c: HoistConfig | undefined) =>
    tokens.set([{ name: 'admin', role: 'admin', token: adminToken }, ...(c?.auth.tokens ?? [])]);
  try {
    if (config) await catalog.apply(config);
    await catalog.ensureMaterials();
  } catch (error) {
    await store.close();
    await runtime.close();
    throw error;
  }
  setTokens(config);

  const logger =
    options.logger === false
      ? false
      : {
          level: env.HOIST_LOG_LEVEL ?? 'info',
          redact: ['req.headers.authorization', 'headers.authorization'],
          ...(typeof options.logger === 'object' ? options.logger : {}),
        };
  const app = await createApp({ tokens, logger, version: VERSION });
  onDatabaseError = (error) =>
    app.log.warn({ error: error.message }, 'a database connection failed; the pool reconnects');
  const metrics = createMetrics();
  let engine: PipelineEngine | undefined;
  const instance = new Instance({
    store,
    id: instanceId,
    logger: app.log,
    leaseMs,
    async onHeartbeat() {
      await engine?.resume();
      await engine?.watchCancellations();
    },
  });
  engine = new PipelineEngine({
    leases: instance,
    store,
    catalog,
    host: runtime.host,
    logger: app.log,
    dataDir,
  });
  const poller = new Poller({
    leases: instance,
    shared: store.kind === 'postgres',
    onRevisions: (pkg, inserted, trigger) => engine.onRevisions(pkg, inserted, trigger),
    store,
    catalog,
    host: runtime.host,
    logger: app.log,
    metrics,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.perHost ? { perHost: options.perHost } : {}),
  });
  // What is polled changes with the catalog: the poller reads it again.
  catalog.onChange(() => poller.refresh());
  const context: ServerContext = {
    store,
    catalog,
    poller,
    instance,
    host: runtime.host,
    metrics,
    async applyConfig(text) {
      if (text === undefined && !options.configFile) {
        throw new ConfigInvalidError([
          {
            key: '',
            message: 'the server was started without --config; send the YAML in the request body',
          },
        ]);
      }
      const next =
        text !== undefined
          ? parseConfigText(text, 'request body', env)
          : await loadConfigFile(options.configFile as string, env);
      const summary = await catalog.apply(next);
      config = next;
      setTokens(config);
      return summary;
    },
  };
  // The audit hook first: it is not encapsulated and sees every route registered after it.
  await app.register(auditLog, { store });
  await app.register(materialRoutes, { ctx: context });
  await app.register(configRoutes, { ctx: context });
  await app.register(runRoutes, { ctx: context, engine });
  await app.register(webRoutes);
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8153 });
  const address = app.server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // Other instances fetch job logs from this URL: HOIST_ADVERTISE_URL when they reach it otherwise.
  await instance.start({
    url: options.advertiseUrl ?? env.HOIST_ADVERTISE_URL ?? `http://${hostPart}:${address.port}`,
    version: VERSION,
  });
  await engine.resume();
  await poller.start();

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${address.port}`,
    app,
    store,
    poller,
    engine,
    runtime,
    instance,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        await poller.stop(graceMs);
        await engine.stop();
        await instance.stop().catch((error) => app.log.error({ err: error }, 'retire failed'));
        await app.close();
        await store.close();
        await runtime.close();
      })();
      return closing;
    },
  };
}

async function openStore(
  database: string | undefined,
  dataDir: string,
  onError: (error: Error) => void,
): Promise<Store> {
  if (!database) return openSqliteStore(join(dataDir, 'hoist.db'));
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

export type { HoistConfig };
