import type { PolledPackage } from '../catalog/catalog.ts';
import type { LeaseHolder } from '../cluster/lease-holder.ts';
import type { Logger } from '../logger.ts';
import { type SingleFlight, singleFlight } from '../single-flight.ts';
import type { CheckRow, Store } from '../store/store.ts';

/** One material as the poller tracks it. */
export interface Entry {
  pkg: PolledPackage;
  dueAt: number;
  trigger: CheckRow['trigger'];
  running: boolean;
  /** A check-now arrived while a check was running: run again when it ends. */
  again: boolean;
  /** Shared polling: this instance holds the lease of the material's next check. */
  claimed: boolean;
}

/** What a due source may see and do of the poller. */
export interface PollerCore {
  readonly entries: ReadonlyMap<string, Entry>;
  /** Checks running now, and the most at once. */
  readonly running: number;
  readonly concurrency: number;
  refresh(): Promise<void>;
  /** Launches what is due. */
  wake(): void;
  /** The entry's due time was set: queue it for `wake` (every change of `dueAt` but at start-up). */
  queue(entry: Entry): void;
  isStopped(): boolean;
}

/**
 * Where due times come from: the one place where a lone server and instances sharing a store
 * poll differently. Alone, each material is due on its own interval, kept in memory; shared,
 * the store says what is due and leases each check to one instance.
 */
export interface DueSource {
  readonly shared: boolean;
  /** Marks what is due at start-up (the poller is still stopped) and starts its own timers. */
  start(core: PollerCore): Promise<void>;
  /** The poller runs now: take the first work. */
  begin(): Promise<void>;
  /** When a material the poller sees for the first time is due. */
  firstDue(pkg: PolledPackage, now: number, checkNewNow: boolean): number;
  /** May a due entry be launched? */
  mayLaunch(entry: Entry): boolean;
  /** Someone asked to check this material now. */
  checkNow(entry: Entry): Promise<void>;
  /** A check of the entry ended (`nextAt` from its decision, or undefined when abandoned). */
  checkEnded(entry: Entry, nextAt: number | null | undefined): void;
  /** How long (ms) each material that is due and not being checked has waited at `now`. */
  waits(now: number): Promise<number[]>;
  stop(): Promise<void>;
}

/** A lone server: due times in memory, every material checked at start-up. */
export function localDue(): DueSource {
  let entries: ReadonlyMap<string, Entry> = new Map();
  return {
    shared: false,
    async start(core) {
      entries = core.entries;
      const now = Date.now();
      for (const entry of core.entries.values()) {
        if (entry.pkg.pollIntervalMs === null) continue;
        entry.dueAt = now;
        entry.trigger = 'start';
      }
    },
    firstDue: (pkg, now, checkNewNow) =>
      pkg.pollIntervalMs === null
        ? Number.POSITIVE_INFINITY
        : checkNewNow
          ? now
          : now + pkg.pollIntervalMs,
    async begin() {},
    mayLaunch: () => true,
    async checkNow(entry) {
      if (entry.running) entry.again = true;
      entry.dueAt = Date.now();
      entry.trigger = 'manual';
    },
    checkEnded(entry, nextAt) {
      if (entry.again) {
        entry.again = false;
        entry.dueAt = Date.now();
        entry.trigger = 'manual';
      } else if (nextAt !== undefined) {
        entry.dueAt = nextAt ?? Number.POSITIVE_INFINITY;
      }
    },
    waits: async (now) =>
      [...entries.values()].filter((e) => !e.running && e.dueAt <= now).map((e) => now - e.dueAt),
    async stop() {},
  };
}

