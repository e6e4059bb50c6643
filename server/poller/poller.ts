import { type Configuration, HoistError, type PluginHost } from 'hoist';
import type { Catalog, PolledPackage } from '../catalog/catalog.ts';
import { type LeaseHolder, localLeases } from '../cluster/lease-holder.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { type CheckDeps, checkMaterial, type PollerMetrics } from './check.ts';
import { type DueSource, type Entry, localDue, type PollerCore, SharedDue } from './due.ts';
import { DueQueue } from './due-queue.ts';
import { hostKey } from './timing.ts';

export type { PollerMetrics } from './check.ts';

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
  /**
   * Called after new revisions are stored (the scheduler listens here); answering false says
   * that some pipeline was not scheduled (the pending scheduling is then tried again).
   */
  onRevisions?: CheckDeps['onRevisions'];
}

/**
 * Polls every material on its interval (with jitter), at most `concurrency` at once and
 * `perHost` per repository host, one check at a time per fingerprint; backs off exponentially
 * on failure, honouring `Retry-After`; records every check with the decision it took. Where due
 * times come from (memory, or the store shared with other instances) is its `DueSource`.
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
  private readonly hosts = new WeakMap<Configuration, string>();
  private wakeQueued = false;
  private readonly due: DueSource;
  /** The due time and host each entry was last queued with (until it is launched). */
  private readonly queuedAs = new WeakMap<Entry, { at: number; host: string }>();
  /** Entries that may start, per host in order of due time (see `queue`). */
  private readonly queued = new DueQueue<Entry>(
    (entry, at, host) =>
      !entry.running &&
      entry.dueAt === at &&
      this.entries.get(entry.pkg.fingerprint) === entry &&
      this.hostOf(entry) === host &&
      this.due.mayLaunch(entry),
  );
  private readonly deps: CheckDeps;
  private readonly catalog: Catalog;

  constructor(options: PollerOptions) {
    const leases = options.leases ?? localLeases();
    this.concurrency = options.concurrency ?? 16;
    this.perHost = options.perHost ?? 4;
    this.catalog = options.catalog;
    this.due = options.shared
      ? new SharedDue(options.store, leases, options.logger, options.claimIntervalMs)
      : localDue();
    this.deps = {
      store: options.store,
      host: options.host,
      logger: options.logger,
      metrics: options.metrics,
      owner: leases.id,
      timeoutMs: options.checkTimeoutMs ?? 300_000,
      leaseUntil: () => leases.leaseUntil(),
      stopping: () => this.stopped,
      onRevisions: options.onRevisions,
    };
  }

  /** Whether due times come from the store (several instances share the checks). */
  get shared(): boolean {
    return this.due.shared;
  }

  /**
   * Loads the materials and checks each one now (the first check happens at start-up); with
   * shared polling, checks what the store says is due, as the other instances do.
   */
  async start(): Promise<void> {
    // Still stopped while loading, so that nothing launches before it is marked as a start check.
    await this.refresh({ checkNewNow: true });
    await this.due.start(this.core());
    for (const entry of this.entries.values()) this.queue(entry);
    this.stopped = false;
    await this.due.begin();
    this.wake();
  }

  /** Re-reads the packages after a configuration change. */
  async refresh(options: { checkNewNow?: boolean } = {}): Promise<void> {
    const packages = await this.catalog.polledPackages();
    const seen = new Set<string>();
    const now = Date.now();
    for (const pkg of packages) {
      seen.add(pkg.fingerprint);
      const entry = this.entries.get(pkg.fingerprint);
      if (entry) {
        entry.pkg = pkg;
        // Its repository (and so its host) may have changed: queued again only if so.
        this.queue(entry);
        continue;
      }
      const added: Entry = {
        pkg,
        dueAt: this.due.firstDue(pkg, now, options.checkNewNow !== false),
        trigger: 'schedule',
        running: false,
        again: false,
        claimed: false,
      };
      this.entries.set(pkg.fingerprint, added);
      this.queue(added);
    }
    for (const fingerprint of [...this.entries.keys()]) {
      if (!seen.has(fingerprint)) this.entries.delete(fingerprint);
    }
    this.wake();
  }

  /** Checks these materials as soon as a slot is free; returns those it knows. */
  async checkNow(fingerprints: readonly string[]): Promise<PolledPackage[]> {
    const queued: PolledPackage[] = [];
    for (const fingerprint of fingerprints) {
      const entry = this.entries.get(fingerprint);
      if (!entry) continue;
      queued.push(entry.pkg);
      await this.due.checkNow(entry);
      this.queue(entry);
    }
    this.wake();
    return queued;
  }

  /** How long (ms) each material that is due, and not being checked, has waited for its check. */
  dueWaits(now = Date.now()): Promise<number[]> {
    return this.due.waits(now);
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
    await this.due.stop();
    const pending = [...this.inFlight.values()];
    const all = Promise.allSettled(pending.map((p) => p.promise));
    const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([all, timeout]);
    for (const p of pending)
      p.abort.abort(new HoistError('ERR_PLUGIN_TIMEOUT', 'the server is shutting down'));
    await all;
  }

  private core(): PollerCore {
    const poller = this;
    return {
      entries: this.entries,
      get running() {
        return poller.running;
      },
      concurrency: this.concurrency,
      refresh: () => this.refresh(),
      wake: () => this.wake(),
      queue: (entry) => this.queue(entry),
      isStopped: () => this.stopped,
    };
  }

  /** Queues an entry whose due time was set (or may have changed) for `wake` to find. */
  private queue(entry: Entry): void {
    if (entry.running) return;
    const host = this.hostOf(entry);
    // Queued already with this due time and host (a refresh re-reads every material): once.
    const last = this.queuedAs.get(entry);
    if (last && last.at === entry.dueAt && last.host === host) return;
    this.queuedAs.set(entry, { at: entry.dueAt, host });
    this.queued.push(host, entry.dueAt, entry);
  }

  private wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = Date.now();
    // Each free slot takes the earliest due entry whose host has room: a look at each host's
    // earliest entry, not a pass over every material (that cost milliseconds per check at
    // 10,000 materials, most of them waiting on a host at its limit).
    const hasRoom = (host: string) => (this.runningByHost.get(host) ?? 0) < this.perHost;
    let next = Number.POSITIVE_INFINITY;
    while (this.running < this.concurrency) {
      const taken = this.queued.take(now, hasRoom);
      next = taken.next;
      if (!taken.value || taken.host === undefined) break;
      this.launch(taken.value, taken.host);
    }
    // Every slot taken: woken again when a running check ends.
    if (this.running >= this.concurrency) next = Number.POSITIVE_INFINITY;
    if (Number.isFinite(next)) {
      this.timer = setTimeout(() => this.wake(), Math.max(5, Math.min(next - now, 2 ** 31 - 1)));
      this.timer.unref();
    }
  }

  /** Per-host key of an entry's repository, parsed once per configuration (not at every wake). */
  private hostOf(entry: Entry): string {
    const config = entry.pkg.repositoryConfig;
    let host = this.hosts.get(config);
    if (host === undefined) {
      host = hostKey(config);
      this.hosts.set(config, host);
    }
    return host;
  }

  /** Checks that end in the same turn wake the poller once. */
  private wakeSoon(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      this.wake();
    });
  }

  private launch(entry: Entry, host: string): void {
    this.queuedAs.delete(entry);
    if (entry.trigger === 'schedule')
      this.deps.metrics?.checkStarted?.(Math.max(0, Date.now() - entry.dueAt) / 1000);
    entry.running = true;
    this.running++;
    this.runningByHost.set(host, (this.runningByHost.get(host) ?? 0) + 1);
    const abort = new AbortController();
    const trigger = entry.trigger;
    entry.trigger = 'schedule';
    let nextAt: number | null | undefined;
    const promise = checkMaterial(this.deps, entry.pkg, trigger, abort.signal)
      .then((at) => {
        nextAt = at;
      })
      .catch((error) =>
        this.deps.logger.error(
          { err: error, material: `${entry.pkg.repository}/${entry.pkg.name}` },
          'check failed unexpectedly',
        ),
      )
      .finally(() => {
        entry.running = false;
        this.running--;
        this.runningByHost.set(host, (this.runningByHost.get(host) ?? 1) - 1);
        this.inFlight.delete(entry.pkg.fingerprint);
        this.due.checkEnded(entry, nextAt);
        this.queue(entry);
        this.wakeSoon();
      });
    this.inFlight.set(entry.pkg.fingerprint, { promise, abort });
  }
}
