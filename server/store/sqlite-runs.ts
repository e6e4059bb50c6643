import type Database from 'better-sqlite3';
import { createdRunEvents, runChangeEvents } from '../events/derive.ts';
import { patchStatement, toJob, toJobProcess, toRun, toStage } from './rows.ts';
import { firstStageGated, openedBy } from './rules.ts';
import type { SqliteEvents } from './sqlite-events.ts';
import { sqliteLocks } from './sqlite-locks.ts';
import type { SqlitePendingWriter } from './sqlite-triggers.ts';
import type { LockStore, NewRun, RunChange, RunRow, RunStore } from './store.ts';

/** Pipeline runs on SQLite: a run with its stages and jobs, each change one transaction. */
export function sqliteRuns(
  db: Database.Database,
  pending: SqlitePendingWriter,
  events: SqliteEvents,
): RunStore & LockStore {
  const now = () => new Date().toISOString();
  const r = {
    insertRun:
      db.prepare(`INSERT INTO runs (pipeline, counter, status, cause, revision_key, trigger, triggered_by, created_at, lease_owner, lease_until, trigger_key)
      VALUES (@pipeline, @counter, @status, @cause, @revisionKey, @trigger, @triggeredBy, @now, @leaseOwner, @leaseUntil, @triggerKey)`),
    byTrigger: db.prepare('SELECT id FROM runs WHERE pipeline = ? AND trigger_key = ?'),
    strays: db.prepare(`SELECT j.*, s.run_id FROM jobs j JOIN stages s ON s.id = j.stage_id
      WHERE j.pgid IS NOT NULL AND j.host = ? AND j.status <> 'building' ORDER BY j.id`),
    maxCounter: db.prepare('SELECT COALESCE(MAX(counter), 0) AS n FROM runs WHERE pipeline = ?'),
    byKey: db.prepare('SELECT id FROM runs WHERE pipeline = ? AND revision_key = ? LIMIT 1'),
    insertStage: db.prepare(
      `INSERT INTO stages (run_id, position, name, status, approval, approved_by, approved_at, approval_comment)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertJob: db.prepare(`INSERT INTO jobs (stage_id, name, status) VALUES (?, ?, 'scheduled')`),
    run: db.prepare('SELECT * FROM runs WHERE pipeline = ? AND counter = ?'),
    runById: db.prepare('SELECT * FROM runs WHERE id = ?'),
    runs: db.prepare('SELECT * FROM runs WHERE pipeline = ? ORDER BY counter DESC LIMIT ?'),
    active: db.prepare(`SELECT * FROM runs WHERE status IN ('building', 'waiting') ORDER BY id`),
    stagesOf: db.prepare('SELECT * FROM stages WHERE run_id = ? ORDER BY position'),
    jobsOf: db.prepare('SELECT * FROM jobs WHERE stage_id = ? ORDER BY id'),
    release: db.prepare('DELETE FROM pipeline_locks WHERE run_id = ?'),
    started: db.prepare('UPDATE runs SET lock_wait = NULL WHERE id = ? AND lock_wait IS NOT NULL'),
  };
  const jobsOf = (stageId: unknown) =>
    (r.jobsOf.all(stageId) as Record<string, unknown>[]).map(toJob);
  const stagesOf = (runId: unknown) =>
    (r.stagesOf.all(runId) as Record<string, unknown>[]).map((row) => toStage(row, jobsOf(row.id)));
  const runOf = (row: Record<string, unknown>): RunRow => toRun(row, stagesOf(row.id));
  const createRun = db.transaction((run: NewRun): RunRow | undefined => {
    if (run.triggerKey !== undefined && r.byTrigger.get(run.pipeline, run.triggerKey))
      return undefined;
    if (run.dedupe && r.byKey.get(run.pipeline, run.revisionKey)) return undefined;
    const counter = Number((r.maxCounter.get(run.pipeline) as { n: number }).n) + 1;
    const createdAt = now();
    const gated = firstStageGated(run);
    const info = r.insertRun.run({
      leaseOwner: run.lease?.owner ?? null,
      leaseUntil: run.lease?.until ?? null,
      status: gated ? 'waiting' : 'building',
      pipeline: run.pipeline,
      counter,
      cause: JSON.stringify(run.cause),
      revisionKey: run.revisionKey,
      trigger: run.trigger,
      triggeredBy: run.triggeredBy,
      triggerKey: run.triggerKey ?? null,
      now: createdAt,
    });
    for (const [position, stage] of run.stages.entries()) {
      const status = position === 0 && gated ? 'awaiting_approval' : 'scheduled';
      const opened =
        position === 0 ? openedBy(run, createdAt) : { by: null, at: null, comment: null };
      const stageInfo = r.insertStage.run(
        info.lastInsertRowid,
        position,
        stage.name,
        status,
        stage.approval,
        opened.by,
        opened.at,
        opened.comment,
      );
      for (const job of stage.jobs) r.insertJob.run(stageInfo.lastInsertRowid, job);
    }
    const created = runOf(r.runById.get(info.lastInsertRowid) as Record<string, unknown>);
    events.record(createdRunEvents(created));
    return created;
  });
  const patch = (
    table: 'runs' | 'stages' | 'jobs',
    id: number,
    values: Record<string, unknown>,
  ) => {
    const update = patchStatement(table, id, values, () => '?');
    if (update) db.prepare(update.sql).run(...update.params);
  };

  /** The writes of a change, inside the caller's transaction. */
  const write = (id: number, change: RunChange) => {
    const before = r.runById.get(id) as Record<string, unknown> | undefined;
    if (before) events.record(runChangeEvents(runOf(before), change));
    if (change.run) patch('runs', id, change.run);
    for (const stage of change.stages ?? []) patch('stages', stage.id, stage.patch);
    for (const job of change.jobs ?? []) patch('jobs', job.id, job.patch);
    // A stage that starts ends any wait for the lock (it started without it: lock none).
    if (change.stages?.some((s) => s.patch.status === 'building')) r.started.run(id);
    if (change.lock === 'release') r.release.run(id);
  };
  const changeRun = db.transaction(
    (id: number, change: RunChange, lease?: { owner: string; until: number }) => {
      write(id, change);
      if (!change.downstream) return undefined;
      return pending.stage(id, change.downstream.stage, {
        owner: lease?.owner ?? null,
        until: lease?.until ?? null,
      });
    },
  );

  return {
    ...sqliteLocks(db, write),
    createRun: async (run) => createRun(run),
    getRun: async (pipeline, counter) => {
      const row = r.run.get(pipeline, counter) as Record<string, unknown> | undefined;
      return row && runOf(row);
    },
    listRuns: async (pipeline, limit) =>
      (r.runs.all(pipeline, limit) as Record<string, unknown>[]).map(runOf),
    listActiveRuns: async () => (r.active.all() as Record<string, unknown>[]).map(runOf),
    changeRun: async (id, change, lease) => changeRun(id, change, lease),
    strayJobs: async (host) =>
      (r.strays.all(host) as Record<string, unknown>[]).map((row) => ({
        id: Number(row.id),
        runId: Number(row.run_id),
        process: toJobProcess(row) as NonNullable<ReturnType<typeof toJobProcess>>,
      })),
  };
}
