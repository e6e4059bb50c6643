import type { MaterialSummary, PipelineText, RunCount, RunStatus } from './store.ts';

type Row = Record<string, unknown>;
const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);
const id = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * The overview columns of every package, both databases: the newest check and revision ids
 * come from the (fingerprint, id) indexes, one probe each.
 */
export const MATERIAL_SUMMARIES = `SELECT p.repository, p.name, p.fingerprint, p.poll_interval_ms,
    m.plugin, m.next_check_at, m.last_error, m.last_error_code, m.failures, m.lease_owner,
    (SELECT MAX(c.id) FROM checks c WHERE c.fingerprint = p.fingerprint) AS last_check_id,
    (SELECT MAX(r.id) FROM revisions r WHERE r.fingerprint = p.fingerprint) AS last_revision_id
  FROM packages p LEFT JOIN materials m ON m.fingerprint = p.fingerprint
  ORDER BY p.repository, p.name`;

/** The pipelines with their definitions as text, and their locks' holders. */
export const PIPELINE_TEXTS = `SELECT p.name, p.definition, p.paused, p.source, p.scheduling_error,
    l.run_id AS lock_run_id, l.counter AS lock_counter, l.taken_at AS lock_taken_at,
    r.status AS lock_status
  FROM pipelines p LEFT JOIN pipeline_locks l ON l.pipeline = p.name
    LEFT JOIN runs r ON r.id = l.run_id
  ORDER BY p.name`;

/** A row of `MATERIAL_SUMMARIES`. */
export function toMaterialSummary(r: Row): MaterialSummary {
  return {
    repository: String(r.repository),
    name: String(r.name),
    fingerprint: String(r.fingerprint),
    pollIntervalMs: id(r.poll_interval_ms),
    plugin: text(r.plugin),
    nextCheckAt: text(r.next_check_at),
    lastError: text(r.last_error),
    lastErrorCode: text(r.last_error_code),
    failures: Number(r.failures ?? 0),
    leaseOwner: text(r.lease_owner),
    lastCheckId: id(r.last_check_id),
    lastRevisionId: id(r.last_revision_id),
  };
}

/** A row of `PIPELINE_TEXTS`. */
export function toPipelineText(r: Row): PipelineText {
  return {
    name: String(r.name),
    definition: String(r.definition),
    paused: Boolean(Number(r.paused)),
    source: r.source as PipelineText['source'],
    schedulingError: r.scheduling_error == null ? null : String(r.scheduling_error),
    ...(r.lock_run_id == null
      ? {}
      : {
          lock: {
            pipeline: String(r.name),
            runId: Number(r.lock_run_id),
            counter: Number(r.lock_counter),
            status: (r.lock_status ?? 'cancelled') as RunStatus,
            takenAt: String(r.lock_taken_at),
          },
        }),
  };
}

/** Runs by pipeline and status. */
export const RUN_COUNTS =
  'SELECT pipeline, status, COUNT(*) AS count FROM runs GROUP BY pipeline, status ORDER BY pipeline, status';

/** A row of `RUN_COUNTS`. */
export function toRunCount(row: Record<string, unknown>): RunCount {
  return {
    pipeline: String(row.pipeline),
    status: row.status as RunCount['status'],
    count: Number(row.count),
  };
}
