import type {
  AuditEntry,
  CheckRow,
  InstanceRow,
  JobProcess,
  JobRow,
  MaterialRow,
  PackageRow,
  PipelineRow,
  RepositoryRow,
  RunRow,
  StageRow,
  StoredRevision,
} from './store.ts';

/**
 * Row mapping shared by the SQLite and PostgreSQL stores: both keep the same columns, JSON as
 * text and times as ISO strings, so that the two behave alike.
 */
type Row = Record<string, unknown>;

const parse = <T>(text: unknown): T => JSON.parse(String(text)) as T;
const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** A `repositories` row as the store returns it. */
export function toRepository(r: Row): RepositoryRow {
  return {
    name: String(r.name),
    plugin: String(r.plugin),
    config: parse(r.config),
    secrets: parse(r.secrets),
    source: r.source as RepositoryRow['source'],
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

/** A `packages` row as the store returns it. */
export function toPackage(r: Row): PackageRow {
  return {
    repository: String(r.repository),
    name: String(r.name),
    config: parse(r.config),
    secrets: parse(r.secrets),
    pollIntervalMs: r.poll_interval_ms === null ? null : Number(r.poll_interval_ms),
    fingerprint: String(r.fingerprint),
    source: r.source as PackageRow['source'],
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

/** A `pipelines` row as the store returns it. */
export function toPipeline(r: Row): PipelineRow {
  return {
    name: String(r.name),
    definition: parse(r.definition),
    source: r.source as PipelineRow['source'],
    paused: Boolean(Number(r.paused)),
    updatedAt: String(r.updated_at),
    schedulingError: text(r.scheduling_error),
  };
}

/** A `materials` row as the store returns it. */
export function toMaterial(r: Row): MaterialRow {
  return {
    fingerprint: String(r.fingerprint),
    plugin: String(r.plugin),
    state: parse(r.state),
    lastCheckAt: text(r.last_check_at),
    nextCheckAt: text(r.next_check_at),
    lastError: text(r.last_error),
    lastErrorCode: text(r.last_error_code),
    failures: Number(r.failures),
    leaseOwner: text(r.lease_owner),
  };
}

/** A `revisions` row: optional fields are left out when empty. */
export function toRevision(r: Row): StoredRevision {
  const revision: StoredRevision = {
    id: Number(r.id),
    fingerprint: String(r.fingerprint),
    revision: String(r.revision),
    timestamp: String(r.timestamp),
    data: parse(r.data),
    discoveredAt: String(r.discovered_at),
  };
  if (r.user !== null) revision.user = String(r.user);
  if (r.comment !== null) revision.comment = String(r.comment);
  if (r.trackback_url !== null) revision.trackbackUrl = String(r.trackback_url);
  return revision;
}

/** A `checks` row as the store returns it. */
export function toCheck(r: Row): CheckRow {
  return {
    id: Number(r.id),
    fingerprint: String(r.fingerprint),
    startedAt: String(r.started_at),
    durationMs: Number(r.duration_ms),
    outcome: r.outcome as CheckRow['outcome'],
    newRevisions: parse(r.new_revisions),
    errorCode: text(r.error_code),
    error: text(r.error),
    decision: String(r.decision),
    trigger: r.trigger as CheckRow['trigger'],
    instance: text(r.instance),
  };
}

/** A `jobs` row as the store returns it. */
export function toJob(row: Row): JobRow {
  return {
    id: Number(row.id),
    stageId: Number(row.stage_id),
    name: String(row.name),
    status: row.status as JobRow['status'],
    startedAt: text(row.started_at),
    finishedAt: text(row.finished_at),
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    error: text(row.error),
    process: toJobProcess(row),
  };
}

/** The process group recorded for a job, if any. */
export function toJobProcess(row: Row): JobProcess | null {
  if (row.pgid === null || row.pgid === undefined) return null;
  return { pgid: Number(row.pgid), start: String(row.process_start), host: String(row.host) };
}

/** A `stages` row with its jobs. */
export function toStage(row: Row, jobs: JobRow[]): StageRow {
  return {
    id: Number(row.id),
    runId: Number(row.run_id),
    position: Number(row.position),
    name: String(row.name),
    status: row.status as StageRow['status'],
    approval: row.approval as StageRow['approval'],
    approvedBy: text(row.approved_by),
    approvedAt: text(row.approved_at),
    approvalComment: text(row.approval_comment),
    startedAt: text(row.started_at),
    finishedAt: text(row.finished_at),
    jobs,
  };
}

/** A `runs` row with its stages. */
export function toRun(row: Row, stages: StageRow[]): RunRow {
  return {
    id: Number(row.id),
    pipeline: String(row.pipeline),
    counter: Number(row.counter),
    status: row.status as RunRow['status'],
    cause: parse(row.cause),
    revisionKey: String(row.revision_key),
    trigger: row.trigger as RunRow['trigger'],
    triggeredBy: text(row.triggered_by),
    createdAt: String(row.created_at),
    finishedAt: text(row.finished_at),
    stages,
  };
}

/** An `audit` row as the store returns it. */
export function toAudit(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    at: String(row.at),
    actor: String(row.actor),
    action: String(row.action),
    target: String(row.target),
    outcome: Number(row.outcome),
  };
}

/** Patch keys the stores accept, so that no caller-made key reaches SQL text. */
const PATCHABLE: Record<'runs' | 'stages' | 'jobs', ReadonlySet<string>> = {
  runs: new Set(['status', 'finishedAt']),
  stages: new Set([
    'status',
    'approvedBy',
    'approvedAt',
    'approvalComment',
    'startedAt',
    'finishedAt',
  ]),
  jobs: new Set([
    'status',
    'startedAt',
    'finishedAt',
    'exitCode',
    'error',
    'instance',
    'pgid',
    'processStart',
    'host',
  ]),
};

/**
 * The UPDATE of a run, stage or job patch (camelCase keys become snake_case columns; unknown
 * keys are left out), with the id last; `placeholder(n)` writes the n-th parameter (1-based).
 * Undefined when nothing is to change.
 */
export function patchStatement(
  table: 'runs' | 'stages' | 'jobs',
  id: number,
  values: Record<string, unknown>,
  placeholder: (n: number) => string,
): { sql: string; params: unknown[] } | undefined {
  const keys = Object.keys(values).filter((key) => PATCHABLE[table].has(key));
  if (keys.length === 0) return undefined;
  const column = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const sets = keys.map((key, i) => `${column(key)} = ${placeholder(i + 1)}`);
  return {
    sql: `UPDATE ${table} SET ${sets.join(', ')} WHERE id = ${placeholder(keys.length + 1)}`,
    params: [...keys.map((key) => values[key]), id],
  };
}

/** Whether a configuration-file repository equals its stored row (for apply's summary). */
export function sameRepository(
  existing: Row | undefined,
  r: { plugin: string; config: unknown; secrets: unknown },
): boolean {
  return (
    existing?.config === JSON.stringify(r.config) &&
    existing?.secrets === JSON.stringify(r.secrets) &&
    existing?.plugin === r.plugin
  );
}

/** Whether a configuration-file package equals its stored row (for apply's summary). */
export function samePackage(
  existing: Row | undefined,
  p: { config: unknown; secrets: unknown; pollIntervalMs: number | null },
): boolean {
  return (
    existing?.config === JSON.stringify(p.config) &&
    existing?.secrets === JSON.stringify(p.secrets) &&
    (existing?.poll_interval_ms === null ? null : Number(existing?.poll_interval_ms)) ===
      p.pollIntervalMs
  );
}

/** An `instances` row with the leases its instance holds; times become ISO text. */
export function toInstance(row: Row, materials: string[], runs: string[]): InstanceRow {
  return {
    id: String(row.id),
    host: String(row.host),
    pid: Number(row.pid),
    url: String(row.url),
    version: String(row.version),
    startedAt: new Date(Number(row.started_at)).toISOString(),
    heartbeatAt: new Date(Number(row.heartbeat_at)).toISOString(),
    materials,
    runs,
  };
}

/** The trigger of a leased check, from the material's `due_trigger`. */
export function dueTrigger(value: unknown): CheckRow['trigger'] {
  return value === 'manual' || value === 'start' ? value : 'schedule';
}
