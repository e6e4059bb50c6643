import {
  createPluginHost,
  createReloadableRegistry,
  type Logger,
  type PluginHost,
  type RepositoryPlugin,
} from 'hoist';
import { bundledPlugins } from '../plugins/index.ts';
import { createHttpClient, type HostHttpClient } from './http/http-client.ts';

/** A plugin host with its HTTP client, as the CLI and the server use it. */
export interface PluginRuntime {
  host: PluginHost;
  http: HostHttpClient;
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
}

/** Builds the registry from the bundled list (plus any extra plugins) and a host over it. */
export function createPluginRuntime(options: PluginRuntimeOptions = {}): PluginRuntime {
  const http = createHttpClient({ userAgent: options.userAgent ?? 'hoist' });
  const registry = createReloadableRegistry([...bundledPlugins, ...(options.extraPlugins ?? [])]);
  const host = createPluginHost({
    registry,
    http,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  return {
    host,
    http,
    reload: (extra) => registry.replace([...bundledPlugins, ...extra]),
    close: () => http.close(),
  };
}
