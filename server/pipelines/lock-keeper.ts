import { ConflictError, NotFoundError } from 'hoist';
import type { Logger } from '../logger.ts';
import type { PipelineLock, RunChange, RunRow, Store } from '../store/store.ts';
import { definitionOf } from './definition.ts';
import * as locking from './locking.ts';

/** Options of the lock keeper. */
export interface LockKeeperOptions {
  store: Store;
  logger: Logger;
  /** Advances a run (under its lease, one advance at a time). */
  kick(runId: number, pipeline: string, counter: number): void;
}

/**
 * Pipeline locks for the engine: stages start through it (taking the lock when the pipeline
 * has one), run changes are written through it (releasing the lock with the run's end), and
 * waiting runs start when a lock is released, here or, found on the heartbeat, elsewhere.
 */
export class LockKeeper {
  constructor(private readonly options: LockKeeperOptions) {}

  async behaviour(pipeline: string): Promise<locking.LockBehaviour> {
    const row = await this.options.store.getPipeline(pipeline);
    return row ? locking.behaviourOf(definitionOf(row)) : 'none';
  }

  /**
   * Writes the start of a stage, with the pipeline's lock when it has one. False when another
   * run holds it (or an older one waits for it): nothing started, and the run waits.
   */
  async start(run: RunRow, change: RunChange): Promise<boolean> {
    const { store, logger } = this.options;
    if (!locking.needsLock(await this.behaviour(run.pipeline))) {
      await store.changeRun(run.id, change);
      return true;
    }
    const take = await store.startLocked(run.id, change);
    if (take.taken) return true;
    const held = take.holder ? `run ${take.holder.counter} holds it` : 'an older run waits for it';
    logger.info(
      { pipeline: run.pipeline, counter: run.counter },
      `run waits for the lock of its pipeline: ${held}`,
    );
    return false;
  }

  /**
   * Writes a run change; one that ends the run gives the lock back with it (see
   * `locking.withRelease`), and the run waiting longest then starts.
   */
  async write(
    run: RunRow,
    change: RunChange,
    lease?: { owner: string; until: number },
  ): Promise<number | undefined> {
    // Only a failure depends on the behaviour: other ends always release, the rest never do.
    const failed = change.run?.status === 'failed';
    const behaviour = failed ? await this.behaviour(run.pipeline) : 'none';
    const released = locking.withRelease(change, behaviour);
    const owed = await this.options.store.changeRun(run.id, released, lease);
    if (released.lock === 'release') await this.wake(run.pipeline);
    return owed;
  }

  /** Starts what waits for the pipeline's lock, if it is free (or the pipeline has none). */
  async wake(pipeline: string): Promise<void> {
    const { store } = this.options;
    const waiters = await store.lockWaiters(pipeline);
    if (waiters.length === 0) return;
    const lock = await store.getLock(pipeline);
    const behaviour = await this.behaviour(pipeline);
    const locks = new Map(lock ? [[pipeline, lock]] : []);
    for (const w of locking.toWake(waiters, locks, () => behaviour))
      this.options.kick(w.id, w.pipeline, w.counter);
  }

  /**
   * On every heartbeat: locks the configuration no longer keeps are released (a pipeline whose
   * lock became `none`), and runs waiting for a free lock start, whichever instance freed it.
   */
  async sweep(): Promise<void> {
    const { store, logger } = this.options;
    const [locks, waiters] = await Promise.all([store.listLocks(), store.lockWaiters()]);
    if (locks.length === 0 && waiters.length === 0) return;
    const behaviours = new Map<string, locking.LockBehaviour>();
    for (const name of new Set([...locks, ...waiters].map((x) => x.pipeline)))
      behaviours.set(name, await this.behaviour(name));
    const behaviourOf = (name: string) => behaviours.get(name) ?? 'none';
    const held = new Map<string, PipelineLock>();
    for (const lock of locks) {
      if (!locking.stale(lock, behaviourOf(lock.pipeline))) held.set(lock.pipeline, lock);
      else if (await store.releaseLock(lock.pipeline, lock.runId, lock.status))
        logger.info(
          { pipeline: lock.pipeline, counter: lock.counter },
          'lock released: the pipeline no longer keeps it',
        );
    }
    for (const w of locking.toWake(waiters, held, behaviourOf))
      this.options.kick(w.id, w.pipeline, w.counter);
  }

  /**
   * An operator unlocks a pipeline that a failed run keeps locked; the run waiting longest
   * starts. Refused while the holder runs or waits for an approval.
   */
  async unlock(pipeline: string): Promise<{ pipeline: string; unlocked: number }> {
    const { store, logger } = this.options;
    if (!(await store.getPipeline(pipeline))) throw new NotFoundError(`no pipeline '${pipeline}'`);
    const lock = await store.getLock(pipeline);
    const refusal = locking.unlockRefusal(pipeline, lock);
    if (refusal || !lock)
      throw new ConflictError(refusal ?? `pipeline '${pipeline}' is not locked`);
    if (!(await store.releaseLock(pipeline, lock.runId, 'failed')))
      throw new ConflictError(`the lock of pipeline '${pipeline}' changed meanwhile; try again`);
    logger.info({ pipeline, counter: lock.counter }, 'pipeline unlocked');
    await this.wake(pipeline);
    return { pipeline, unlocked: lock.counter };
  }
}
