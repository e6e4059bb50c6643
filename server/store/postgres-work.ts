import type pg from 'pg';
import type { Transaction } from './postgres-query.ts';
import { dueTrigger, toInstance } from './rows.ts';
import { FORGET_AFTER_MS } from './rules.ts';
import type { StoreWorkSharing } from './store.ts';

/**
 * Work sharing on PostgreSQL: leases taken with `FOR UPDATE SKIP LOCKED`, so that instances
 * claiming at the same moment each get different materials and runs, never the same one, and a
 * lease that its instance stopped renewing is taken over once it expires.
 */
export function postgresWork(pool: pg.Pool, tx: Transaction): StoreWorkSharing {
  const query = (sql: string, params: unknown[]) => pool.query(sql, params);
  const releaseAll = async (c: pg.Pool | pg.PoolClient, owner: string) => {
    await c.query(
      'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1',
      [owner],
    );
    await c.query('UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1', [
      owner,
    ]);
    await c.query(
      'UPDATE pending_triggers SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1',
      [owner],
    );
  };
  return {
    jobInstance: async (id) =>
      ((await query('SELECT instance FROM jobs WHERE id = $1', [id])).rows[0]?.instance as
        | string
        | null
        | undefined) ?? null,
    registerInstance: async (info, now) =>
      void (await query(
        `INSERT INTO instances (id, host, pid, url, version, started_at, heartbeat_at)
        VALUES ($1, $2, $3, $4, $5, $6, $6)
        ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, url = excluded.url,
          version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
        [info.id, info.host, info.pid, info.url, info.version, now],
      )),
    heartbeat: async (id, now) => {
      await query('UPDATE instances SET heartbeat_at = $2 WHERE id = $1', [id, now]);
      await query('DELETE FROM instances WHERE heartbeat_at < $1', [now - FORGET_AFTER_MS]);
    },
    renewMaterialLeases: (owner, held, leaseUntil) =>
      tx(async (c) => {
        await c.query(
          'UPDATE materials SET lease_until = $3 WHERE lease_owner = $1 AND fingerprint = ANY($2::text[])',
          [owner, held, leaseUntil],
        );
        await c.query(
          'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND NOT (fingerprint = ANY($2::text[]))',
          [owner, held],
        );
      }),
    renewRunLeases: (owner, held, leaseUntil) =>
      tx(async (c) => {
        const ids = held.map(String);
        await c.query(
          'UPDATE runs SET lease_until = $3 WHERE lease_owner = $1 AND id = ANY($2::bigint[])',
          [owner, ids, leaseUntil],
        );
        await c.query(
          'UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND NOT (id = ANY($2::bigint[]))',
          [owner, ids],
        );
      }),
    retireInstance: (id) =>
      tx(async (c) => {
        await releaseAll(c, id);
        await c.query('DELETE FROM instances WHERE id = $1', [id]);
      }),
    listInstances: async (since) => {
      const instances = (
        await query('SELECT * FROM instances WHERE heartbeat_at >= $1 ORDER BY started_at, id', [
          since,
        ])
      ).rows as Record<string, unknown>[];
      const materials = (
        await query(
          'SELECT lease_owner, fingerprint FROM materials WHERE lease_owner IS NOT NULL ORDER BY fingerprint',
          [],
        )
      ).rows as { lease_owner: string; fingerprint: string }[];
      const runs = (
        await query(
          'SELECT lease_owner, pipeline, counter FROM runs WHERE lease_owner IS NOT NULL ORDER BY pipeline, counter',
          [],
        )
      ).rows as { lease_owner: string; pipeline: string; counter: number }[];
      return instances.map((row) =>
        toInstance(
          row,
          materials.filter((m) => m.lease_owner === row.id).map((m) => m.fingerprint),
          runs.filter((r) => r.lease_owner === row.id).map((r) => `${r.pipeline}/${r.counter}`),
        ),
      );
    },
    releaseLeases: (owner) => tx((c) => releaseAll(c, owner)),
    claimDueMaterials: async (owner, now, leaseUntil, limit) => {
      const { rows } = await query(
        `WITH due AS (
          SELECT m.fingerprint, m.due_trigger FROM materials m
          JOIN packages p ON p.fingerprint = m.fingerprint
          WHERE m.next_check_at IS NOT NULL AND m.next_check_at <= $3
            AND (m.lease_owner IS NULL OR m.lease_until < $4)
          ORDER BY m.next_check_at LIMIT $5
          FOR UPDATE OF m SKIP LOCKED)
        UPDATE materials m SET lease_owner = $1, lease_until = $2, due_trigger = NULL
        FROM due WHERE m.fingerprint = due.fingerprint
        RETURNING m.fingerprint, due.due_trigger`,
        [owner, leaseUntil, new Date(now).toISOString(), now, limit],
      );
      return (rows as { fingerprint: string; due_trigger: string | null }[]).map((row) => ({
        fingerprint: row.fingerprint,
        trigger: dueTrigger(row.due_trigger),
      }));
    },
    releaseMaterial: async (fingerprint, owner) =>
      void (await query(
        'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE fingerprint = $1 AND lease_owner = $2',
        [fingerprint, owner],
      )),
    claimRun: async (id, owner, now, leaseUntil) =>
      ((
        await query(
          `UPDATE runs SET lease_owner = $2, lease_until = $4
          WHERE id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $3)`,
          [id, owner, now, leaseUntil],
        )
      ).rowCount ?? 0) > 0,
    releaseRun: async (id, owner) =>
      void (await query(
        'UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2',
        [id, owner],
      )),
    claimOrphanRuns: async (owner, now, leaseUntil, limit) => {
      const { rows } = await query(
        `WITH orphan AS (
          SELECT id FROM runs
          WHERE status = 'building' AND lock_wait IS NULL AND (lease_owner IS NULL OR lease_until < $3)
          ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
        UPDATE runs r SET lease_owner = $1, lease_until = $2 FROM orphan WHERE r.id = orphan.id
        RETURNING r.id, r.pipeline, r.counter`,
        [owner, leaseUntil, now, limit],
      );
      return (rows as Record<string, unknown>[]).map((row) => ({
        id: Number(row.id),
        pipeline: String(row.pipeline),
        counter: Number(row.counter),
      }));
    },
    setting: async (key, initial) => {
      await query(
        'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
        [key, initial],
      );
      return String(
        (await query('SELECT value FROM settings WHERE key = $1', [key])).rows[0].value,
      );
    },
  };
}
