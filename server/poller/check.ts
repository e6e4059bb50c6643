import { createMemoryState, HoistError, type PluginHost, type Revision } from 'hoist';
import type { PolledPackage } from '../catalog/catalog.ts';
import type { Logger } from '../logger.ts';
import type { CheckRow, Store, StoredRevision } from '../store/store.ts';
import { decide } from './decision.ts';

/** One recorded check, as the poller reports it. */
export interface FinishedCheck {
  repository: string;
  outcome: CheckRow['outcome'];
  seconds: number;
  newRevisions: number;
}

/** Counters and timings the poller reports. */
export interface PollerMetrics {
  checkFinished(check: FinishedCheck): void;
  /** A scheduled check started `seconds` after it was due (0 when on time). */
  checkStarted?(seconds: number): void;
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
  /** When a lease taken now ends (the owner holds the scheduling new revisions cause). */
  leaseUntil: () => number;
  /** Is the poller stopping? An aborted check then records nothing. */
  stopping: () => boolean;
  onRevisions?: (
    pkg: PolledPackage,
    inserted: StoredRevision[],
    trigger: CheckRow['trigger'],
  ) => boolean | undefined | Promise<boolean | undefined>;
}

/**
 * Checks one material: asks its plugin for what is new since the newest stored revision (or
 * for the newest, the first time), decides when to check again, records the check, its new
 * revisions, the scheduling they cause (pending until done) and the material's state in one
 * store transaction, and hands the new revisions to the scheduler: the pending scheduling is
 * done once it answers that every pipeline has its run (after a crash, the engine completes it). Answers when the material is due next (null: on demand only), or undefined
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
    // A plugin that failed to load, or a configuration its (new) version refused: no message.
    if (pkg.blocked) throw pkg.blocked;
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
  const { inserted, pending } = await store.recordCheck({
    fingerprint: pkg.fingerprint,
    plugin: pkg.plugin,
    revisions,
    // An unchanged state (most checks of a quiet repository) is not written again.
    state: state.changed() ? state.snapshot() : undefined,
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
    leaseUntil: deps.leaseUntil(),
  });
  deps.metrics?.checkFinished({
    repository: pkg.repository,
    outcome,
    seconds: durationMs / 1000,
    newRevisions: inserted.length,
  });
  report(deps, pkg, { trigger, durationMs, outcome, decision, failure, inserted });
  if (inserted.length > 0) await schedule(deps, pkg, inserted, trigger, pending);
  return nextAt;
}

/** Hands new revisions to the scheduler; their pending scheduling is done, or given back. */
async function schedule(
  deps: CheckDeps,
  pkg: PolledPackage,
  inserted: StoredRevision[],
  trigger: CheckRow['trigger'],
  pending: number | undefined,
): Promise<void> {
  let handled = false;
  // The lease on the pending scheduling is renewed while it lasts: nobody else takes it up.
  const renew = setInterval(
    () => {
      if (pending === undefined) return;
      deps.store.renewPendingTriggers(deps.owner, [pending], deps.leaseUntil()).catch(() => {});
    },
    Math.max(50, Math.floor((deps.leaseUntil() - Date.now()) / 3)),
  );
  try {
    handled = (await deps.onRevisions?.(pkg, inserted, trigger)) !== false;
  } catch (error) {
    deps.logger.error({ err: error, fingerprint: pkg.fingerprint }, 'scheduling failed');
  } finally {
    clearInterval(renew);
  }
  if (pending === undefined) return;
  if (handled) await deps.store.completePendingTrigger(pending);
  else await deps.store.retryPendingTrigger(pending);
}

/** Logs the check. */
function report(
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
): void {
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
  if (inserted.length > 0)
    deps.logger.info({ ...log, revisions: inserted.map((r) => r.revision) }, 'new revisions');
}

/**
 * Every revision newer than the newest stored, or the newest when none is stored yet: one
 * plugin message per check (`latest-revision-since` or `latest-revision`), as GoCD sends; the
 * configuration was validated when it was saved.
 */
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
