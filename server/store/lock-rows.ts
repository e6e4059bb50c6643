import type { LockWaiter, PipelineLock } from './store.ts';

type Row = Record<string, unknown>;

/** A `pipeline_locks` row joined with its holder's status (a holder that is gone held nothing). */
export function toLock(row: Row): PipelineLock {
  return {
    pipeline: String(row.pipeline),
    runId: Number(row.run_id),
    counter: Number(row.counter),
    status: (row.status ?? 'cancelled') as PipelineLock['status'],
    takenAt: String(row.taken_at),
  };
}

/** A waiting run of `LOCK_WAITERS`. */
export function toWaiter(row: Row): LockWaiter {
  return {
    id: Number(row.id),
    pipeline: String(row.pipeline),
    counter: Number(row.counter),
    since: String(row.lock_wait),
  };
}

/** Locks with their holders' statuses (a condition may follow). */
export const LOCKS = `SELECT l.*, r.status FROM pipeline_locks l LEFT JOIN runs r ON r.id = l.run_id`;
/** Runs waiting for a lock, oldest first per pipeline. */
export const LOCK_WAITERS = `SELECT id, pipeline, counter, lock_wait FROM runs
  WHERE status = 'building' AND lock_wait IS NOT NULL`;
