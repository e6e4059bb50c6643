import { createMemoryState, HoistError, type PluginHost, type Revision } from 'hoist';
import type { PolledPackage } from '../catalog/catalog.ts';
import type { Logger } from '../logger.ts';
import type { CheckRow, Store, StoredRevision } from '../store/store.ts';
import { decide } from './decision.ts';

/** Counters and timings the poller reports. */
export interface PollerMetrics {
  checkFinished(outcome: CheckRow['outcome'], seconds: number, newRevisions: number): void;
}

/** What one check needs. */
export interface CheckDeps {
  store: Store;
  host: PluginHost;
  logger: Logger;
  metrics?: PollerMetrics;
  /** The instance making the check: it holds the material's lease until the record. */
  owner: string;
  /** Time limit of the plugin call. */
  timeoutMs: number;
  /** Is the poller stopping? An aborted check then records nothing. */
  stopping: () => boolean;
  onRevisions?: (
    pkg: PolledPackage,
    inserted: StoredRevision[],
    trigger: CheckRow['trigger'],
  ) => void | Promise<void>;
}

/**
 * Checks one material: asks its plugin for what is new since the newest stored revision (or
 * for the newest, the first time), decides when to check again, records the check, its new
 * revisions and the material's state in one store transaction, and hands the new revisions to
 * the scheduler. Answers when the material is due next (null: on demand only), or undefined
 * when the check was abandoned because the poller stopped (its lease is released, nothing is
 * recorded).
 */
export async function checkMaterial(
  deps: CheckDeps,
  pkg: PolledPackage,
  trigger: CheckRow['trigger'],
  signal: AbortSignal,
): Promise<number | null | undefined> {
  const { store, owner } = deps;
  const started = Date.now();
  const material = await store.getMaterial(pkg.fingerprint);
  if (!material) await store.ensureMaterial(pkg.fingerprint, pkg.plugin, null);
  const state = createMemoryState(material?.state ?? {});
  const latest = await store.latestRevision(pkg.fingerprint);
  let revisions: Revision[] = [];
  let failure: HoistError | undefined;
  try {
    revisions = await ask(deps.host, pkg, latest, { state, signal, timeoutMs: deps.timeoutMs });
  } catch (error) {
    failure =
      error instanceof HoistError ? error : new HoistError('ERR_PLUGIN_FAILED', String(error));
  }
  if (deps.stopping() && signal.aborted) {
    await store.releaseMaterial(pkg.fingerprint, owner);
    return undefined;
  }
  const durationMs = Date.now() - started;
  const { outcome, nextAt, failures, decision } = decide(
    {
      failure,
      revisions,
      latest,
      intervalMs: pkg.pollIntervalMs,
      failures: material?.failures ?? 0,
    },
    Date.now(),
  );
  const { inserted } = await store.recordCheck({
    fingerprint: pkg.fingerprint,
    plugin: pkg.plugin,
    revisions,
    state: state.snapshot(),
    check: {
      startedAt: new Date(started).toISOString(),
      durationMs,
      outcome,
      newRevisions: [],
      errorCode: failure?.code ?? null,
      error: failure ? failure.message : null,
      decision,
      trigger,
      instance: owner,
    },
    nextCheckAt: nextAt === null ? null : new Date(nextAt).toISOString(),
    failures,
    owner,
    lastError: failure ? failure.message : null,
    lastErrorCode: failure?.code ?? null,
  });
  deps.metrics?.checkFinished(outcome, durationMs / 1000, inserted.length);
  await report(deps, pkg, { trigger, durationMs, outcome, decision, failure, inserted });
  return nextAt;
}

/** Logs the check, and hands new revisions to the scheduler. */
async function report(
  deps: CheckDeps,
  pkg: PolledPackage,
  check: {
    trigger: CheckRow['trigger'];
    durationMs: number;
    outcome: CheckRow['outcome'];
    decision: string;
    failure: HoistError | undefined;
    inserted: StoredRevision[];
  },
): Promise<void> {
  const { trigger, durationMs, outcome, decision, failure, inserted } = check;
  const log = {
    material: `${pkg.repository}/${pkg.name}`,
    instance: deps.owner,
    fingerprint: pkg.fingerprint,
    durationMs,
    outcome,
    trigger,
  };
  if (failure)
    deps.logger.warn({ ...log, code: failure.code, error: failure.message }, 'check failed');
  else deps.logger.debug({ ...log, decision }, 'check finished');
  if (inserted.length > 0) {
    deps.logger.info({ ...log, revisions: inserted.map((r) => r.revision) }, 'new revisions');
    await deps.onRevisions?.(pkg, inserted, trigger);
  }
}

/** Every revision newer than the newest stored, or the newest when none is stored yet. */
async function ask(
  host: PluginHost,
  pkg: PolledPackage,
  latest: Revision | undefined,
  call: Parameters<PluginHost['latestRevision']>[3],
): Promise<Revision[]> {
  if (latest)
    return host.latestRevisionsSince(
      pkg.plugin,
      pkg.repositoryConfig,
      pkg.packageConfig,
      latest,
      call,
    );
  const found = await host.latestRevision(
    pkg.plugin,
    pkg.repositoryConfig,
    pkg.packageConfig,
    call,
  );
  return found ? [found] : [];
}
