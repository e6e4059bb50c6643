import type { PipelineConfig } from '../config/schema.ts';
import { LOCK_HOLDING } from '../store/rules.ts';
import type { LockWaiter, PipelineLock, RunChange, RunRow } from '../store/store.ts';

/**
 * Pipeline locks as pure rules (GoCD's `lock_behavior`): with a lock, at most one run of the
 * pipeline is in progress. A run takes the lock when a stage of it is about to start (the store
 * takes it in the same transaction, see `LockStore.startLocked`), holds it through its manual
 * stages, and gives it back when it ends: whatever the result with `unlockWhenFinished`; when
 * it passes or is cancelled with `lockOnFailure`, where a failed run keeps the pipeline locked
 * until an operator unlocks it or that run's failed stage is run again and passes. Runs that
 * find the lock held wait, and start oldest first when it is released.
 */

/** How a pipeline is locked; `none` when its definition says nothing. */
export type LockBehaviour = NonNullable<PipelineConfig['lock']>;

export function behaviourOf(definition: Pick<PipelineConfig, 'lock'>): LockBehaviour {
  return definition.lock ?? 'none';
}

/** Does a run of this pipeline take the lock before a stage starts? */
export function needsLock(behaviour: LockBehaviour): boolean {
  return behaviour !== 'none';
}

/** Does a lock row hold the pipeline (its holder has not passed, been cancelled or gone)? */
export function holds(lock: PipelineLock | undefined): lock is PipelineLock {
  return lock !== undefined && LOCK_HOLDING.has(lock.status);
}

/**
 * The change with the lock's release attached when it ends the run: a run that passes or is
 * cancelled gives it back, a failed one too unless the pipeline locks on failure. The store
 * releases it only if this run holds it, so a pipeline without a lock may carry it too.
 */
export function withRelease(change: RunChange, behaviour: LockBehaviour): RunChange {
  const status = change.run?.status;
  const ends =
    status === 'passed' ||
    status === 'cancelled' ||
    (status === 'failed' && behaviour !== 'lockOnFailure');
  return ends ? { ...change, lock: 'release' } : change;
}

/** What the API shows of a pipeline's lock while it is held. */
export function lockedView(lock: PipelineLock | undefined) {
  return holds(lock)
    ? {
        heldBy: lock.counter,
        state: lock.status === 'failed' ? ('failed' as const) : ('running' as const),
      }
    : undefined;
}

/** The holder as a person reads it: `run 3 (building)`. */
function holder(lock: PipelineLock): string {
  const what = lock.status === 'waiting' ? 'waiting for an approval' : lock.status;
  return `run ${lock.counter} (${what})`;
}

/**
 * Why a run waits for its pipeline's lock, or undefined when it does not: it is building, its
 * next stage has not started, and another run holds the lock.
 */
export function waitingFor(
  run: RunRow,
  lock: PipelineLock | undefined,
  behaviour: LockBehaviour,
): string | undefined {
  if (!needsLock(behaviour) || run.status !== 'building' || !holds(lock)) return undefined;
  if (lock.runId === run.id) return undefined;
  const next = run.stages.find((s) => s.status !== 'passed');
  if (next?.status !== 'scheduled') return undefined;
  const after =
    lock.status === 'failed' ? '; it stays locked until unlocked or that run passes' : '';
  return `the lock of pipeline '${run.pipeline}', held by ${holder(lock)}${after}`;
}

/**
 * Why an operator may not unlock the pipeline, or undefined when they may: only a lock that a
 * failed run keeps is unlocked by hand; a running holder gives it back when it ends.
 */
export function unlockRefusal(
  pipeline: string,
  lock: PipelineLock | undefined,
): string | undefined {
  if (!holds(lock)) return `pipeline '${pipeline}' is not locked`;
  if (lock.status === 'failed') return undefined;
  return `the lock of pipeline '${pipeline}' is held by ${holder(lock)}, which releases it when it ends: cancel the run first`;
}

/**
 * A lock that no longer holds by the pipeline's configuration: its lock is now `none`, or a
 * failed run keeps it although the pipeline no longer locks on failure.
 */
export function stale(lock: PipelineLock, behaviour: LockBehaviour): boolean {
  if (!holds(lock) || behaviour === 'none') return true;
  return lock.status === 'failed' && behaviour !== 'lockOnFailure';
}

/**
 * Which waiting runs to start: of a pipeline whose lock is free, the oldest; of a pipeline
 * that no longer locks, all of them (they start without the lock). `waiters` are ordered by
 * pipeline and counter, and `locks` are those still held.
 */
export function toWake(
  waiters: readonly LockWaiter[],
  locks: ReadonlyMap<string, PipelineLock>,
  behaviourOfPipeline: (pipeline: string) => LockBehaviour,
): LockWaiter[] {
  const woken: LockWaiter[] = [];
  const seen = new Set<string>();
  for (const waiter of waiters) {
    if (!needsLock(behaviourOfPipeline(waiter.pipeline))) woken.push(waiter);
    else if (!seen.has(waiter.pipeline) && !holds(locks.get(waiter.pipeline))) woken.push(waiter);
    seen.add(waiter.pipeline);
  }
  return woken;
}
