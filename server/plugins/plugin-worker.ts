import { parentPort, workerData } from 'node:worker_threads';
import {
  createMemoryState,
  type Logger,
  PLUGIN_API_VERSION,
  type PluginContext,
  PluginError,
  type RepositoryPlugin,
} from 'hoist';
import { createHttpClient } from '../../agent/http/http-client.ts';
import { bundledPlugins } from '../../plugins/index.ts';
import {
  type CallMessage,
  type PluginSource,
  toWire,
  type WorkerMessage,
  type WorkerSetup,
} from './worker-protocol.ts';

/**
 * A worker thread that runs plugin calls one at a time for the server: its own HTTP client
 * (same user agent and limits as the host's), the material state copied in and back, log lines
 * posted to the host. The host ends a call it no longer waits for by terminating the thread.
 */
const port = parentPort;
if (!port) throw new Error('plugin-worker runs as a worker thread');
const setup = workerData as WorkerSetup;
const http = createHttpClient({
  userAgent: setup.userAgent,
  ...(setup.transferTimeoutMs ? { transferTimeoutMs: setup.transferTimeoutMs } : {}),
});
const loaded = new Map<string, Promise<RepositoryPlugin>>();
const post = (message: WorkerMessage) => port.postMessage(message);

/** Posts a log line; meta that cannot cross threads (functions, sockets) is sent as JSON text. */
const log =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (message: string, meta?: Record<string, unknown>) => {
    try {
      post({ type: 'log', level, message, meta });
    } catch {
      post({ type: 'log', level, message, meta: { meta: safeJson(meta) } });
    }
  };
const logger: Logger = {
  debug: log('debug'),
  info: log('info'),
  warn: log('warn'),
  error: log('error'),
};

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

port.on('message', (message: CallMessage) => {
  void run(message).then(post, (error: unknown) => post({ type: 'failed', error: toWire(error) }));
});

async function run(message: CallMessage): Promise<WorkerMessage> {
  const plugin = await pluginFor(message.source);
  const state = createMemoryState(message.state);
  const ctx: PluginContext = {
    http,
    logger,
    // The host ends the call by terminating this thread; nothing here needs to abort.
    signal: new AbortController().signal,
    now: () => new Date(),
    state,
  };
  const call = plugin[message.call] as ((...args: unknown[]) => Promise<unknown>) | undefined;
  if (typeof call !== 'function') {
    throw new PluginError(`Plugin '${plugin.id}' has no ${message.call}`, { pluginId: plugin.id });
  }
  const result = await call.apply(plugin, [...message.args, ctx]);
  return { type: 'done', result, state: state.snapshot() };
}

function pluginFor(source: PluginSource): Promise<RepositoryPlugin> {
  const key = source.kind === 'bundled' ? `bundled:${source.id}` : source.url;
  let plugin = loaded.get(key);
  if (!plugin) {
    plugin = load(source);
    loaded.set(key, plugin);
  }
  return plugin;
}

async function load(source: PluginSource): Promise<RepositoryPlugin> {
  const candidates: unknown[] | Promise<unknown[]> =
    source.kind === 'bundled'
      ? [...bundledPlugins]
      : import(source.url).then((module: Record<string, unknown>) => [
          module.default,
          ...Object.values(module),
        ]);
  const found = (await candidates).find(
    (v): v is RepositoryPlugin =>
      typeof v === 'object' &&
      v !== null &&
      (v as RepositoryPlugin).apiVersion === PLUGIN_API_VERSION &&
      (v as RepositoryPlugin).id === source.id,
  );
  if (!found) {
    throw new PluginError(
      `No plugin '${source.id}' in ${source.kind === 'bundled' ? 'the bundled plugins' : source.url}`,
      {
        pluginId: source.id,
      },
    );
  }
  return found;
}
