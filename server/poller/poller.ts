import {
  createMemoryState,
  HoistError,
  type PluginHost,
  RepositoryUnreachableError,
  type Revision,
} from 'hoist';
import type { Catalog, PolledPackage } from '../catalog/catalog.ts';
import { type LeaseHolder, localLeases } from '../cluster/lease-holder.ts';
import type { Logger } from '../logger.ts';
import { type SingleFlight, singleFlight } from '../single-flight.ts';
import type { CheckRow, Store, StoredRevision } from '../store/store.ts';
import { backoffDelay, hostKey, withJitter } from './timing.ts';

/** Counters and timings the poller reports. */
export interface PollerMetrics {
  checkFinished(outcome: CheckRow['outcome'], seconds: number, newRevisions: number): void;
}

/** Options of the poller. */
export interface PollerOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
  logger: Logger;
  metrics?: PollerMetrics;
  /** Checks running at once; default 16. */
  concurrency?: number;
  /** Checks running at once against one host; default 4. */
  perHost?: number;
  /** Time limit of one check; default 5 minutes. */
  checkTimeoutMs?: number;
  /** The instance's leases (a lone server's by default); every check is recorded with its id. */
  leases?: LeaseHolder;
  /**
   * Shared polling (several instances on one store): which material is due comes from the
   * store, and each check is leased there, so that one instance checks it.
   */
  shared?: boolean;
  /** Shared polling: how often the store is asked for due materials; default 1 s. */
  claimIntervalMs?: number;
  /** Called after new revisions are stored (the scheduler listens here). */
  onRevisions?: (
    pkg: PolledPackage,
    inserted: StoredRevision[],
    trigger: CheckRow['trigger'],
  ) => void | Promise<void>;
}

interface Entry {
  pkg: PolledPackage;
  dueAt: number;
  trigger: CheckRow['trigger'];
  running: boolean;
  /** A check-now arrived while a check was running: run again when it ends. */
  again: boolean;
  /** Shared polling: this instance holds the lease of the material's next check. */
  claimed: boolean;
}

/**
 * Polls every material on its interval (with jitter), at most `concurrency` at once and
 * `perHost` per repository host, one check at a time per fingerprint; backs off exponentially
 * on failure, honouring `Retry-After`; records every check with the decision it took.
 */
export class Poller {
  private readonly entries = new Map<string, Entry>();
  private readonly runningByHost = new Map<string, number>();
  private readonly inFlight = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly concurrency: number;
  private readonly perHost: number;
  private claimTimer: NodeJS.Timeout | undefined;
  private refreshedAt = 0;
  private renewedAt = 0;

  private readonly leases: LeaseHolder;

  constructor(private readonly options: PollerOptions) {
    this.leases = options.leases ?? localLeases();
    this.concurrency = options.concurrency ?? 16;
    this.perHost = options.perHost ?? 4;
  }

  /** Whether due times come from the store (several instances share the checks). */
  get shared(): boolean {
    return this.options.shared === true;
  }

