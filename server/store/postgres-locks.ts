import type pg from 'pg';
import { LOCK_WAITERS, LOCKS, toLock, toWaiter } from './lock-rows.ts';
import { one, type Queryable, rows, type Transaction } from './postgres-query.ts';
import { LOCK_HOLDING } from './rules.ts';
import type { LockStore, PipelineLock, RunChange } from './store.ts';

/** The advisory lock that serialises the takers and releasers of one pipeline's lock. */
const serialise = (c: Queryable, pipeline: string) =>
  c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hoist:lock:${pipeline}`]);

/**
 * Takes the serialising advisory lock of a run's pipeline (in the caller's transaction), so that
 * a release and a take of one lock never interleave: either the taker sees the lock free, or
 * its wait is committed before the releaser looks for waiting runs to start.
 */
export async function lockPipelineOf(c: Queryable, runId: number): Promise<void> {
  const run = await one(c, 'SELECT pipeline FROM runs WHERE id = $1', [runId]);
  if (run) await serialise(c, String(run.pipeline));
}

/**
 * Pipeline locks on PostgreSQL, shared by every instance: takers of one pipeline's lock are
 * serialised by an advisory lock held to the end of their transaction. `write` applies a run
 * change inside the caller's transaction.
 */
export function postgresLocks(
  pool: pg.Pool,
  tx: Transaction,
  write: (c: Queryable, id: number, change: RunChange) => Promise<void>,
): LockStore {
  const now = () => new Date().toISOString();
  const refuse = async (c: Queryable, id: number, holder: PipelineLock | undefined) => {
    await c.query('UPDATE runs SET lock_wait = COALESCE(lock_wait, $2) WHERE id = $1', [id, now()]);
    return { taken: false as const, holder };
  };
  const startLocked = (id: number, change: RunChange) =>
    tx(async (c) => {
      const run = await one(c, 'SELECT pipeline, counter FROM runs WHERE id = $1', [id]);
      if (!run) throw new Error(`no run ${id}`);
      await serialise(c, String(run.pipeline));
      const row = await one(c, `${LOCKS} WHERE l.pipeline = $1`, [run.pipeline]);
      const holder = row && toLock(row);
      if (holder?.runId !== id) {
        if (holder && LOCK_HOLDING.has(holder.status)) return refuse(c, id, holder);
        const older = await one(c, `${LOCK_WAITERS} AND pipeline = $1 AND counter < $2 LIMIT 1`, [
          run.pipeline,
          run.counter,
        ]);
        if (older) return refuse(c, id, undefined);
        await c.query(
          `INSERT INTO pipeline_locks (pipeline, run_id, counter, taken_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (pipeline) DO UPDATE SET run_id = excluded.run_id, counter = excluded.counter,
            taken_at = excluded.taken_at`,
          [run.pipeline, id, run.counter, now()],
        );
      }
      await write(c, id, change);
      return { taken: true as const };
    });

  return {
    startLocked,
    getLock: async (pipeline) => {
      const row = await one(pool, `${LOCKS} WHERE l.pipeline = $1`, [pipeline]);
      return row && toLock(row);
    },
    listLocks: async () => (await rows(pool, `${LOCKS} ORDER BY l.pipeline`)).map(toLock),
    releaseLock: (pipeline, runId, status) =>
      tx(async (c) => {
        await serialise(c, pipeline);
        const result = await c.query(
          `DELETE FROM pipeline_locks WHERE pipeline = $1 AND run_id = $2
          AND run_id IN (SELECT id FROM runs WHERE status = $3)`,
          [pipeline, runId, status],
        );
        return (result.rowCount ?? 0) > 0;
      }),
    lockWaiters: async (pipeline) =>
      (pipeline === undefined
        ? await rows(pool, `${LOCK_WAITERS} ORDER BY pipeline, counter`)
        : await rows(pool, `${LOCK_WAITERS} AND pipeline = $1 ORDER BY counter`, [pipeline])
      ).map(toWaiter),
  };
}
