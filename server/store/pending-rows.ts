import { dueTrigger } from './rows.ts';
import type { PendingTrigger, StoredRevision } from './store.ts';

type Row = Record<string, unknown>;

/** A `pending_triggers` row (joined with its run's pipeline and counter), with its revisions. */
export function toPendingTrigger(row: Row, revisions: StoredRevision[]): PendingTrigger {
  const attempts = Number(row.attempts);
  if (row.kind === 'stage') {
    return {
      id: Number(row.id),
      kind: 'stage',
      runId: Number(row.run_id),
      pipeline: String(row.pipeline),
      counter: Number(row.counter),
      stage: String(row.stage),
      attempts,
    };
  }
  return {
    id: Number(row.id),
    kind: 'revisions',
    fingerprint: String(row.fingerprint),
    revisions,
    checkTrigger: dueTrigger(row.check_trigger),
    attempts,
  };
}

/** The key of a pending trigger: one per cause, so that recording it twice records it once. */
export function pendingKey(
  cause: { fingerprint: string; revisionIds: number[] } | { runId: number; stage: string },
): string {
  return 'runId' in cause
    ? `stage:${cause.runId}:${cause.stage}`
    : `revisions:${cause.fingerprint}:${cause.revisionIds.join(',')}`;
}
