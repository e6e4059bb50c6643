import type { AgentJobRow, AgentJobState, AgentRow, AgentState } from './agent-model.ts';

type Row = Record<string, unknown>;

const list = (value: unknown): string[] => JSON.parse(String(value ?? '[]')) as string[];
const num = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

export function toAgent(row: Row): AgentRow {
  return {
    id: String(row.id),
    hostname: String(row.hostname),
    state: String(row.state) as AgentState,
    resources: list(row.resources),
    environments: list(row.environments),
    version: String(row.version),
    registeredAt: String(row.registered_at),
    heartbeatAt: num(row.heartbeat_at),
    draining: Boolean(Number(row.draining)),
  };
}

export function toAgentJob(row: Row): AgentJobRow {
  return {
    id: Number(row.id),
    jobId: Number(row.job_id),
    runId: Number(row.run_id),
    pipeline: String(row.pipeline),
    counter: Number(row.counter),
    stage: String(row.stage),
    job: String(row.job),
    resources: list(row.resources),
    environment: (row.environment as string | null) ?? null,
    sealedSpec: String(row.spec),
    state: String(row.state) as AgentJobState,
    agentId: (row.agent_id as string | null) ?? null,
    scheduledAt: Number(row.scheduled_at),
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
    heartbeatAt: num(row.heartbeat_at),
    cancelRequested: Boolean(Number(row.cancel_requested)),
    result: row.result ? (JSON.parse(String(row.result)) as AgentJobRow['result']) : null,
    logBytes: Number(row.log_bytes),
  };
}

/** The job row's patch when an attempt ends, from its result. */
export function endedStatus(result: { passed: boolean; cancelled?: boolean }) {
  return result.cancelled ? 'cancelled' : result.passed ? 'passed' : 'failed';
}