/** Instances sharing a store: what is due comes from it, and each check is leased there. */
export class SharedDue implements DueSource {
  readonly shared = true;
  private core: PollerCore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshedAt = 0;
  private renewedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly leases: LeaseHolder,
    private readonly logger: Logger,
    private readonly claimIntervalMs = 1000,
  ) {}

  async start(core: PollerCore): Promise<void> {
    this.core = core;
    this.refreshedAt = Date.now();
    await this.checkAllIfAlone(core);
    this.timer = setInterval(() => void this.claim(), this.claimIntervalMs);
    this.timer.unref();
  }

  async begin(): Promise<void> {
    await this.claim();
  }

  firstDue(): number {
    return Number.POSITIVE_INFINITY;
  }

  mayLaunch(entry: Entry): boolean {
    return entry.claimed;
  }

  async checkNow(entry: Entry): Promise<void> {
    await this.store.scheduleMaterial(entry.pkg.fingerprint, new Date().toISOString(), 'manual');
    await this.claim();
  }

  checkEnded(entry: Entry): void {
    entry.again = false;
    entry.claimed = false;
    entry.dueAt = Number.POSITIVE_INFINITY;
    // A slot is free: ask the store for more due work now rather than at the next tick.
    setImmediate(() => void this.claim());
  }

  /**
   * From the store: due materials that nobody leased, and those this instance leased that wait
   * for a free slot (another instance tells of the ones it leased).
   */
  async waits(now: number): Promise<number[]> {
    const entries = [...(this.core?.entries.values() ?? [])];
    const running = new Set(entries.filter((e) => e.running).map((e) => e.pkg.fingerprint));
    return (await this.store.materialSummaries()).flatMap((m) => {
      const due = m.nextCheckAt === null ? Number.NaN : Date.parse(m.nextCheckAt);
      const waiting =
        m.leaseOwner === null || (m.leaseOwner === this.leases.id && !running.has(m.fingerprint));
      return waiting && due <= now ? [now - due] : [];
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.claim.current;
  }

  /** Leases due materials from the store, as many as there are free slots. */
  readonly claim: SingleFlight = singleFlight(() => this.claimOnce());

  /**
   * The first instance to start (none other alive) checks every material at once, as a lone
   * server does; an instance joining running ones takes its share of the schedule instead.
   */
  private async checkAllIfAlone(core: PollerCore): Promise<void> {
    const now = Date.now();
    const others = (await this.store.listInstances(now - this.leases.leaseMs)).filter(
      (i) => i.id !== this.leases.id,
    );
    if (others.length > 0) return;
    const at = new Date(now).toISOString();
    for (const entry of core.entries.values()) {
      if (entry.pkg.pollIntervalMs !== null)
        await this.store.scheduleMaterial(entry.pkg.fingerprint, at, 'start');
    }
  }

  private async claimOnce(): Promise<void> {
    const core = this.core;
    try {
      if (!core || core.isStopped()) return;
      if (Date.now() - this.refreshedAt > 15_000) await this.refreshCore(core);
      await this.renewLeases(core);
      const waiting = [...core.entries.values()].filter((e) => e.claimed && !e.running).length;
      const free = core.concurrency - core.running - waiting;
      if (free <= 0) return;
      const owner = this.leases.id;
      const claimed = await this.store.claimDueMaterials(
        owner,
        Date.now(),
        this.leases.leaseUntil(),
        free,
      );
      for (const { fingerprint, trigger } of claimed) {
        // Another instance may have added the package: read the catalog again.
        if (!core.entries.has(fingerprint)) await this.refreshCore(core);
        const entry = core.entries.get(fingerprint);
        if (!entry || core.isStopped()) {
          await this.store.releaseMaterial(fingerprint, owner);
          continue;
        }
        entry.claimed = true;
        entry.dueAt = Date.now();
        entry.trigger = trigger;
        core.queue(entry);
      }
      core.wake();
    } catch (error) {
      this.logger.error({ err: error }, 'could not lease due materials');
    }
  }

  private async refreshCore(core: PollerCore): Promise<void> {
    this.refreshedAt = Date.now();
    await core.refresh();
  }

  /**
   * Every third of the lease time, extends the leases of the checks this instance holds and
   * ends any other lease of its own. Runs inside a claim, so that no claim is half-way through.
   */
  private async renewLeases(core: PollerCore): Promise<void> {
    if (Date.now() - this.renewedAt < this.leases.leaseMs / 3) return;
    this.renewedAt = Date.now();
    const held = [...core.entries.values()]
      .filter((e) => e.claimed || e.running)
      .map((e) => e.pkg.fingerprint);
    await this.store.renewMaterialLeases(this.leases.id, held, this.leases.leaseUntil());
  }
}