  /**
   * Loads the materials and checks each one now (the first check happens at start-up); with
   * shared polling, checks what the store says is due, as the other instances do.
   */
  async start(): Promise<void> {
    if (this.shared) {
      await this.refresh();
      await this.checkAllIfAlone();
      this.stopped = false;
      const interval = this.options.claimIntervalMs ?? 1000;
      this.claimTimer = setInterval(() => void this.claim(), interval);
      this.claimTimer.unref();
      await this.claim();
      return;
    }
    // Still stopped while loading, so that nothing launches before it is marked as a start check.
    await this.refresh({ checkNewNow: true });
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (entry.pkg.pollIntervalMs !== null) {
        entry.dueAt = now;
        entry.trigger = 'start';
      }
    }
    this.stopped = false;
    this.wake();
  }

  /**
   * Shared polling: the first instance to start (none other alive) checks every material at
   * once, as a lone server does; an instance joining running ones takes its share of the
   * schedule instead of checking everything again.
   */
  private async checkAllIfAlone(): Promise<void> {
    const { store } = this.options;
    const now = Date.now();
    const others = (await store.listInstances(now - this.leases.leaseMs)).filter(
      (i) => i.id !== this.leases.id,
    );
    if (others.length > 0) return;
    const at = new Date(now).toISOString();
    for (const entry of this.entries.values()) {
      if (entry.pkg.pollIntervalMs !== null)
        await store.scheduleMaterial(entry.pkg.fingerprint, at, 'start');
    }
  }

  /** Re-reads the packages after a configuration change. */
  async refresh(options: { checkNewNow?: boolean } = {}): Promise<void> {
    this.refreshedAt = Date.now();
    const packages = await this.options.catalog.polledPackages();
    const seen = new Set<string>();
    for (const pkg of packages) {
      seen.add(pkg.fingerprint);
      const entry = this.entries.get(pkg.fingerprint);
      if (entry) {
        entry.pkg = pkg;
        continue;
      }
      this.entries.set(pkg.fingerprint, {
        pkg,
        dueAt:
          pkg.pollIntervalMs === null || this.shared
            ? Number.POSITIVE_INFINITY
            : options.checkNewNow === false
              ? Date.now() + pkg.pollIntervalMs
              : Date.now(),
        trigger: 'schedule',
        running: false,
        again: false,
        claimed: false,
      });
    }
    for (const fingerprint of [...this.entries.keys()]) {
      if (!seen.has(fingerprint)) this.entries.delete(fingerprint);
    }
    this.wake();
  }

  /**
   * Checks these materials as soon as a slot is free; returns those it knows. With shared
   * polling the store marks them due, and this instance asks for them at once.
   */
  async checkNow(fingerprints: readonly string[]): Promise<PolledPackage[]> {
    const queued: PolledPackage[] = [];
    for (const fingerprint of fingerprints) {
      const entry = this.entries.get(fingerprint);
      if (!entry) continue;
      queued.push(entry.pkg);
      if (this.shared) {
        await this.options.store.scheduleMaterial(fingerprint, new Date().toISOString(), 'manual');
        continue;
      }
      if (entry.running) entry.again = true;
      entry.dueAt = Date.now();
      entry.trigger = 'manual';
    }
    if (this.shared) await this.claim();
    else this.wake();
    return queued;
  }

  /**
   * Shared polling: every third of the lease time, extends the leases of the checks this
   * instance holds and ends any other lease of its own. Runs inside a claim, so that no claim
   * is half-way through meanwhile.
   */
  private async renewLeases(): Promise<void> {
    const { store } = this.options;
    if (Date.now() - this.renewedAt < this.leases.leaseMs / 3) return;
    this.renewedAt = Date.now();
    const held = [...this.entries.values()]
      .filter((e) => e.claimed || e.running)
      .map((e) => e.pkg.fingerprint);
    await store.renewMaterialLeases(this.leases.id, held, this.leases.leaseUntil());
  }

  /** Shared polling: leases due materials from the store, as many as there are free slots. */
  readonly claim: SingleFlight = singleFlight(() => this.claimOnce());

  private async claimOnce(): Promise<void> {
    try {
      if (this.stopped) return;
      if (Date.now() - this.refreshedAt > 15_000) await this.refresh();
      await this.renewLeases();
      const waiting = [...this.entries.values()].filter((e) => e.claimed && !e.running).length;
      const free = this.concurrency - this.running - waiting;
      if (free <= 0) return;
      const { store } = this.options;
      const owner = this.leases.id;
      const claimed = await store.claimDueMaterials(
        owner,
        Date.now(),
        this.leases.leaseUntil(),
        free,
      );
      for (const { fingerprint, trigger } of claimed) {
        // Another instance may have added the package: read the catalog again.
        if (!this.entries.has(fingerprint)) await this.refresh();
        const entry = this.entries.get(fingerprint);
        if (!entry || this.stopped) {
          await store.releaseMaterial(fingerprint, owner);
          continue;
        }
        entry.claimed = true;
        entry.dueAt = Date.now();
        entry.trigger = trigger;
      }
      this.wake();
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not lease due materials');
    }
  }

  /** Materials polled, with when each is next due. */
  schedule(): { fingerprint: string; dueAt: number; running: boolean }[] {
    return [...this.entries.values()].map((e) => ({
      fingerprint: e.pkg.fingerprint,
      dueAt: e.dueAt,
      running: e.running,
    }));
  }

  /**
   * Stops: no new checks; running ones may finish for `graceMs`, then are aborted (their
   * results are not recorded, so nothing half-done reaches the store).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.claimTimer);
    await this.claim.current;
    const pending = [...this.inFlight.values()];
    const all = Promise.allSettled(pending.map((p) => p.promise));
    const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([all, timeout]);
    for (const p of pending)
      p.abort.abort(new HoistError('ERR_PLUGIN_TIMEOUT', 'the server is shutting down'));
    await all;
  }

  private wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const due = [...this.entries.values()]
      .filter((e) => !e.running && (!this.shared || e.claimed))
      .sort((a, b) => a.dueAt - b.dueAt);
    for (const entry of due) {
      if (entry.dueAt > now) {
        next = Math.min(next, entry.dueAt);
        break;
      }
      if (this.running >= this.concurrency) break;
      const host = hostKey(entry.pkg.repositoryConfig);
      if ((this.runningByHost.get(host) ?? 0) >= this.perHost) continue;
      this.launch(entry, host);
    }
    if (Number.isFinite(next)) {
      this.timer = setTimeout(() => this.wake(), Math.max(5, Math.min(next - now, 2 ** 31 - 1)));
      this.timer.unref();
    }
  }

  private launch(entry: Entry, host: string): void {
    entry.running = true;
    this.running++;
    this.runningByHost.set(host, (this.runningByHost.get(host) ?? 0) + 1);
    const abort = new AbortController();
    const promise = this.check(entry, abort.signal)
      .catch((error) =>
        this.options.logger.error(
          { err: error, material: label(entry.pkg) },
          'check failed unexpectedly',
        ),
      )
      .finally(() => {
        entry.running = false;
        this.running--;
        this.runningByHost.set(host, (this.runningByHost.get(host) ?? 1) - 1);
        this.inFlight.delete(entry.pkg.fingerprint);
        if (entry.again) {
          entry.again = false;
          entry.dueAt = Date.now();
          entry.trigger = 'manual';
        }
        if (this.shared) {
          entry.claimed = false;
          entry.dueAt = Number.POSITIVE_INFINITY;
          // A slot is free: ask the store for more due work now rather than at the next tick.
          setImmediate(() => void this.claim());
        }
        this.wake();
      });
    this.inFlight.set(entry.pkg.fingerprint, { promise, abort });
  }

  private async check(entry: Entry, signal: AbortSignal): Promise<void> {
    const { store, host, logger } = this.options;
    const owner = this.leases.id;
    const { pkg } = entry;
    const trigger = entry.trigger;
    entry.trigger = 'schedule';
    const started = Date.now();
    const material = await store.getMaterial(pkg.fingerprint);
    if (!material) await store.ensureMaterial(pkg.fingerprint, pkg.plugin, null);
    const state = createMemoryState(material?.state ?? {});
    const latest = await store.latestRevision(pkg.fingerprint);
    let revisions: Revision[] = [];
    let failure: HoistError | undefined;
    try {
      const call = { state, signal, timeoutMs: this.options.checkTimeoutMs ?? 300_000 };
      if (latest) {
        revisions = await host.latestRevisionsSince(
          pkg.plugin,
          pkg.repositoryConfig,
          pkg.packageConfig,
          latest,
          call,
        );
      } else {
        const found = await host.latestRevision(
          pkg.plugin,
          pkg.repositoryConfig,
          pkg.packageConfig,
          call,
        );
        revisions = found ? [found] : [];
      }
    } catch (error) {
      if (this.stopped && signal.aborted) return store.releaseMaterial(pkg.fingerprint, owner);
      failure =
        error instanceof HoistError ? error : new HoistError('ERR_PLUGIN_FAILED', String(error));
    }
    if (this.stopped && signal.aborted) return store.releaseMaterial(pkg.fingerprint, owner);
    let failures = material?.failures ?? 0;
    const durationMs = Date.now() - started;
    const interval = pkg.pollIntervalMs;
    let nextAt: number | null;
    let decision: string;
    let outcome: CheckRow['outcome'];
    if (failure) {
      failures++;
      const retryAfter =
        failure instanceof RepositoryUnreachableError ? failure.retryAfterMs : undefined;
      const delay = backoffDelay(interval ?? 60_000, failures, retryAfter);
      nextAt = Date.now() + delay;
      outcome = 'error';
      decision = `failed (${failure.code}); ${interval === null ? 'not polled: check again on demand' : `retrying in ${formatDelay(delay)}`}${failures > 1 ? ` after ${failures} failures in a row` : ''}${retryAfter ? ' (as the repository asked)' : ''}`;
      if (interval === null) nextAt = null;
    } else {
      failures = 0;
      nextAt = interval === null ? null : Date.now() + withJitter(interval);
      outcome = revisions.length > 0 ? 'new' : latest ? 'unchanged' : 'nothing';
      decision =
        outcome === 'new'
          ? `stored ${revisions.length} new revision${revisions.length === 1 ? '' : 's'}: ${revisions.map((r) => r.revision).join(', ')}`
          : outcome === 'unchanged'
            ? `nothing newer than ${latest?.revision}`
            : 'no package matches yet';
    }
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
    if (entry.again === false) entry.dueAt = nextAt ?? Number.POSITIVE_INFINITY;
    this.options.metrics?.checkFinished(outcome, durationMs / 1000, inserted.length);
    const log = {
      material: label(pkg),
      instance: owner,
      fingerprint: pkg.fingerprint,
      durationMs,
      outcome,
      trigger,
    };
    if (failure)
      logger.warn({ ...log, code: failure.code, error: failure.message }, 'check failed');
    else logger.debug({ ...log, decision }, 'check finished');
    if (inserted.length > 0) {
      logger.info({ ...log, revisions: inserted.map((r) => r.revision) }, 'new revisions');
      await this.options.onRevisions?.(pkg, inserted, trigger);
    }
  }
}

function label(pkg: PolledPackage): string {
  return `${pkg.repository}/${pkg.name}`;
}

function formatDelay(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10}h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10}m`;
  return `${Math.round(ms / 100) / 10}s`;
}
