import type Database from 'better-sqlite3';
import { dueTrigger, toInstance } from './rows.ts';
import { FORGET_AFTER_MS } from './rules.ts';
import type { StoreWorkSharing } from './store.ts';

type Row = Record<string, unknown>;

/**
 * Work sharing on SQLite. There is one instance, but the same leases keep its bookkeeping
 * identical to PostgreSQL's (and a restarted instance takes its own leases back at once).
 */
export function sqliteWork(db: Database.Database): StoreWorkSharing {
  const all = (stmt: Database.Statement, ...args: unknown[]) => stmt.all(...args) as Row[];
  const one = (stmt: Database.Statement, ...args: unknown[]) =>
    stmt.get(...args) as Row | undefined;
  const w = {
    jobInstance: db.prepare('SELECT instance FROM jobs WHERE id = ?'),
    registerInstance:
      db.prepare(`INSERT INTO instances (id, host, pid, url, version, started_at, heartbeat_at)
    VALUES (@id, @host, @pid, @url, @version, @now, @now)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, url = excluded.url,
      version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`),
    beat: db.prepare('UPDATE instances SET heartbeat_at = ? WHERE id = ?'),
    forget: db.prepare('DELETE FROM instances WHERE heartbeat_at < ?'),
    renewMaterials: db.prepare(
      'UPDATE materials SET lease_until = ? WHERE lease_owner = ? AND fingerprint IN (SELECT value FROM json_each(?))',
    ),
    releaseOtherMaterials: db.prepare(
      'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND fingerprint NOT IN (SELECT value FROM json_each(?))',
    ),
    renewRuns: db.prepare(
      'UPDATE runs SET lease_until = ? WHERE lease_owner = ? AND id IN (SELECT value FROM json_each(?))',
    ),
    releaseOtherRuns: db.prepare(
      'UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND id NOT IN (SELECT value FROM json_each(?))',
    ),
    releaseMaterials: db.prepare(
      'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?',
    ),
    releaseRuns: db.prepare(
      'UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?',
    ),
    releaseTriggers: db.prepare(
      'UPDATE pending_triggers SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?',
    ),
    deleteInstance: db.prepare('DELETE FROM instances WHERE id = ?'),
    instances: db.prepare(
      'SELECT * FROM instances WHERE heartbeat_at >= ? ORDER BY started_at, id',
    ),
    materialLeases: db.prepare(
      'SELECT fingerprint FROM materials WHERE lease_owner = ? ORDER BY fingerprint',
    ),
    runLeases: db.prepare(
      'SELECT pipeline, counter FROM runs WHERE lease_owner = ? ORDER BY pipeline, counter',
    ),
    due: db.prepare(`SELECT m.fingerprint, m.due_trigger FROM materials m
    JOIN packages p ON p.fingerprint = m.fingerprint
    WHERE m.next_check_at IS NOT NULL AND m.next_check_at <= ?
      AND (m.lease_owner IS NULL OR m.lease_until < ?)
    ORDER BY m.next_check_at LIMIT ?`),
    lease: db.prepare(
      'UPDATE materials SET lease_owner = ?, lease_until = ?, due_trigger = NULL WHERE fingerprint = ?',
    ),
    releaseMaterial: db.prepare(
      'UPDATE materials SET lease_owner = NULL, lease_until = NULL WHERE fingerprint = ? AND lease_owner = ?',
    ),
    claimRun: db.prepare(`UPDATE runs SET lease_owner = @owner, lease_until = @leaseUntil
    WHERE id = @id AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until < @now)`),
    releaseRun: db.prepare(
      'UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
    ),
    orphans: db.prepare(`SELECT id, pipeline, counter FROM runs
    WHERE status = 'building' AND lock_wait IS NULL AND (lease_owner IS NULL OR lease_until < ?)
    ORDER BY id LIMIT ?`),
    leaseRun: db.prepare('UPDATE runs SET lease_owner = ?, lease_until = ? WHERE id = ?'),
    insertSetting: db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
    ),
    setting: db.prepare('SELECT value FROM settings WHERE key = ?'),
  };
  // SQLite has no arrays: the held keys go in as one JSON text, opened with json_each.
  const renewMaterials = db.transaction(
    (owner: string, held: readonly string[], leaseUntil: number) => {
      w.renewMaterials.run(leaseUntil, owner, JSON.stringify(held));
      w.releaseOtherMaterials.run(owner, JSON.stringify(held));
    },
  );
  const renewRuns = db.transaction((owner: string, held: readonly number[], leaseUntil: number) => {
    w.renewRuns.run(leaseUntil, owner, JSON.stringify(held));
    w.releaseOtherRuns.run(owner, JSON.stringify(held));
  });
  const releaseAll = db.transaction((owner: string) => {
    w.releaseMaterials.run(owner);
    w.releaseRuns.run(owner);
    w.releaseTriggers.run(owner);
  });
  const retire = db.transaction((id: string) => {
    releaseAll(id);
    w.deleteInstance.run(id);
  });
  const claimDue = db.transaction(
    (owner: string, at: number, leaseUntil: number, limit: number) => {
      const rows = all(w.due, new Date(at).toISOString(), at, limit);
      for (const row of rows) w.lease.run(owner, leaseUntil, row.fingerprint);
      return rows.map((row) => ({
        fingerprint: String(row.fingerprint),
        trigger: dueTrigger(row.due_trigger),
      }));
    },
  );
  const claimOrphans = db.transaction(
    (owner: string, at: number, leaseUntil: number, limit: number) => {
      const rows = all(w.orphans, at, limit);
      for (const row of rows) w.leaseRun.run(owner, leaseUntil, row.id);
      return rows.map((row) => ({
        id: Number(row.id),
        pipeline: String(row.pipeline),
        counter: Number(row.counter),
      }));
    },
  );

  return {
    jobInstance: async (id) => {
      const row = one(w.jobInstance, id);
      return row ? ((row.instance as string | null) ?? null) : null;
    },
    registerInstance: async (info, at) => void w.registerInstance.run({ ...info, now: at }),
    heartbeat: async (id, at) => {
      w.beat.run(at, id);
      w.forget.run(at - FORGET_AFTER_MS);
    },
    renewMaterialLeases: async (owner, held, leaseUntil) => renewMaterials(owner, held, leaseUntil),
    renewRunLeases: async (owner, held, leaseUntil) => renewRuns(owner, held, leaseUntil),
    retireInstance: async (id) => retire(id),
    listInstances: async (since) =>
      all(w.instances, since).map((row) =>
        toInstance(
          row,
          all(w.materialLeases, row.id).map((m) => String(m.fingerprint)),
          all(w.runLeases, row.id).map((m) => `${m.pipeline}/${m.counter}`),
        ),
      ),
    releaseLeases: async (owner) => releaseAll(owner),
    claimDueMaterials: async (owner, at, leaseUntil, limit) =>
      claimDue(owner, at, leaseUntil, limit),
    releaseMaterial: async (fingerprint, owner) => void w.releaseMaterial.run(fingerprint, owner),
    claimRun: async (id, owner, at, leaseUntil) =>
      w.claimRun.run({ id, owner, now: at, leaseUntil }).changes > 0,
    releaseRun: async (id, owner) => void w.releaseRun.run(id, owner),
    claimOrphanRuns: async (owner, at, leaseUntil, limit) =>
      claimOrphans(owner, at, leaseUntil, limit),
    setting: async (key, initial) => {
      w.insertSetting.run(key, initial);
      return String((one(w.setting, key) as Record<string, unknown>).value);
    },
  };
}
