import type { PluginHost } from 'hoist';
import type { Catalog } from '../catalog/catalog.ts';
import type { Instance } from '../cluster/instance.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { Timers } from '../pipelines/timers.ts';
import type { Poller } from '../poller/poller.ts';
import type { PluginBoard } from '../state.ts';
import type { Store } from '../store/store.ts';

/** What route handlers reach. */
export interface ServerContext {
  store: Store;
  catalog: Catalog;
  poller: Poller;
  instance: Instance;
  host: PluginHost;
  metrics: ServerMetrics;
  /** The pipelines' timers: when each fires next, what its last firing did. */
  timers: Timers;
  /** Every plugin's state: loaded, or failed to load and why. */
  plugins: PluginBoard;
  /** Re-applies the configuration file (or the given YAML text); undefined without a file. */
  applyConfig(
    text?: string,
  ): Promise<{ added: number; changed: number; removed: number; dropped: string[] }>;
}
