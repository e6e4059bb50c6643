import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AgentRegistry } from './agents/registry.ts';
import { createAgentParts } from './agents/setup.ts';
import { createApp } from './api/app.ts';
import { auditLog } from './api/audit.ts';
import type { ServerContext } from './api/context.ts';
import { agentRoutes } from './api/routes-agents.ts';
import { boardRoutes } from './api/routes-board.ts';
import { configRoutes } from './api/routes-config.ts';
import { eventRoutes } from './api/routes-events.ts';
import { materialRoutes } from './api/routes-materials.ts';
import { notificationRoutes } from './api/routes-notifications.ts';
import { runRoutes } from './api/routes-runs.ts';
import { Instance } from './cluster/instance.ts';
import type { HoistConfig } from './config/schema.ts';
import { EventBus } from './events/bus.ts';
import { createMetrics } from './metrics.ts';
import { Notifier } from './notifications/notifier.ts';
import { retryPolicy } from './notifications/retry.ts';
import { createSender } from './notifications/sender.ts';
import { PipelineEngine } from './pipelines/engine.ts';
import { Timers } from './pipelines/timers.ts';
import type { PluginRuntime } from './plugin-runtime.ts';
import { endLinePlugins } from './plugins/line-channel.ts';
import { loadInstalledPlugins } from './plugins/load.ts';
import { watchInstalledPlugins } from './plugins/watch.ts';
import { Poller } from './poller/poller.ts';
import { loggerOptions, openState, type ServerOptions } from './state.ts';
import type { Store } from './store/store.ts';
import { webRoutes } from './web/routes.ts';

export type { ServerOptions } from './state.ts';

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
  /** The event stream; `publish` records an event no store change carries (`agent.changed`). */
  readonly events: EventBus;
  /** Registered agents (`onAgentChange` announces every change of one). */
  readonly agents: AgentRegistry;
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
  const metrics = createMetrics();
  const state = await openState(options, env, dataDir, VERSION, metrics);
  const { store, catalog, runtime, instanceId, leaseMs } = state;
  const app = await createApp({
    tokens: state.tokens,
    logger: loggerOptions(options, env),
    version: VERSION,
    metrics,
  });
  state.onDatabaseError((error) =>
    app.log.warn({ error: error.message }, 'a database connection failed; the pool reconnects'),
  );
  for (const failed of state.plugins.list().filter((p) => p.state === 'failed'))
    app.log.error(
      { plugin: failed.id, error: failed.error },
      `plugin '${failed.id}' failed to load; its materials fail until it loads: ${failed.error}`,
    );
  if (state.dropped.length > 0)
    app.log.warn(
      { removed: state.dropped },
      `the configuration file removed what an earlier configuration had added (e.g. with hoist apply): ${state.dropped.join(', ')}`,
    );
  const agents = await createAgentParts({
    store,
    box: state.box,
    dataDir,
    env,
    logger: app.log,
    metrics,
    ...(options.localAgent ? { localAgent: options.localAgent } : {}),
  });
  app.log.info(
    { source: agents.registrationKey.source, localAgent: agents.localMode },
    `agents register with the key from ${agents.registrationKey.source}`,
  );
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
    metrics,
    agents: agents.dispatch,
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
  const timers = new Timers({
    pipelines: () => store.listPipelines(),
    fire: (name, at) => engine.onTimer(name, at),
    logger: app.log,
  });
  catalog.onPipelinesChange(() => timers.refresh());
  const context: ServerContext = {
    store,
    catalog,
    poller,
    instance,
    host: runtime.host,
    metrics,
    timers,
    applyConfig: state.applyConfig,
    plugins: state.plugins,
  };
  // The audit hook first: it is not encapsulated and sees every route registered after it.
  await app.register(auditLog, { store });
  await app.register(materialRoutes, { ctx: context });
  await app.register(configRoutes, { ctx: context });
  await app.register(runRoutes, { ctx: context, engine, agents: agents.dispatch });
  await app.register(agentRoutes, agents);
  await app.register(boardRoutes, { ctx: context, engine });
  const events = new EventBus({ store, logger: app.log });
  await events.start();
  // Every change of an agent (registered, enabled or disabled, lost, draining, removed) is an event.
  agents.registry.onAgentChange(({ kind, agent }) => {
    events
      .publish({
        type: 'agent.changed',
        agent: agent.id,
        outcome: kind,
        message: `agent ${agent.hostname} ${kind} (${agent.state})`,
      })
      .catch((error: unknown) => app.log.warn({ err: error }, 'cannot record an agent event'));
  });
  await app.register(eventRoutes, { bus: events, tokens: state.tokens });
  await app.register(notificationRoutes, { store });
  const sender = createSender({
    // Within the 60 s lease of an attempt, so that no other instance tries it while it runs.
    timeoutMs: Math.min(Math.max(Number(env.HOIST_WEBHOOK_TIMEOUT_MS) || 10_000, 100), 50_000),
    userAgent: `hoist/${VERSION}`,
  });
  const notifier = new Notifier({
    store,
    bus: events,
    box: state.box,
    owner: instanceId,
    logger: app.log,
    policy: retryPolicy(env),
    post: sender.post,
  });
  await app.register(webRoutes);
  const url = await listen(app, options);
  // Other instances fetch job logs from this URL: HOIST_ADVERTISE_URL when they reach it otherwise.
  await instance.start({
    url: options.advertiseUrl ?? env.HOIST_ADVERTISE_URL ?? url,
    version: VERSION,
  });
  await engine.resume();
  agents.dispatch.start();
  await poller.start();
  await timers.start();
  await notifier.start();
  // Plugins installed or removed while the server runs are picked up without a restart.
  const plugins = watchInstalledPlugins({
    dataDir,
    logger: app.log,
    async onChange() {
      const before = new Map(runtime.host.registry.list().map((p) => [p.id, p]));
      const installed = await loadInstalledPlugins(dataDir);
      runtime.reload([...installed.plugins, ...(options.plugins ?? [])]);
      state.plugins.update(runtime.host.registry.list(), installed.status);
      catalog.setUnavailable(state.plugins.failed());
      // A plugin installed or upgraded validates the configurations that use it, once.
      const changed = installed.plugins.filter((p) => before.get(p.id) !== p).map((p) => p.id);
      if (changed.length > 0) await catalog.revalidate({ plugins: changed });
      await poller.refresh();
      app.log.info(
        { plugins: runtime.host.registry.list().map((p) => `${p.id} ${p.version}`) },
        'plugins reloaded',
      );
    },
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    store,
    poller,
    engine,
    runtime,
    instance,
    events,
    agents: agents.registry,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        plugins.stop();
        timers.stop();
        agents.dispatch.stop();
        await poller.stop(graceMs);
        await engine.stop();
        await instance.stop().catch((error) => app.log.error({ err: error }, 'retire failed'));
        await notifier.stop();
        await sender.close();
        events.stop();
        await app.close();
        await store.close();
        await runtime.close();
        await endLinePlugins();
      })();
      return closing;
    },
  };
}

/** Listens, and answers the base URL. */
async function listen(app: FastifyInstance, options: ServerOptions): Promise<string> {
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8153 });
  const address = app.server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${hostPart}:${address.port}`;
}

export type { HoistConfig };
