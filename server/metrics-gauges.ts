import { holds } from './pipelines/locking.ts';
import type {
  InstanceRow,
  LockWaiter,
  MaterialSummary,
  PipelineLock,
  RunCount,
  RunRow,
  RunStatus,
} from './store/store.ts';

/** A material due for longer than this, its check not started, is overdue. */
export const OVERDUE_AFTER_MS = 60_000;

const RUN_STATUSES: readonly RunStatus[] = ['building', 'waiting', 'passed', 'failed', 'cancelled'];

/** What the gauges computed at each scrape are read from. */
export interface GaugeInputs {
  now: number;
  /** An instance whose heartbeat is older than this is gone. */
  leaseMs: number;
  materials: number;
  /** How long (ms) each due material whose check has not started has waited. */
  dueWaits: readonly number[];
  summaries: readonly MaterialSummary[];
  runCounts: readonly RunCount[];
  activeRuns: readonly RunRow[];
  locks: readonly PipelineLock[];
  waiters: readonly LockWaiter[];
  instances: readonly InstanceRow[];
}

/** One sample of a gauge. */
export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

/** Every gauge computed at a scrape, by name (see `metrics.ts` for their help). */
export type GaugeValues = Record<string, GaugeSample[]>;

const one = (value: number): GaugeSample[] => [{ labels: {}, value }];

/** The scrape-time gauges from what the store and the poller say now (pure). */
export function gaugeValues(inputs: GaugeInputs): GaugeValues {
  const { now, dueWaits } = inputs;
  return {
    hoist_materials: one(inputs.materials),
    hoist_materials_overdue: one(dueWaits.filter((ms) => ms > OVERDUE_AFTER_MS).length),
    hoist_material_oldest_due_seconds: one(Math.max(0, ...dueWaits) / 1000),
    hoist_materials_failing: failing(inputs.summaries),
    hoist_runs: runs(inputs.runCounts),
    ...approvals(inputs.activeRuns, now),
    ...locks(inputs.locks, inputs.waiters, now),
    ...instances(inputs.instances, inputs.leaseMs, now),
  };
}

/** Materials whose last check failed, by repository (0 for the others). */
function failing(summaries: readonly MaterialSummary[]): GaugeSample[] {
  const counts = new Map<string, number>();
  for (const m of summaries)
    counts.set(m.repository, (counts.get(m.repository) ?? 0) + (m.failures > 0 ? 1 : 0));
  return [...counts].map(([repository, value]) => ({ labels: { repository }, value }));
}

/** Runs of each pipeline in every status (0 where it has none). */
function runs(counts: readonly RunCount[]): GaugeSample[] {
  const pipelines = [...new Set(counts.map((c) => c.pipeline))];
  return pipelines.flatMap((pipeline) =>
    RUN_STATUSES.map((status) => ({
      labels: { pipeline, status },
      value: counts.find((c) => c.pipeline === pipeline && c.status === status)?.count ?? 0,
    })),
  );
}

/** Stages awaiting approval by pipeline, and how long the oldest has waited. */
function approvals(active: readonly RunRow[], now: number): GaugeValues {
  const waiting = new Map<string, { count: number; oldest: number }>();
  for (const run of active) {
    for (const stage of run.stages) {
      if (stage.status !== 'awaiting_approval') continue;
      // It waits since the stage before it passed, or since the run began (a gated first stage).
      const before = run.stages.find((s) => s.position === stage.position - 1);
      const since = Date.parse(before?.finishedAt ?? run.createdAt);
      const entry = waiting.get(run.pipeline) ?? { count: 0, oldest: 0 };
      waiting.set(run.pipeline, {
        count: entry.count + 1,
        oldest: Math.max(entry.oldest, (now - since) / 1000),
      });
    }
  }
  const of = (pick: (w: { count: number; oldest: number }) => number) =>
    [...waiting].map(([pipeline, w]) => ({ labels: { pipeline }, value: pick(w) }));
  return {
    hoist_stages_awaiting_approval: of((w) => w.count),
    hoist_approval_oldest_wait_seconds: of((w) => w.oldest),
  };
}

/** Pipelines locked, runs waiting for a lock, and how long the oldest has waited. */
function locks(
  held: readonly PipelineLock[],
  waiters: readonly LockWaiter[],
  now: number,
): GaugeValues {
  const waiting = new Map<string, { count: number; oldest: number }>();
  for (const w of waiters) {
    const entry = waiting.get(w.pipeline) ?? { count: 0, oldest: 0 };
    waiting.set(w.pipeline, {
      count: entry.count + 1,
      oldest: Math.max(entry.oldest, (now - Date.parse(w.since)) / 1000),
    });
  }
  return {
    hoist_pipeline_locked: held
      .filter((lock) => holds(lock))
      .map((lock) => ({ labels: { pipeline: lock.pipeline }, value: 1 })),
    hoist_runs_waiting_for_lock: [...waiting].map(([pipeline, w]) => ({
      labels: { pipeline },
      value: w.count,
    })),
    hoist_lock_oldest_wait_seconds: [...waiting].map(([pipeline, w]) => ({
      labels: { pipeline },
      value: w.oldest,
    })),
  };
}

/** Instances alive and gone (seen within a day, silent past their lease), and their leases. */
function instances(rows: readonly InstanceRow[], leaseMs: number, now: number): GaugeValues {
  const alive = rows.filter((i) => Date.parse(i.heartbeatAt) >= now - leaseMs).length;
  return {
    hoist_instances: [
      { labels: { state: 'alive' }, value: alive },
      { labels: { state: 'gone' }, value: rows.length - alive },
    ],
    hoist_leases: rows.flatMap((i) => [
      { labels: { owner: i.id, kind: 'material' }, value: i.materials.length },
      { labels: { owner: i.id, kind: 'run' }, value: i.runs.length },
    ]),
  };
}
