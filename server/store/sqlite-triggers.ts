import type Database from 'better-sqlite3';
import { pendingKey, toPendingTrigger } from './pending-rows.ts';
import { toRevision } from './rows.ts';
import type { TriggerStore } from './store.ts';

type Row = Record<string, unknown>;

/** Statements that record pending triggers inside the transactions of other writes. */
export interface SqlitePendingWriter {
  /** Records the scheduling new revisions cause; answers its id (undefined: already recorded). */
  revisions(
    fingerprint: string,
    revisionIds: number[],
    checkTrigger: string,
    lease: { owner: string; until: number | null },
  ): number | undefined;
  /** Records the downstream scheduling of a passed stage. */
  stage(
    runId: number,
    stage: string,
    lease: { owner: string | null; until: number | null },
  ): number | undefined;
}

/** Pending triggers on SQLite: what to schedule, recorded with what caused it. */
export function sqliteTriggers(db: Database.Database): TriggerStore & {
  writer: SqlitePendingWriter;
} {
  const t = {
    insert: db.prepare(`INSERT INTO pending_triggers
      (key, kind, fingerprint, revision_ids, check_trigger, run_id, stage, created_at, lease_owner, lease_until)
      VALUES (@key, @kind, @fingerprint, @revisionIds, @checkTrigger, @runId, @stage, @now, @owner, @until)
      ON CONFLICT (key) DO NOTHING`),
    claimable: db.prepare(`SELECT p.*, r.pipeline, r.counter FROM pending_triggers p
      LEFT JOIN runs r ON r.id = p.run_id
      WHERE p.lease_owner IS NULL OR p.lease_until < ? ORDER BY p.id LIMIT ?`),
    lease: db.prepare('UPDATE pending_triggers SET lease_owner = ?, lease_until = ? WHERE id = ?'),
    renew: db.prepare(
      'UPDATE pending_triggers SET lease_until = ? WHERE lease_owner = ? AND id IN (SELECT value FROM json_each(?))',
    ),
    complete: db.prepare('DELETE FROM pending_triggers WHERE id = ?'),
    retry: db.prepare(
      'UPDATE pending_triggers SET attempts = attempts + 1, lease_owner = NULL, lease_until = NULL WHERE id = ?',
    ),
    revision: db.prepare('SELECT * FROM revisions WHERE id = ?'),
  };
  const insert = (values: Record<string, unknown>) => {
    const info = t.insert.run({
      fingerprint: null,
      revisionIds: null,
      checkTrigger: null,
      runId: null,
      stage: null,
      now: new Date().toISOString(),
      ...values,
    });
    return info.changes > 0 ? Number(info.lastInsertRowid) : undefined;
  };
  const revisionsOf = (row: Row) =>
    row.revision_ids === null
      ? []
      : (JSON.parse(String(row.revision_ids)) as number[]).flatMap((id) => {
          const found = t.revision.get(id) as Row | undefined;
          return found ? [toRevision(found)] : [];
        });
  const claim = db.transaction((owner: string, now: number, until: number, limit: number) => {
    const rows = t.claimable.all(now, limit) as Row[];
    for (const row of rows) t.lease.run(owner, until, row.id);
    return rows.map((row) => toPendingTrigger(row, revisionsOf(row)));
  });
  return {
    writer: {
      revisions: (fingerprint, revisionIds, checkTrigger, lease) =>
        insert({
          key: pendingKey({ fingerprint, revisionIds }),
          kind: 'revisions',
          fingerprint,
          revisionIds: JSON.stringify(revisionIds),
          checkTrigger,
          owner: lease.until === null ? null : lease.owner,
          until: lease.until,
        }),
      stage: (runId, stage, lease) =>
        insert({
          key: pendingKey({ runId, stage }),
          kind: 'stage',
          runId,
          stage,
          owner: lease.until === null ? null : lease.owner,
          until: lease.until,
        }),
    },
    claimPendingTriggers: async (owner, now, leaseUntil, limit) =>
      claim(owner, now, leaseUntil, limit),
    renewPendingTriggers: async (owner, held, leaseUntil) =>
      void t.renew.run(leaseUntil, owner, JSON.stringify(held)),
    completePendingTrigger: async (id) => void t.complete.run(id),
    retryPendingTrigger: async (id) => void t.retry.run(id),
  };
}
