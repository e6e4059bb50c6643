import type { RunRow, Store } from '../store/store.ts';

/** One run that carried a revision, as the promotions report shows it. */
export interface PromotionRun {
  pipeline: string;
  counter: number;
  status: RunRow['status'];
  trigger: RunRow['trigger'];
  triggeredBy: string | null;
  createdAt: string;
  stages: {
    name: string;
    status: RunRow['stages'][number]['status'];
    approvedBy: string | null;
    approvedAt: string | null;
    comment: string | null;
    finishedAt: string | null;
  }[];
}

/** How many runs of each pipeline the report reads. */
const RUNS_PER_PIPELINE = 1000;

/**
 * Which stages each revision of a package reached, in which runs, approved by whom: read from
 * each run's one record of its packages.
 */
export async function promotions(
  store: Pick<Store, 'listPipelines' | 'listRuns'>,
  material: string,
): Promise<{ revision: string; runs: PromotionRun[] }[]> {
  const byRevision = new Map<string, { revision: string; runs: PromotionRun[] }>();
  for (const pipeline of await store.listPipelines()) {
    for (const run of await store.listRuns(pipeline.name, RUNS_PER_PIPELINE)) {
      const revision = run.cause.packages[material];
      if (!revision) continue;
      const entry = byRevision.get(revision.revision) ?? { revision: revision.revision, runs: [] };
      entry.runs.push({
        pipeline: run.pipeline,
        counter: run.counter,
        status: run.status,
        trigger: run.trigger,
        triggeredBy: run.triggeredBy,
        createdAt: run.createdAt,
        stages: run.stages.map((s) => ({
          name: s.name,
          status: s.status,
          approvedBy: s.approvedBy,
          approvedAt: s.approvedAt,
          comment: s.approvalComment,
          finishedAt: s.finishedAt,
        })),
      });
      byRevision.set(revision.revision, entry);
    }
  }
  return [...byRevision.values()];
}
