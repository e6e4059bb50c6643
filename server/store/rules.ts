import type { NewRun } from './store.ts';

/**
 * Domain rules both stores apply when they write, kept here so that SQLite and PostgreSQL
 * differ only in dialect.
 */

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
