import type Database from 'better-sqlite3';
import { agentJobStarted } from '../events/derive.ts';
import type { AgentJobRow, AgentStore } from './agent-model.ts';
import { toAgent, toAgentJob } from './agent-rows.ts';
import type { SqliteEvents } from './sqlite-events.ts';

type Row = Record<string, unknown>;

/** How many queued jobs an agent asking for work is matched against at a time. */
const CLAIM_WINDOW = 200;

/** Agents and their jobs on SQLite. */
export function sqliteAgents(db: Database.Database, events: SqliteEvents): AgentStore {
  const all = (stmt: Database.Statement, ...args: unknown[]) => stmt.all(...args) as Row[];
  const one = (stmt: Database.Statement, ...args: unknown[]) =>
    stmt.get(...args) as Row | undefined;
  const s = {
    insert:
      db.prepare(`INSERT INTO agents (id, hostname, token_digest, state, resources, version, registered_at, heartbeat_at)
      VALUES (@id, @hostname, @tokenDigest, @state, @resources, @version, @registeredAt, @now)`),
    byToken: db.prepare('SELECT * FROM agents WHERE token_digest = ?'),
    byId: db.prepare('SELECT * FROM agents WHERE id = ?'),
    list: db.prepare('SELECT * FROM agents ORDER BY registered_at, id'),
    setState: db.prepare('UPDATE agents SET state = ? WHERE id = ?'),
    setEnvironments: db.prepare('UPDATE agents SET environments = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM agents WHERE id = ?'),
    beat: db.prepare(
      'UPDATE agents SET heartbeat_at = @now, resources = @resources, version = @version, draining = @draining WHERE id = @id',
    ),
    beatJobs: db.prepare(
      "UPDATE agent_jobs SET heartbeat_at = ? WHERE agent_id = ? AND state = 'running'",
    ),
    beatHeld:
      db.prepare(`UPDATE agent_jobs SET heartbeat_at = ? WHERE agent_id = ? AND state = 'running'
      AND id IN (SELECT value FROM json_each(?))`),
    cancelled: db.prepare(
      "SELECT id FROM agent_jobs WHERE agent_id = ? AND state = 'running' AND cancel_requested = 1",
    ),
    stopHeld:
      db.prepare(`SELECT id FROM agent_jobs WHERE agent_id = ? AND id IN (SELECT value FROM json_each(?))
      AND (state = 'done' OR cancel_requested = 1)`),
    enqueue:
      db.prepare(`INSERT INTO agent_jobs (job_id, run_id, pipeline, counter, stage, job, resources, environment, spec, state, scheduled_at)
      VALUES (@jobId, @runId, @pipeline, @counter, @stage, @job, @resources, @environment, @sealedSpec, 'scheduled', @scheduledAt)`),
    queued: db.prepare(
      "SELECT * FROM agent_jobs WHERE state = 'scheduled' AND cancel_requested = 0 ORDER BY id LIMIT ?",
    ),
    take: db.prepare(`UPDATE agent_jobs SET state = 'running', agent_id = ?, started_at = ?, heartbeat_at = ?
      WHERE id = ? AND state = 'scheduled' AND cancel_requested = 0`),
    startJob: db.prepare(
      "UPDATE jobs SET status = 'building', started_at = ?, instance = NULL WHERE id = ? AND status = 'scheduled'",
    ),
    job: db.prepare('SELECT * FROM agent_jobs WHERE id = ?'),
    latest: db.prepare(`SELECT * FROM agent_jobs WHERE id IN (
      SELECT MAX(id) FROM agent_jobs WHERE job_id IN (SELECT value FROM json_each(?)) GROUP BY job_id)`),
    open: db.prepare("SELECT * FROM agent_jobs WHERE state <> 'done' ORDER BY id"),
    insertLog: db.prepare(
      'INSERT INTO agent_log (agent_job_id, byte_offset, text) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    grow: db.prepare('UPDATE agent_jobs SET log_bytes = ? WHERE id = ?'),
    log: db.prepare('SELECT text FROM agent_log WHERE agent_job_id = ? ORDER BY byte_offset'),
    finish: db.prepare(`UPDATE agent_jobs SET state = 'done', result = ?, finished_at = ?
      WHERE id = ? AND state <> 'done' AND (? IS NULL OR agent_id = ?)`),
    cancel: db.prepare(
      "UPDATE agent_jobs SET cancel_requested = 1 WHERE id = ? AND state <> 'done'",
    ),
    cancelQueued: db.prepare(`UPDATE agent_jobs SET state = 'done', finished_at = ?, result = ?
      WHERE id = ? AND state = 'scheduled'`),
    silent: db.prepare(
      "SELECT * FROM agent_jobs WHERE state = 'running' AND heartbeat_at < ? ORDER BY id",
    ),
  };
  const beat = db.transaction(
    (
      id: string,
      now: number,
      seen: { resources: string[]; version: string; draining: boolean; jobs?: number[] },
    ) => {
      s.beat.run({
        id,
        now,
        resources: JSON.stringify(seen.resources),
        version: seen.version,
        draining: seen.draining ? 1 : 0,
      });
      const held = seen.jobs && JSON.stringify(seen.jobs);
      if (held) s.beatHeld.run(now, id, held);
      else s.beatJobs.run(now, id);
      const agent = one(s.byId, id);
      return {
        agent: agent && toAgent(agent),
        cancel: (held ? all(s.stopHeld, id, held) : all(s.cancelled, id)).map((r) => Number(r.id)),
      };
    },
  );
  const claim = db.transaction(
    (agentId: string, now: number, fits: (job: AgentJobRow) => boolean) => {
      for (const row of all(s.queued, CLAIM_WINDOW).map(toAgentJob)) {
        if (!fits(row)) continue;
        if (s.take.run(agentId, now, now, row.id).changes === 0) continue;
        const taken = toAgentJob(one(s.job, row.id) as Row);
        if (s.startJob.run(new Date(now).toISOString(), row.jobId).changes > 0)
          events.record(agentJobStarted(taken));
        return taken;
      }
      return undefined;
    },
  );
  const append = db.transaction((id: number, offset: number, text: string, bytes: number) => {
    const row = one(s.job, id);
    if (!row) return 0;
    const length = Number(row.log_bytes);
    if (offset !== length || bytes === 0) return length;
    s.insertLog.run(id, offset, text);
    s.grow.run(length + bytes, id);
    return length + bytes;
  });
  const finish = db.transaction(
    (id: number, agentId: string | null, result: AgentJobRow['result'], now: number) => {
      const row = one(s.job, id);
      if (!row) return false;
      if (agentId !== null && row.agent_id !== agentId) return false;
      s.finish.run(JSON.stringify(result), now, id, agentId, agentId);
      return true;
    },
  );
  const expire = db.transaction(
    (silentSince: number, now: number, reason: Parameters<AgentStore['expireAgentJobs']>[2]) => {
      const ended: AgentJobRow[] = [];
      for (const row of all(s.silent, silentSince).map(toAgentJob)) {
        const agent = row.agentId ? one(s.byId, row.agentId) : undefined;
        const result = { passed: false, exitCode: null, error: reason(agent && toAgent(agent)) };
        s.finish.run(JSON.stringify(result), now, row.id, null, null);
        ended.push({ ...row, state: 'done', result, finishedAt: now });
      }
      return ended;
    },
  );
  const update = db.transaction((id: string, patch: Parameters<AgentStore['updateAgent']>[1]) => {
    if (patch.state) s.setState.run(patch.state, id);
    if (patch.environments) s.setEnvironments.run(JSON.stringify(patch.environments), id);
    const row = one(s.byId, id);
    return row && toAgent(row);
  });
  return {
    registerAgent: async (agent) => {
      s.insert.run({
        ...agent,
        resources: JSON.stringify(agent.resources),
        registeredAt: new Date(agent.now).toISOString(),
      });
      return toAgent(one(s.byId, agent.id) as Row);
    },
    agentByToken: async (digest) => {
      const row = one(s.byToken, digest);
      return row && toAgent(row);
    },
    getAgent: async (id) => {
      const row = one(s.byId, id);
      return row && toAgent(row);
    },
    listAgents: async () => all(s.list).map(toAgent),
    updateAgent: async (id, patch) => update(id, patch),
    removeAgent: async (id) => s.remove.run(id).changes > 0,
    agentHeartbeat: async (id, now, seen) => beat(id, now, seen),
    enqueueAgentJob: async (job) =>
      Number(s.enqueue.run({ ...job, resources: JSON.stringify(job.resources) }).lastInsertRowid),
    claimAgentJob: async (agentId, now, fits) => claim(agentId, now, fits),
    getAgentJob: async (id) => {
      const row = one(s.job, id);
      return row && toAgentJob(row);
    },
    latestAgentJobs: async (jobIds) => all(s.latest, JSON.stringify(jobIds)).map(toAgentJob),
    openAgentJobs: async () => all(s.open).map(toAgentJob),
    appendAgentLog: async (id, offset, text, bytes) => append(id, offset, text, bytes),
    agentLog: async (id) =>
      all(s.log, id)
        .map((r) => String(r.text))
        .join(''),
    finishAgentJob: async (id, agentId, result, now) => finish(id, agentId, result, now),
    cancelAgentJob: async (id, now) => {
      db.transaction(() => {
        s.cancel.run(id);
        s.cancelQueued.run(
          now,
          JSON.stringify({ passed: false, exitCode: null, error: 'cancelled', cancelled: true }),
          id,
        );
      })();
    },
    expireAgentJobs: async (silentSince, now, reason) => expire(silentSince, now, reason),
  };
}
