import { definitionOf, upstreamMaterials } from '../pipelines/definition.ts';
import type { PipelineEngine } from '../pipelines/engine.ts';
import {
  type Dependency,
  dependencyGroups,
  depthsOf,
  packageNode,
  rollbacks,
  runNode,
  streamEdges,
  upstreamNode,
} from '../pipelines/value-stream.ts';
import type { PipelineRow, RunRow } from '../store/store.ts';
import type { ServerContext } from './context.ts';
import type { Board, BoardPipeline, StreamRun, ValueStream } from './schemas/index.ts';
import { pipelineView } from './views.ts';

/** How many runs of each pipeline a value stream looks through for the same revision. */
const STREAM_RUNS = 200;
/** At most this many upstream runs are read one by one to complete a stream's fan-in. */
const MAX_UPSTREAM_READS = 50;

type Reader = Pick<ServerContext, 'store' | 'timers'>;

function dependenciesOf(rows: readonly PipelineRow[]): Dependency[] {
  return rows.map((row) => ({
    name: row.name,
    upstream: [...new Set(upstreamMaterials(definitionOf(row)).map((m) => m.pipeline))],
  }));
}

/** `/api/board`: every pipeline with its latest `limit` runs, grouped and ordered by dependencies. */
export async function readBoard(
  ctx: Reader,
  engine: PipelineEngine,
  limit: number,
): Promise<Board> {
  const rows = await ctx.store.listPipelines();
  const dependencies = dependenciesOf(rows);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const entries = new Map<string, BoardPipeline>();
  await Promise.all(
    dependencies.map(async ({ name, upstream }) => {
      const row = byName.get(name) as PipelineRow;
      const [lock, runs] = await Promise.all([
        ctx.store.getLock(name),
        ctx.store.listRuns(name, limit),
      ]);
      entries.set(name, {
        pipeline: pipelineView(row, ctx.timers.view(name), lock) as BoardPipeline['pipeline'],
        upstream,
        downstream: dependencies.filter((d) => d.upstream.includes(name)).map((d) => d.name),
        runs: (await engine.runViews(name, runs)) as BoardPipeline['runs'],
        rollbacks: [...rollbacks(runs)].sort((a, b) => b - a),
      });
    }),
  );
  return {
    groups: dependencyGroups(dependencies).map((names) => ({
      name: names[0] as string,
      pipelines: names.map((n) => entries.get(n) as BoardPipeline),
    })),
  };
}

/**
 * `/api/value-stream/:name/:counter`: the run's package revisions, every run that carried one of
 * them, and the upstream runs those came through (fan-in), in columns by dependency depth.
 */
export async function readValueStream(ctx: Reader, focus: RunRow): Promise<ValueStream> {
  const rows = await ctx.store.listPipelines();
  const depth = depthsOf(dependenciesOf(rows));
  const wanted = Object.entries(focus.cause.packages).map(([m, r]) => `${m}@${r.revision}`);
  const carries = (run: RunRow) =>
    Object.entries(run.cause.packages).some(([m, r]) => wanted.includes(`${m}@${r.revision}`));
  const runs = new Map<string, RunRow>();
  const rolledBack = new Set<string>();
  for (const row of rows) {
    const list = await ctx.store.listRuns(row.name, STREAM_RUNS);
    const back = rollbacks(list);
    for (const run of list.filter(carries)) {
      runs.set(runNode(run.pipeline, run.counter), run);
      if (back.has(run.counter)) rolledBack.add(runNode(run.pipeline, run.counter));
    }
  }
  runs.set(runNode(focus.pipeline, focus.counter), focus);
  await addUpstreams(ctx, runs);
  const packages = new Map<string, ValueStream['packages'][number]>();
  for (const run of [focus, ...runs.values()]) {
    for (const m of run.cause.materials) {
      const revision = run.cause.packages[m.material];
      if (m.type !== 'package' || !revision) continue;
      const id = packageNode(m.material, revision.revision);
      if (!packages.has(id)) packages.set(id, { id, material: m.material, revision });
    }
  }
  for (const [material, revision] of Object.entries(focus.cause.packages)) {
    const id = packageNode(material, revision.revision);
    if (!packages.has(id)) packages.set(id, { id, material, revision });
  }
  const present = new Set([...packages.keys(), ...runs.keys()]);
  const list = [...runs.values()].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.counter - b.counter,
  );
  return {
    pipeline: focus.pipeline,
    counter: focus.counter,
    packages: [...packages.values()],
    runs: list.map((run) => streamRun(run, focus, depth, rolledBack)),
    edges: streamEdges(list, present),
  };
}

/** The upstream runs the stream's runs name, read until none is missing (bounded). */
async function addUpstreams(ctx: Reader, runs: Map<string, RunRow>): Promise<void> {
  let reads = 0;
  const queue = [...runs.values()];
  while (queue.length > 0 && reads < MAX_UPSTREAM_READS) {
    const run = queue.shift() as RunRow;
    for (const m of run.cause.materials) {
      const id = m.type === 'pipeline' ? upstreamNode(m.revision) : undefined;
      if (!id || runs.has(id)) continue;
      const [pipeline, counter] = m.revision.split('/');
      reads++;
      const upstream = await ctx.store.getRun(pipeline as string, Number(counter));
      if (!upstream) continue;
      runs.set(id, upstream);
      queue.push(upstream);
    }
  }
}

function streamRun(
  run: RunRow,
  focus: RunRow,
  depth: Map<string, number>,
  rolledBack: Set<string>,
): StreamRun {
  const id = runNode(run.pipeline, run.counter);
  return {
    id,
    column: 1 + (depth.get(run.pipeline) ?? 0),
    pipeline: run.pipeline,
    counter: run.counter,
    status: run.status,
    trigger: run.trigger,
    triggeredBy: run.triggeredBy,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    current: run.pipeline === focus.pipeline && run.counter === focus.counter,
    rollback: rolledBack.has(id),
    packages: Object.fromEntries(
      Object.entries(run.cause.packages).map(([m, r]) => [m, r.revision]),
    ),
    stages: run.stages.map((s) => ({
      name: s.name,
      status: s.status,
      approvedBy: s.approvedBy,
      approvedAt: s.approvedAt,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
    })),
  };
}
