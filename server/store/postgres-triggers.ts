import type pg from 'pg';
import { pendingKey, toPendingTrigger } from './pending-rows.ts';
import { type Queryable, rows, type Transaction } from './postgres-query.ts';
import { toRevision } from './rows.ts';
import type { TriggerStore } from './store.ts';

/** A pending trigger to record inside the transaction of the write that causes it. */
export type PendingCause =
  | { fingerprint: string; revisionIds: number[]; checkTrigger: string }
  | { runId: number; stage: string };

/** Records a pending trigger on `c` (in the caller's transaction); its id, unless already there. */
export async function recordPending(
  c: Queryable,
  cause: PendingCause,
  lease: { owner: string | null; until: number | null },
): Promise<number | undefined> {
  const revisions = 'fingerprint' in cause;
  const found = await rows(
    c,
    `INSERT INTO pending_triggers
      (key, kind, fingerprint, revision_ids, check_trigger, run_id, stage, created_at, lease_owner, lease_until)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (key) DO NOTHING RETURNING id`,
    [
      pendingKey(cause),
      revisions ? 'revisions' : 'stage',
      revisions ? cause.fingerprint : null,
      revisions ? JSON.stringify(cause.revisionIds) : null,
      revisions ? cause.checkTrigger : null,
      revisions ? null : cause.runId,
      revisions ? null : cause.stage,
      new Date().toISOString(),
      lease.until === null ? null : lease.owner,
      lease.until,
    ],
  );
  return found[0] ? Number(found[0].id) : undefined;
}

/**
 * Pending triggers on PostgreSQL: claimed with `FOR UPDATE SKIP LOCKED`, so that instances
 * taking over at once each complete different ones.
 */
export function postgresTriggers(pool: pg.Pool, tx: Transaction): TriggerStore {
  return {
    claimPendingTriggers: (owner, now, leaseUntil, limit) =>
      tx(async (c) => {
        const claimed = await rows(
          c,
          `WITH due AS (
            SELECT id FROM pending_triggers WHERE lease_owner IS NULL OR lease_until < $3
            ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
          UPDATE pending_triggers p SET lease_owner = $1, lease_until = $2 FROM due
          WHERE p.id = due.id RETURNING p.*`,
          [owner, leaseUntil, now, limit],
        );
        const result = [];
        for (const row of claimed.sort((a, b) => Number(a.id) - Number(b.id))) {
          const run =
            row.run_id === null
              ? []
              : await rows(c, 'SELECT pipeline, counter FROM runs WHERE id = $1', [row.run_id]);
          const ids =
            row.revision_ids === null ? [] : (JSON.parse(String(row.revision_ids)) as number[]);
          const revisions = await rows(
            c,
            'SELECT * FROM revisions WHERE id = ANY($1::bigint[]) ORDER BY id',
            [ids.map(String)],
          );
          result.push(toPendingTrigger({ ...row, ...(run[0] ?? {}) }, revisions.map(toRevision)));
        }
        return result;
      }),
    renewPendingTriggers: async (owner, held, leaseUntil) =>
      void (await pool.query(
        'UPDATE pending_triggers SET lease_until = $3 WHERE lease_owner = $1 AND id = ANY($2::bigint[])',
        [owner, held.map(String), leaseUntil],
      )),
    completePendingTrigger: async (id) =>
      void (await pool.query('DELETE FROM pending_triggers WHERE id = $1', [id])),
    retryPendingTrigger: async (id) =>
      void (await pool.query(
        'UPDATE pending_triggers SET attempts = attempts + 1, lease_owner = NULL, lease_until = NULL WHERE id = $1',
        [id],
      )),
  };
}
