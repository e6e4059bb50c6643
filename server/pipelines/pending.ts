import type { Catalog } from '../catalog/catalog.ts';
import type { LeaseHolder } from '../cluster/lease-holder.ts';
import type { Logger } from '../logger.ts';
import type { PendingTrigger, Store } from '../store/store.ts';
import type { Scheduler } from './scheduler.ts';

/** Attempts at a pending trigger whose scheduling keeps failing for some pipeline. */
export const PENDING_ATTEMPTS = 3;

/** Pending triggers claimed at once. */
const CLAIM_LIMIT = 50;

/** What completing owed scheduling needs. */
export interface PendingOptions {
  store: Store;
  catalog: Catalog;
  logger: Logger;
  leases: LeaseHolder;
}

/**
 * Owed scheduling: the store records it with its cause (new revisions, a passed stage) in the
 * same transaction, and it is deleted only once every pipeline it concerns has its run. Work of
 * this instance is completed at once; at start-up, and on every heartbeat, work whose instance
 * stopped before completing it is claimed and completed here. Runs are keyed by pipeline and
 * cause, so that completing the same work twice creates nothing twice.
 */
export class PendingScheduling {
  private readonly working = new Map<number, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly options: PendingOptions,
    private readonly scheduler: Scheduler,
  ) {}

  /**
   * Does the scheduling of pending trigger `id` (held by this instance): done when `work`
   * answers true, else given back to be tried again (at most `PENDING_ATTEMPTS` times).
   */
  settle(id: number | undefined, attempts: number, work: () => Promise<boolean>): Promise<void> {
    const { store, logger } = this.options;
    const done = (async () => {
      let handled = false;
      try {
        handled = await work();
      } catch (error) {
        logger.error({ err: error, pending: id }, 'scheduling failed; it is tried again');
      }
      if (id === undefined) return;
      if (handled || attempts + 1 >= PENDING_ATTEMPTS) {
        if (!handled)
          logger.error(
            { pending: id, attempts: attempts + 1 },
            'scheduling failed for some pipelines (see their schedulingError); not tried again',
          );
        await store.completePendingTrigger(id);
      } else await store.retryPendingTrigger(id);
    })()
      .catch((error) => logger.error({ err: error, pending: id }, 'pending scheduling failed'))
      .finally(() => {
        if (id !== undefined) this.working.delete(id);
      });
    if (id !== undefined) this.working.set(id, done);
    return done;
  }

  /**
   * Extends the leases of the work in hand, and claims pending triggers nobody holds (their
   * instance stopped, or this one before its restart): each is completed in the background.
   */
  async resume(): Promise<void> {
    const { store, leases, logger } = this.options;
    if (this.stopped) return;
    await store.renewPendingTriggers(leases.id, [...this.working.keys()], leases.leaseUntil());
    const claimed = await store.claimPendingTriggers(
      leases.id,
      Date.now(),
      leases.leaseUntil(),
      CLAIM_LIMIT,
    );
    for (const trigger of claimed) {
      if (this.working.has(trigger.id)) continue;
      logger.info({ pending: trigger.id, kind: trigger.kind }, 'completing pending scheduling');
      void this.settle(trigger.id, trigger.attempts, () => this.complete(trigger));
    }
  }

  /** Waits for the work in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.working.values()]);
  }

  private async complete(trigger: PendingTrigger): Promise<boolean> {
    const { store, catalog, logger } = this.options;
    if (trigger.kind === 'stage') {
      const run = await store.getRun(trigger.pipeline, trigger.counter);
      if (!run) return true;
      return this.scheduler.onStagePassed(run, trigger.stage);
    }
    const pkg = (await catalog.polledPackages()).find((p) => p.fingerprint === trigger.fingerprint);
    if (!pkg || trigger.revisions.length === 0) {
      logger.info({ pending: trigger.id }, 'pending scheduling dropped: the package is gone');
      return true;
    }
    return this.scheduler.onRevisions(pkg, trigger.revisions, trigger.checkTrigger);
  }
}
