import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { checkEvents } from '../events/derive.ts';
import { MIGRATIONS } from './migrations.ts';
import {
  samePackage,
  sameRepository,
  toAudit,
  toCheck,
  toMaterial,
  toPackage,
  toPipeline,
  toRepository,
  toRevision,
} from './rows.ts';
import { applyTally, CHECK_RETENTION, nextCheckAfterRecord } from './rules.ts';
import { sqliteAgents } from './sqlite-agents.ts';
import { sqliteEvents } from './sqlite-events.ts';
import { sqliteNotifications } from './sqlite-notifications.ts';
import { sqliteReads } from './sqlite-reads.ts';
import { sqliteRuns } from './sqlite-runs.ts';
import { sqliteTriggers } from './sqlite-triggers.ts';
import { sqliteWork } from './sqlite-work.ts';
import type {
  ConfigurationPlan,
  PackageRow,
  PipelineRow,
  RepositoryRow,
  Store,
  StoredRevision,
} from './store.ts';

/** Opens (creating and migrating as needed) the SQLite store at `file` (`:memory:` for tests). */
export function openSqliteStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const now = () => new Date().toISOString();
  const json = (value: unknown) => JSON.stringify(value);
  const q = {
    repositories: db.prepare('SELECT * FROM repositories ORDER BY name'),
    repository: db.prepare('SELECT * FROM repositories WHERE name = ?'),
    saveRepository:
      db.prepare(`INSERT INTO repositories (name, plugin, config, secrets, source, created_at, updated_at)
      VALUES (@name, @plugin, @config, @secrets, @source, @now, @now)
      ON CONFLICT (name) DO UPDATE SET plugin = excluded.plugin, config = excluded.config,
        secrets = excluded.secrets, source = excluded.source,
        updated_at = CASE WHEN repositories.config = excluded.config AND repositories.secrets = excluded.secrets
          AND repositories.plugin = excluded.plugin THEN repositories.updated_at ELSE excluded.updated_at END`),
    deleteRepository: db.prepare('DELETE FROM repositories WHERE name = ?'),
    packages: db.prepare('SELECT * FROM packages ORDER BY repository, name'),
    packagesOf: db.prepare('SELECT * FROM packages WHERE repository = ? ORDER BY name'),
    package: db.prepare('SELECT * FROM packages WHERE repository = ? AND name = ?'),
    savePackage:
      db.prepare(`INSERT INTO packages (repository, name, config, secrets, poll_interval_ms, fingerprint, source, created_at, updated_at)
      VALUES (@repository, @name, @config, @secrets, @pollIntervalMs, @fingerprint, @source, @now, @now)
      ON CONFLICT (repository, name) DO UPDATE SET config = excluded.config, secrets = excluded.secrets,
        poll_interval_ms = excluded.poll_interval_ms, fingerprint = excluded.fingerprint, source = excluded.source,
        updated_at = CASE WHEN packages.config = excluded.config AND packages.secrets = excluded.secrets
          AND packages.poll_interval_ms IS excluded.poll_interval_ms THEN packages.updated_at ELSE excluded.updated_at END`),
    deletePackage: db.prepare('DELETE FROM packages WHERE repository = ? AND name = ?'),
    pipelines: db.prepare('SELECT * FROM pipelines ORDER BY name'),
    pipeline: db.prepare('SELECT * FROM pipelines WHERE name = ?'),
    savePipeline:
      db.prepare(`INSERT INTO pipelines (name, definition, source, updated_at) VALUES (@name, @definition, @source, @now)
      ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, source = excluded.source,
        updated_at = CASE WHEN pipelines.definition = excluded.definition THEN pipelines.updated_at ELSE excluded.updated_at END`),
    deletePipeline: db.prepare('DELETE FROM pipelines WHERE name = ?'),
    ensureMaterial:
      db.prepare(`INSERT INTO materials (fingerprint, plugin, next_check_at) VALUES (?, ?, ?)
      ON CONFLICT (fingerprint) DO NOTHING`),
    material: db.prepare('SELECT * FROM materials WHERE fingerprint = ?'),
    materials: db.prepare('SELECT * FROM materials ORDER BY fingerprint'),
    schedule: db.prepare(
      'UPDATE materials SET next_check_at = ?, due_trigger = ? WHERE fingerprint = ?',
    ),
    updateMaterial:
      db.prepare(`UPDATE materials SET state = COALESCE(@state, state), last_check_at = @lastCheckAt,
      next_check_at = ${nextCheckAfterRecord('@nextCheckAt')},
      last_error = @lastError, last_error_code = @lastErrorCode, failures = @failures,
      lease_owner = CASE WHEN lease_owner = @owner THEN NULL ELSE lease_owner END,
      lease_until = CASE WHEN lease_owner = @owner THEN NULL ELSE lease_until END
      WHERE fingerprint = @fingerprint`),
    insertRevision:
      db.prepare(`INSERT INTO revisions (fingerprint, revision, timestamp, user, comment, trackback_url, data, discovered_at)
      VALUES (@fingerprint, @revision, @timestamp, @user, @comment, @trackbackUrl, @data, @discoveredAt)
      ON CONFLICT (fingerprint, revision) DO NOTHING`),
    revisionById: db.prepare('SELECT * FROM revisions WHERE id = ?'),
    latestRevision: db.prepare(
      'SELECT * FROM revisions WHERE fingerprint = ? ORDER BY id DESC LIMIT 1',
    ),
    revisions: db.prepare('SELECT * FROM revisions WHERE fingerprint = ? ORDER BY id DESC LIMIT ?'),
    insertCheck:
      db.prepare(`INSERT INTO checks (fingerprint, started_at, duration_ms, outcome, new_revisions, error_code, error, decision, trigger, instance)
      VALUES (@fingerprint, @startedAt, @durationMs, @outcome, @newRevisions, @errorCode, @error, @decision, @trigger, @instance)`),
    checks: db.prepare('SELECT * FROM checks WHERE fingerprint = ? ORDER BY id DESC LIMIT ?'),
    packageOf: db.prepare('SELECT repository, name FROM packages WHERE fingerprint = ?'),
    latestRevisions: db.prepare(
      'SELECT * FROM revisions WHERE id IN (SELECT MAX(id) FROM revisions GROUP BY fingerprint)',
    ),
    trimChecks: db.prepare(`DELETE FROM checks WHERE fingerprint = ? AND id <= (
      SELECT id FROM checks WHERE fingerprint = ? ORDER BY id DESC LIMIT 1 OFFSET ${CHECK_RETENTION})`),
  };

  const a = {
    paused: db.prepare('UPDATE pipelines SET paused = ? WHERE name = ?'),
    schedulingError: db.prepare('UPDATE pipelines SET scheduling_error = ? WHERE name = ?'),
    addAudit: db.prepare(
      'INSERT INTO audit (at, actor, action, target, outcome) VALUES (@at, @actor, @action, @target, @outcome)',
    ),
    audit: db.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT ?'),
  };

  const all = (stmt: Database.Statement, ...args: unknown[]) =>
    stmt.all(...args) as Record<string, unknown>[];
  const one = (stmt: Database.Statement, ...args: unknown[]) =>
    stmt.get(...args) as Record<string, unknown> | undefined;

  const saveRepository = (row: Omit<RepositoryRow, 'createdAt' | 'updatedAt'>) =>
    q.saveRepository.run({
      ...row,
      config: json(row.config),
      secrets: json(row.secrets),
      now: now(),
    });
  const savePackage = (row: Omit<PackageRow, 'createdAt' | 'updatedAt'>) =>
    q.savePackage.run({ ...row, config: json(row.config), secrets: json(row.secrets), now: now() });
  const savePipeline = (row: Omit<PipelineRow, 'updatedAt' | 'paused' | 'schedulingError'>) =>
    q.savePipeline.run({
      name: row.name,
      definition: json(row.definition),
      source: row.source,
      now: now(),
    });

  const apply = db.transaction((plan: ConfigurationPlan) => {
    const tally = applyTally();
    const count = tally.saved;
    for (const r of plan.repositories) {
      const existing = one(q.repository, r.name);
      count(existing, sameRepository(existing, r));
      saveRepository(r);
    }
    for (const p of plan.packages) {
      const existing = one(q.package, p.repository, p.name);
      count(existing, samePackage(existing, p));
      savePackage(p);
    }
    for (const p of plan.pipelines) {
      const existing = one(q.pipeline, p.name);
      count(existing, existing?.definition === json(p.definition));
      savePipeline(p);
    }
    const keepPackages = new Set(plan.packages.map((p) => `${p.repository}/${p.name}`));
    for (const row of all(q.packages).map(toPackage)) {
      if (row.source === 'config' && !keepPackages.has(`${row.repository}/${row.name}`)) {
        q.deletePackage.run(row.repository, row.name);
        tally.removed();
      }
    }
    const keepRepositories = new Set(plan.repositories.map((r) => r.name));
    for (const row of all(q.repositories).map(toRepository)) {
      if (row.source === 'config' && !keepRepositories.has(row.name)) {
        q.deleteRepository.run(row.name);
        tally.removed();
      }
    }
    const keepPipelines = new Set(plan.pipelines.map((p) => p.name));
    for (const row of all(q.pipelines).map(toPipeline)) {
      if (row.source === 'config' && !keepPipelines.has(row.name)) {
        q.deletePipeline.run(row.name);
        tally.removed();
      }
    }
    if (plan.notifications) replaceNotifications(plan.notifications);
    return tally.result();
  });

  const { writer, ...triggers } = sqliteTriggers(db);
  const events = sqliteEvents(db);
  const { replace: replaceNotifications, ...notifications } = sqliteNotifications(db, events);
  const record = db.transaction((result: Parameters<Store['recordCheck']>[0]) => {
    const discoveredAt = now();
    const inserted: StoredRevision[] = [];
    for (const r of result.revisions) {
      const info = q.insertRevision.run({
        fingerprint: result.fingerprint,
        revision: r.revision,
        timestamp: r.timestamp,
        user: r.user ?? null,
        comment: r.comment ?? null,
        trackbackUrl: r.trackbackUrl ?? null,
        data: json(r.data),
        discoveredAt,
      });
      if (info.changes > 0) {
        inserted.push(
          toRevision(one(q.revisionById, info.lastInsertRowid) as Record<string, unknown>),
        );
      }
    }
    q.updateMaterial.run({
      fingerprint: result.fingerprint,
      state: result.state === undefined ? null : json(result.state),
      lastCheckAt: result.check.startedAt,
      nextCheckAt: result.nextCheckAt,
      lastError: result.lastError,
      lastErrorCode: result.lastErrorCode,
      failures: result.failures,
      owner: result.owner,
    });
    q.insertCheck.run({
      fingerprint: result.fingerprint,
      ...result.check,
      newRevisions: json(inserted.map((r) => r.revision)),
    });
    q.trimChecks.run(result.fingerprint, result.fingerprint);
    const material = one(q.packageOf, result.fingerprint);
    events.record(
      checkEvents(
        material && { repository: String(material.repository), package: String(material.name) },
        result.check,
        inserted,
      ),
    );
    if (inserted.length === 0) return { inserted };
    const pending = writer.revisions(
      result.fingerprint,
      inserted.map((r) => r.id),
      result.check.trigger,
      { owner: result.owner, until: result.leaseUntil ?? null },
    );
    return { inserted, ...(pending === undefined ? {} : { pending }) };
  });

  return {
    kind: 'sqlite',
    listRepositories: async () => all(q.repositories).map(toRepository),
    getRepository: async (name) => {
      const row = one(q.repository, name);
      return row && toRepository(row);
    },
    saveRepository: async (row) => void saveRepository(row),
    deleteRepository: async (name) => void q.deleteRepository.run(name),
    listPackages: async (repository) =>
      (repository === undefined ? all(q.packages) : all(q.packagesOf, repository)).map(toPackage),
    getPackage: async (repository, name) => {
      const row = one(q.package, repository, name);
      return row && toPackage(row);
    },
    savePackage: async (row) => void savePackage(row),
    deletePackage: async (repository, name) => void q.deletePackage.run(repository, name),
    listPipelines: async () => all(q.pipelines).map(toPipeline),
    getPipeline: async (name) => {
      const row = one(q.pipeline, name);
      return row && toPipeline(row);
    },
    savePipeline: async (row) => void savePipeline(row),
    deletePipeline: async (name) => void q.deletePipeline.run(name),
    applyConfiguration: async (plan) => apply(plan),
    ensureMaterial: async (fingerprint, plugin, nextCheckAt) =>
      void q.ensureMaterial.run(fingerprint, plugin, nextCheckAt),
    getMaterial: async (fingerprint) => {
      const row = one(q.material, fingerprint);
      return row && toMaterial(row);
    },
    listMaterials: async () => all(q.materials).map(toMaterial),
    scheduleMaterial: async (fingerprint, nextCheckAt, trigger) =>
      void q.schedule.run(nextCheckAt, trigger ?? null, fingerprint),
    recordCheck: async (result) => record(result),
    latestRevision: async (fingerprint) => {
      const row = one(q.latestRevision, fingerprint);
      return row && toRevision(row);
    },
    listRevisions: async (fingerprint, limit) =>
      all(q.revisions, fingerprint, limit).map(toRevision),
    listChecks: async (fingerprint, limit) => all(q.checks, fingerprint, limit).map(toCheck),
    latestRevisions: async () => all(q.latestRevisions).map(toRevision),
    // In-process queries are cheap: one indexed query per material beats a window over all checks.
    recentChecks: async (limit) =>
      all(q.materials).flatMap((m) => all(q.checks, m.fingerprint, limit).map(toCheck)),
    setPipelinePaused: async (name, paused) => void a.paused.run(paused ? 1 : 0, name),
    setSchedulingError: async (name, error) => void a.schedulingError.run(error, name),
    ...sqliteRuns(db, writer, events),
    appendEvents: events.appendEvents,
    eventsAfter: events.eventsAfter,
    lastEventId: events.lastEventId,
    pruneEvents: events.pruneEvents,
    onEvents: events.onEvents,
    ...notifications,
    ...triggers,
    ...sqliteReads(db),
    ...sqliteWork(db),
    ...sqliteAgents(db, events),
    addAudit: async (entry) => void a.addAudit.run(entry),
    listAudit: async (limit) => (a.audit.all(limit) as Record<string, unknown>[]).map(toAudit),
    close: async () => void db.close(),
  };
}

function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > MIGRATIONS.length) {
    throw new Error(
      `the database is at schema version ${version}, newer than this Hoist (${MIGRATIONS.length})`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
