import { randomBytes } from 'node:crypto';
import {
  createPluginHost,
  createPluginRegistry,
  type HttpClient,
  type RepositoryPlugin,
  type Revision,
} from 'hoist';
import { Catalog } from '../../server/catalog/catalog.ts';
import { HoistConfig } from '../../server/config/schema.ts';
import type { Logger } from '../../server/logger.ts';
import { Scheduler } from '../../server/pipelines/scheduler.ts';
import { createSecretBox } from '../../server/secrets.ts';
import { openSqliteStore } from '../../server/store/sqlite.ts';
import type { CheckRow, RunRow } from '../../server/store/store.ts';
import { samplePlugin } from './sample-plugin.ts';

const noHttp: HttpClient = {
  request: () => Promise.reject(new Error('no network in the in-process harness')),
};

/** A logger that keeps what it was told, for assertions on decisions. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (object: object, message: string) =>
    lines.push(`${message} ${JSON.stringify(object)}`);
  return { lines, info: keep, warn: keep, error: keep, debug: () => {} };
}

/**
 * The server's parts in one process, without HTTP or child processes: an in-memory SQLite
 * store, a plugin host with the sample plugin (or the given ones), the catalog with a
 * configuration applied, and the scheduler (runs it would start are collected, not run).
 */
export async function harness(config: unknown, plugins: RepositoryPlugin[] = [samplePlugin()]) {
  const store = openSqliteStore(':memory:');
  const host = createPluginHost({ registry: createPluginRegistry(plugins), http: noHttp });
  const catalog = new Catalog(store, host, createSecretBox(randomBytes(32)));
  await catalog.apply(HoistConfig.parse(config));
  const logger = recordingLogger();
  const started: RunRow[] = [];
  const scheduler = new Scheduler({
    store,
    catalog,
    host,
    logger,
    lease: () => ({ owner: 'harness', until: Date.now() + 30_000 }),
    start: (run) => started.push(run),
  });
  const polled = async (material: string) => {
    const found = (await catalog.polledPackages()).find(
      (p) => `${p.repository}/${p.name}` === material,
    );
    if (!found) throw new Error(`no package ${material}`);
    return found;
  };
  /** What the poller does when a check finds new revisions: store them, then schedule. */
  const found = async (
    material: string,
    revisions: Revision[],
    trigger: CheckRow['trigger'] = 'schedule',
  ) => {
    const pkg = await polled(material);
    await store.ensureMaterial(pkg.fingerprint, pkg.plugin, null);
    const { inserted } = await store.recordCheck({
      fingerprint: pkg.fingerprint,
      plugin: pkg.plugin,
      revisions,
      state: {},
      check: {
        startedAt: new Date().toISOString(),
        durationMs: 1,
        outcome: 'new',
        newRevisions: [],
        errorCode: null,
        error: null,
        decision: 'stored',
        trigger,
        instance: 'harness',
      },
      nextCheckAt: null,
      failures: 0,
      owner: 'harness',
      lastError: null,
      lastErrorCode: null,
    });
    await scheduler.onRevisions(pkg, inserted, trigger);
    return inserted;
  };
  return { store, catalog, host, scheduler, started, logger, polled, found };
}
