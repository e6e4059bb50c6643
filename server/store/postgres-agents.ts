import type pg from 'pg';
import { agentJobStarted } from '../events/derive.ts';
import type { AgentStore } from './agent-model.ts';
import { toAgent, toAgentJob } from './agent-rows.ts';
import { recordEvents } from './postgres-events.ts';
import { one, rows, type Transaction } from './postgres-query.ts';

/** How many queued jobs an agent asking for work is matched against at a time. */
const CLAIM_WINDOW = 200;

/**
 * Agents and their jobs on PostgreSQL. A claim takes the job with `UPDATE … WHERE state =
 * 'scheduled'` (the row lock makes a second instance's claim of the same job find it taken), and
 * marks the job building in the same transaction.
 */
export function postgresAgents(pool: pg.Pool, tx: Transaction): AgentStore {
  const agentById = async (db: pg.Pool | pg.PoolClient, id: string) => {
    const row = await one(db, 'SELECT * FROM agents WHERE id = $1', [id]);
    return row && toAgent(row);
  };
  const finishSql = `UPDATE agent_jobs SET state = 'done', result = $2, finished_at = $3
    WHERE id = $1 AND state <> 'done'`;
  return {
    registerAgent: async (agent) => {
      const row = await one(
        pool,
        `INSERT INTO agents (id, hostname, token_digest, state, resources, version, registered_at, heartbeat_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          agent.id,
          agent.hostname,
          agent.tokenDigest,
          agent.state,
          JSON.stringify(agent.resources),
          agent.version,
          new Date(agent.now).toISOString(),
          agent.now,
        ],
      );
      return toAgent(row as Record<string, unknown>);
    },
    agentByToken: async (digest) => {
      const row = await one(pool, 'SELECT * FROM agents WHERE token_digest = $1', [digest]);
      return row && toAgent(row);
    },
    getAgent: (id) => agentById(pool, id),
    listAgents: async () =>
      (await rows(pool, 'SELECT * FROM agents ORDER BY registered_at, id')).map(toAgent),
    updateAgent: (id, patch) =>
      tx(async (c) => {
        if (patch.state)
          await c.query('UPDATE agents SET state = $2 WHERE id = $1', [id, patch.state]);
        if (patch.environments)
          await c.query('UPDATE agents SET environments = $2 WHERE id = $1', [
            id,
            JSON.stringify(patch.environments),
          ]);
        return agentById(c, id);
      }),
    removeAgent: async (id) =>
      ((await pool.query('DELETE FROM agents WHERE id = $1', [id])).rowCount ?? 0) > 0,
    agentHeartbeat: (id, now, seen) =>
      tx(async (c) => {
        await c.query(
          'UPDATE agents SET heartbeat_at = $2, resources = $3, version = $4, draining = $5 WHERE id = $1',
          [id, now, JSON.stringify(seen.resources), seen.version, seen.draining ? 1 : 0],
        );
        const held = seen.jobs;
        await c.query(
          held
            ? "UPDATE agent_jobs SET heartbeat_at = $2 WHERE agent_id = $1 AND state = 'running' AND id = ANY($3::bigint[])"
            : "UPDATE agent_jobs SET heartbeat_at = $2 WHERE agent_id = $1 AND state = 'running'",
          held ? [id, now, held] : [id, now],
        );
        const cancel = await rows(
          c,
          held
            ? "SELECT id FROM agent_jobs WHERE agent_id = $1 AND id = ANY($2::bigint[]) AND (state = 'done' OR cancel_requested = 1)"
            : "SELECT id FROM agent_jobs WHERE agent_id = $1 AND state = 'running' AND cancel_requested = 1",
          held ? [id, held] : [id],
        );
        return { agent: await agentById(c, id), cancel: cancel.map((r) => Number(r.id)) };
      }),
    enqueueAgentJob: async (job) => {
      const row = await one(
        pool,
        `INSERT INTO agent_jobs (job_id, run_id, pipeline, counter, stage, job, resources, environment, spec, state, scheduled_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'scheduled', $10) RETURNING id`,
        [
          job.jobId,
          job.runId,
          job.pipeline,
          job.counter,
          job.stage,
          job.job,
          JSON.stringify(job.resources),
          job.environment,
          job.sealedSpec,
          job.scheduledAt,
        ],
      );
      return Number(row?.id);
    },
    claimAgentJob: async (agentId, now, fits) => {
      const queued = (
        await rows(
          pool,
          "SELECT * FROM agent_jobs WHERE state = 'scheduled' AND cancel_requested = 0 ORDER BY id LIMIT $1",
          [CLAIM_WINDOW],
        )
      ).map(toAgentJob);
      for (const candidate of queued.filter(fits)) {
        const taken = await tx(async (c) => {
          const row = await one(
            c,
            `UPDATE agent_jobs SET state = 'running', agent_id = $2, started_at = $3, heartbeat_at = $3
            WHERE id = $1 AND state = 'scheduled' AND cancel_requested = 0 RETURNING *`,
            [candidate.id, agentId, now],
          );
          if (!row) return undefined;
          const started = await c.query(
            "UPDATE jobs SET status = 'building', started_at = $2, instance = NULL WHERE id = $1 AND status = 'scheduled'",
            [candidate.jobId, new Date(now).toISOString()],
          );
          const job = toAgentJob(row);
          // Its event last: recording events ends the transaction's writes (see recordEvents).
          if ((started.rowCount ?? 0) > 0) await recordEvents(c, agentJobStarted(job));
          return job;
        });
        if (taken) return taken;
      }
      return undefined;
    },
    getAgentJob: async (id) => {
      const row = await one(pool, 'SELECT * FROM agent_jobs WHERE id = $1', [id]);
      return row && toAgentJob(row);
    },
    latestAgentJobs: async (jobIds) =>
      (
        await rows(
          pool,
          'SELECT DISTINCT ON (job_id) * FROM agent_jobs WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, id DESC',
          [jobIds],
        )
      ).map(toAgentJob),
    openAgentJobs: async () =>
      (await rows(pool, "SELECT * FROM agent_jobs WHERE state <> 'done' ORDER BY id")).map(
        toAgentJob,
      ),
    appendAgentLog: (id, offset, text, bytes) =>
      tx(async (c) => {
        const row = await one(c, 'SELECT log_bytes FROM agent_jobs WHERE id = $1 FOR UPDATE', [id]);
        if (!row) return 0;
        const length = Number(row.log_bytes);
        if (offset !== length || bytes === 0) return length;
        await c.query(
          'INSERT INTO agent_log (agent_job_id, byte_offset, text) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [id, offset, text],
        );
        await c.query('UPDATE agent_jobs SET log_bytes = $2 WHERE id = $1', [id, length + bytes]);
        return length + bytes;
      }),
    agentLog: async (id) =>
      (
        await rows(
          pool,
          'SELECT text FROM agent_log WHERE agent_job_id = $1 ORDER BY byte_offset',
          [id],
        )
      )
        .map((r) => String(r.text))
        .join(''),
    finishAgentJob: (id, agentId, result, now) =>
      tx(async (c) => {
        const row = await one(c, 'SELECT agent_id FROM agent_jobs WHERE id = $1 FOR UPDATE', [id]);
        if (!row) return false;
        if (agentId !== null && row.agent_id !== agentId) return false;
        await c.query(finishSql, [id, JSON.stringify(result), now]);
        return true;
      }),
    cancelAgentJob: (id, now) =>
      tx(async (c) => {
        await c.query(
          "UPDATE agent_jobs SET cancel_requested = 1 WHERE id = $1 AND state <> 'done'",
          [id],
        );
        await c.query(
          `UPDATE agent_jobs SET state = 'done', finished_at = $2, result = $3 WHERE id = $1 AND state = 'scheduled'`,
          [
            id,
            now,
            JSON.stringify({ passed: false, exitCode: null, error: 'cancelled', cancelled: true }),
          ],
        );
      }),
    expireAgentJobs: (silentSince, now, reason) =>
      tx(async (c) => {
        const silent = (
          await rows(
            c,
            "SELECT * FROM agent_jobs WHERE state = 'running' AND heartbeat_at < $1 ORDER BY id FOR UPDATE SKIP LOCKED",
            [silentSince],
          )
        ).map(toAgentJob);
        const ended = [];
        for (const row of silent) {
          const agent = row.agentId ? await agentById(c, row.agentId) : undefined;
          const result = { passed: false, exitCode: null, error: reason(agent) };
          await c.query(finishSql, [row.id, JSON.stringify(result), now]);
          ended.push({ ...row, state: 'done' as const, result, finishedAt: now });
        }
        return ended;
      }),
  };
}
