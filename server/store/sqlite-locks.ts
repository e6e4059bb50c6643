import type Database from 'better-sqlite3';
import { LOCK_WAITERS, LOCKS, toLock, toWaiter } from './lock-rows.ts';
import { LOCK_HOLDING } from './rules.ts';
import type { LockStore, PipelineLock, RunChange } from './store.ts';

type Row = Record<string, unknown>;

/**
 * Pipeline locks on SQLite: one instance writes, so a transaction alone serialises takers.
 * `write` applies a run change inside the caller's transaction.
 */
export function sqliteLocks(
  db: Database.Database,
  write: (id: number, change: RunChange) => void,
): LockStore {
  const now = () => new Date().toISOString();
  const q = {
    run: db.prepare('SELECT pipeline, counter FROM runs WHERE id = ?'),
    lock: db.prepare(`${LOCKS} WHERE l.pipeline = ?`),
    locks: db.prepare(`${LOCKS} ORDER BY l.pipeline`),
    older: db.prepare(`${LOCK_WAITERS} AND pipeline = ? AND counter < ? LIMIT 1`),
    waiters: db.prepare(`${LOCK_WAITERS} ORDER BY pipeline, counter`),
    waitersOf: db.prepare(`${LOCK_WAITERS} AND pipeline = ? ORDER BY counter`),
    take: db.prepare(`INSERT INTO pipeline_locks (pipeline, run_id, counter, taken_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (pipeline) DO UPDATE SET run_id = excluded.run_id, counter = excluded.counter,
        taken_at = excluded.taken_at`),
    wait: db.prepare('UPDATE runs SET lock_wait = COALESCE(lock_wait, ?) WHERE id = ?'),
    release: db.prepare(`DELETE FROM pipeline_locks WHERE pipeline = ? AND run_id = ?
      AND run_id IN (SELECT id FROM runs WHERE status = ?)`),
  };
  const one = (stmt: Database.Statement, ...args: unknown[]) =>
    stmt.get(...args) as Row | undefined;

  const startLocked = db.transaction((id: number, change: RunChange) => {
    const run = one(q.run, id);
    if (!run) throw new Error(`no run ${id}`);
    const row = one(q.lock, run.pipeline);
    const holder = row && toLock(row);
    if (holder?.runId !== id) {
      if (holder && LOCK_HOLDING.has(holder.status)) return refuse(id, holder);
      if (one(q.older, run.pipeline, run.counter)) return refuse(id, undefined);
      q.take.run(run.pipeline, id, run.counter, now());
    }
    write(id, change);
    return { taken: true as const };
  });
  const refuse = (id: number, holder: PipelineLock | undefined) => {
    q.wait.run(now(), id);
    return { taken: false as const, holder };
  };

  return {
    startLocked: async (id, change) => startLocked(id, change),
    getLock: async (pipeline) => {
      const row = one(q.lock, pipeline);
      return row && toLock(row);
    },
    listLocks: async () => (q.locks.all() as Row[]).map(toLock),
    releaseLock: async (pipeline, runId, status) =>
      q.release.run(pipeline, runId, status).changes > 0,
    lockWaiters: async (pipeline) =>
      ((pipeline === undefined ? q.waiters.all() : q.waitersOf.all(pipeline)) as Row[]).map(
        toWaiter,
      ),
  };
}
