import type pg from 'pg';
import { createdRunEvents, runChangeEvents } from '../events/derive.ts';
import { recordEvents } from './postgres-events.ts';
import { lockPipelineOf, postgresLocks } from './postgres-locks.ts';
import {
  groupBy,
  one,
  type Queryable,
  type Row,
  rows,
  type Transaction,
} from './postgres-query.ts';
import { recordPending } from './postgres-triggers.ts';
import { patchStatement, toJob, toJobProcess, toRun, toStage } from './rows.ts';
import { firstStageGated, openedBy } from './rules.ts';
import type { LockStore, RunChange, RunRow, RunStore, Store } from './store.ts';

/** Pipeline runs on PostgreSQL: runs with their stages and jobs, read in three queries. */
export function postgresRuns(pool: pg.Pool, tx: Transaction): RunStore & LockStore {
  const now = () => new Date().toISOString();
  const json = (value: unknown) => JSON.stringify(value);
  const loadRuns = async (db: Queryable, runRows: Row[]): Promise<RunRow[]> => {
    if (runRows.length === 0) return [];
    const ids = runRows.map((r) => String(r.id));
    const stageRows = await rows(
      db,
      'SELECT * FROM stages WHERE run_id = ANY($1::bigint[]) ORDER BY run_id, position',
      [ids],
    );
    const jobRows = await rows(
      db,
      'SELECT * FROM jobs WHERE stage_id = ANY($1::bigint[]) ORDER BY id',
      [stageRows.map((s) => String(s.id))],
    );
    const jobsByStage = groupBy(jobRows, (j) => String(j.stage_id));
    const stagesByRun = groupBy(stageRows, (s) => String(s.run_id));
    return runRows.map((run) =>
      toRun(
        run,
        (stagesByRun.get(String(run.id)) ?? []).map((s) =>
          toStage(s, (jobsByStage.get(String(s.id)) ?? []).map(toJob)),
        ),
      ),
    );
  };

  const createRun = (run: Parameters<Store['createRun']>[0]) =>
    tx(async (c) => {
      // Run creation for one pipeline is serialised across instances: two instances that see
      // the same new revision at once cannot both create a run for it, nor share a counter.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hoist:run:${run.pipeline}`]);
      const found = (await one(
        c,
        `SELECT (SELECT id FROM runs WHERE pipeline = $1 AND revision_key = $2 LIMIT 1) AS duplicate,
          (SELECT id FROM runs WHERE pipeline = $1 AND trigger_key = $3) AS again,
          (SELECT COALESCE(MAX(counter), 0) FROM runs WHERE pipeline = $1) AS last`,
        [run.pipeline, run.revisionKey, run.triggerKey ?? null],
      )) as Row;
      if (found.again !== null) return undefined;
      if (run.dedupe && found.duplicate !== null) return undefined;
      const counter = Number(found.last) + 1;
      const gated = firstStageGated(run);
      const createdAt = now();
      const opened = openedBy(run, createdAt);
      const inserted = (await one(
        c,
        `INSERT INTO runs (pipeline, counter, status, cause, revision_key, trigger, triggered_by, created_at, lease_owner, lease_until, trigger_key)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          run.pipeline,
          counter,
          gated ? 'waiting' : 'building',
          json(run.cause),
          run.revisionKey,
          run.trigger,
          run.triggeredBy,
          createdAt,
          run.lease?.owner ?? null,
          run.lease?.until ?? null,
          run.triggerKey ?? null,
        ],
      )) as Row;
      // Stages and jobs go in one statement each: a run is created in a few round trips.
      const stageRows = await rows(
        c,
        `INSERT INTO stages (run_id, position, name, status, approval, approved_by, approved_at, approval_comment)
        SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
        RETURNING *`,
        [
          inserted.id,
          run.stages.map((_, position) => position),
          run.stages.map((stage) => stage.name),
          run.stages.map((_, position) =>
            position === 0 && gated ? 'awaiting_approval' : 'scheduled',
          ),
          run.stages.map((stage) => stage.approval),
          run.stages.map((_, position) => (position === 0 ? opened.by : null)),
          run.stages.map((_, position) => (position === 0 ? opened.at : null)),
          run.stages.map((_, position) => (position === 0 ? opened.comment : null)),
        ],
      );
      const stageIds = new Map(stageRows.map((row) => [Number(row.position), String(row.id)]));
      const jobs = run.stages.flatMap((stage, position) =>
        stage.jobs.map((name) => [stageIds.get(position), name] as const),
      );
      const jobRows = await rows(
        c,
        `INSERT INTO jobs (stage_id, name, status)
        SELECT stage_id, name, 'scheduled' FROM unnest($1::bigint[], $2::text[]) AS j(stage_id, name)
        RETURNING *`,
        [jobs.map(([stageId]) => stageId), jobs.map(([, name]) => name)],
      );
      const jobsByStage = groupBy(
        [...jobRows].sort((x, y) => Number(x.id) - Number(y.id)),
        (j) => String(j.stage_id),
      );
      const created = toRun(
        inserted,
        [...stageRows]
          .sort((x, y) => Number(x.position) - Number(y.position))
          .map((row) => toStage(row, (jobsByStage.get(String(row.id)) ?? []).map(toJob))),
      );
      await recordEvents(c, createdRunEvents(created));
      return created;
    });

  const patch = async (
    c: Queryable,
    table: 'runs' | 'stages' | 'jobs',
    id: number,
    values: Record<string, unknown>,
  ) => {
    const update = patchStatement(table, id, values, (n) => `$${n}`);
    if (update) await c.query(update.sql, update.params);
  };
  /**
   * The writes of a change, inside the caller's transaction, and its events as the last
   * statements (see `recordEvents`).
   */
  const write = async (c: Queryable, id: number, change: RunChange) => {
    const [before] = await loadRuns(c, await rows(c, 'SELECT * FROM runs WHERE id = $1', [id]));
    // A release waits for a taker of the same lock (see postgres-locks.ts) and goes first.
    if (change.lock === 'release') await lockPipelineOf(c, id);
    if (change.run) await patch(c, 'runs', id, change.run);
    for (const stage of change.stages ?? []) await patch(c, 'stages', stage.id, stage.patch);
    for (const job of change.jobs ?? []) await patch(c, 'jobs', job.id, job.patch);
    // A stage that starts ends any wait for the lock (it started without it: lock none).
    if (change.stages?.some((s) => s.patch.status === 'building'))
      await c.query('UPDATE runs SET lock_wait = NULL WHERE id = $1 AND lock_wait IS NOT NULL', [
        id,
      ]);
    if (change.lock === 'release')
      await c.query('DELETE FROM pipeline_locks WHERE run_id = $1', [id]);
    if (before) await recordEvents(c, runChangeEvents(before, change));
  };
  const changeRun = (id: number, change: RunChange, lease?: { owner: string; until: number }) =>
    tx(async (c) => {
      // The pending trigger first: the change's events end the transaction.
      const pending = change.downstream
        ? await recordPending(
            c,
            { runId: id, stage: change.downstream.stage },
            { owner: lease?.owner ?? null, until: lease?.until ?? null },
          )
        : undefined;
      await write(c, id, change);
      return pending;
    });

  return {
    ...postgresLocks(pool, tx, write),
    createRun,
    getRun: async (pipeline, counter) =>
      (
        await loadRuns(
          pool,
          await rows(pool, 'SELECT * FROM runs WHERE pipeline = $1 AND counter = $2', [
            pipeline,
            counter,
          ]),
        )
      )[0],
    listRuns: async (pipeline, limit) =>
      loadRuns(
        pool,
        await rows(pool, 'SELECT * FROM runs WHERE pipeline = $1 ORDER BY counter DESC LIMIT $2', [
          pipeline,
          limit,
        ]),
      ),
    listActiveRuns: async () =>
      loadRuns(
        pool,
        await rows(pool, `SELECT * FROM runs WHERE status IN ('building', 'waiting') ORDER BY id`),
      ),
    changeRun,
    strayJobs: async (host) =>
      (
        await rows(
          pool,
          `SELECT j.*, s.run_id FROM jobs j JOIN stages s ON s.id = j.stage_id
          WHERE j.pgid IS NOT NULL AND j.host = $1 AND j.status <> 'building' ORDER BY j.id`,
          [host],
        )
      ).map((row) => ({
        id: Number(row.id),
        runId: Number(row.run_id),
        process: toJobProcess(row) as NonNullable<ReturnType<typeof toJobProcess>>,
      })),
  };
}
