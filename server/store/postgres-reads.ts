import type pg from 'pg';
import {
  MATERIAL_SUMMARIES,
  PIPELINE_TEXTS,
  RUN_COUNTS,
  toMaterialSummary,
  toPipelineText,
  toRunCount,
} from './overview-rows.ts';
import { rows } from './postgres-query.ts';
import { toCheck, toRevision } from './rows.ts';
import type { OverviewStore } from './store.ts';

/** Overview reads on PostgreSQL: one round trip each, through the (fingerprint, id) indexes. */
export function postgresReads(pool: pg.Pool): OverviewStore {
  return {
    materialSummaries: async () => (await rows(pool, MATERIAL_SUMMARIES)).map(toMaterialSummary),
    recentChecksOf: async (fingerprints, limit) =>
      fingerprints.length === 0
        ? []
        : (
            await rows(
              pool,
              `SELECT c.* FROM unnest($1::text[]) WITH ORDINALITY AS f(fingerprint, n)
              CROSS JOIN LATERAL (
                SELECT * FROM checks WHERE fingerprint = f.fingerprint ORDER BY id DESC LIMIT $2) c
              ORDER BY f.n, c.id DESC`,
              [fingerprints, limit],
            )
          ).map(toCheck),
    latestRevisionsOf: async (fingerprints) =>
      fingerprints.length === 0
        ? []
        : (
            await rows(
              pool,
              `SELECT r.* FROM unnest($1::text[]) WITH ORDINALITY AS f(fingerprint, n)
              CROSS JOIN LATERAL (
                SELECT * FROM revisions WHERE fingerprint = f.fingerprint ORDER BY id DESC LIMIT 1) r
              ORDER BY f.n`,
              [fingerprints],
            )
          ).map(toRevision),
    pipelineTexts: async () => (await rows(pool, PIPELINE_TEXTS)).map(toPipelineText),
    runCounts: async () => (await rows(pool, RUN_COUNTS)).map(toRunCount),
    // Other instances write too, and nothing tells of their commits for free.
    changeMark: async () => undefined,
  };
}
