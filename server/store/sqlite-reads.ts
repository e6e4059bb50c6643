import type Database from 'better-sqlite3';
import {
  MATERIAL_SUMMARIES,
  PIPELINE_TEXTS,
  RUN_COUNTS,
  toMaterialSummary,
  toPipelineText,
  toRunCount,
} from './overview-rows.ts';
import { toCheck, toRevision } from './rows.ts';
import type { OverviewStore } from './store.ts';

type Row = Record<string, unknown>;

/** Overview reads on SQLite: in process, one indexed query per material asked for is cheap. */
export function sqliteReads(db: Database.Database): OverviewStore {
  const q = {
    summaries: db.prepare(MATERIAL_SUMMARIES),
    pipelines: db.prepare(PIPELINE_TEXTS),
    runCounts: db.prepare(RUN_COUNTS),
    checks: db.prepare('SELECT * FROM checks WHERE fingerprint = ? ORDER BY id DESC LIMIT ?'),
    latest: db.prepare('SELECT * FROM revisions WHERE fingerprint = ? ORDER BY id DESC LIMIT 1'),
    changes: db.prepare('SELECT total_changes() AS n').pluck(),
  };
  return {
    materialSummaries: async () => (q.summaries.all() as Row[]).map(toMaterialSummary),
    recentChecksOf: async (fingerprints, limit) =>
      fingerprints.flatMap((f) => (q.checks.all(f, limit) as Row[]).map(toCheck)),
    latestRevisionsOf: async (fingerprints) =>
      fingerprints.flatMap((f) => {
        const row = q.latest.get(f) as Row | undefined;
        return row ? [toRevision(row)] : [];
      }),
    pipelineTexts: async () => (q.pipelines.all() as Row[]).map(toPipelineText),
    runCounts: async () => (q.runCounts.all() as Row[]).map(toRunCount),
    // Rows this connection changed, and commits of other connections (`data_version`).
    changeMark: async () =>
      `${q.changes.get() as number}:${db.pragma('data_version', { simple: true }) as number}`,
  };
}
