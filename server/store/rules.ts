import type { NewRun, RunStatus } from './store.ts';

/**
 * Domain rules both stores apply when they write, kept here so that SQLite and PostgreSQL
 * differ only in dialect and in how they serialise concurrent writers.
 */

/** Checks kept per material; older ones are deleted with each new record. */
export const CHECK_RETENTION = 500;

/** An instance silent for a day leaves the list of instances. */
export const FORGET_AFTER_MS = 86_400_000;

/**
 * The next due time a finished check writes: a check-now that arrived while the check ran
 * (`due_trigger = 'manual'`) keeps the material due, so that it is checked again at once.
 * `next` is the dialect's placeholder for the computed time.
 */
export function nextCheckAfterRecord(next: string): string {
  return `CASE WHEN due_trigger = 'manual' THEN next_check_at ELSE ${next} END`;
}

/** Tallies a configuration apply: objects added, changed (not merely saved again) and removed. */
export function applyTally() {
  const tally = { added: 0, changed: 0, removed: 0 };
  return {
    saved(existing: unknown, same: boolean) {
      if (!existing) tally.added++;
      else if (!same) tally.changed++;
    },
    removed(count = 1) {
      tally.removed += count;
    },
    result: () => ({ ...tally }),
  };
}

/** A manual first stage awaits approval unless the person who scheduled the run opened it. */
export function firstStageGated(run: Pick<NewRun, 'stages' | 'openedBy'>): boolean {
  return run.stages[0]?.approval === 'manual' && !run.openedBy;
}

/** Who opened the first stage, when and why: recorded as its approval. */
export function openedBy(
  run: Pick<NewRun, 'stages' | 'openedBy'>,
  at: string,
): { by: string | null; at: string | null; comment: string | null } {
  return run.stages[0]?.approval === 'manual' && run.openedBy
    ? { by: run.openedBy.name, at, comment: run.openedBy.comment ?? null }
    : { by: null, at: null, comment: null };
}

/**
 * The statuses of a run that holds its pipeline's lock. A lock row whose holder passed or was
 * cancelled (or is gone) holds nothing, and a taker replaces it: such a row cannot outlive its
 * run's end, which releases it in the same transaction, but a deleted history leaves none stuck.
 */
export const LOCK_HOLDING: ReadonlySet<RunStatus> = new Set(['building', 'waiting', 'failed']);
