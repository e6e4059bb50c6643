import { describe, expect, it } from 'vitest';
import { type GaugeInputs, gaugeValues } from './metrics-gauges.ts';
import type { MaterialSummary, RunRow, StageRow } from './store/store.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

const summary = (repository: string, failures: number): MaterialSummary => ({
  repository,
  name: 'app',
  fingerprint: `${repository}-${failures}`,
  pollIntervalMs: 60_000,
  plugin: 'yum',
  nextCheckAt: null,
  lastError: failures > 0 ? 'unreachable' : null,
  lastErrorCode: failures > 0 ? 'ERR_REPOSITORY_UNREACHABLE' : null,
  failures,
  leaseOwner: null,
  lastCheckId: 1,
  lastRevisionId: 1,
});

const stage = (position: number, status: StageRow['status'], finishedAt: string | null) =>
  ({ id: position, position, name: `s${position}`, status, finishedAt }) as StageRow;

const run = (pipeline: string, createdAt: string, stages: StageRow[]) =>
  ({ pipeline, createdAt, status: 'waiting', stages }) as RunRow;

const inputs = (over: Partial<GaugeInputs> = {}): GaugeInputs => ({
  now: NOW,
  leaseMs: 30_000,
  materials: 0,
  dueWaits: [],
  summaries: [],
  runCounts: [],
  activeRuns: [],
  locks: [],
  waiters: [],
  instances: [],
  ...over,
});

describe('server/metrics-gauges', () => {
  it('counts overdue materials (due over a minute) and the longest wait', () => {
    const values = gaugeValues(inputs({ materials: 3, dueWaits: [500, 61_000, 90_000] }));
    expect(values.hoist_materials).toEqual([{ labels: {}, value: 3 }]);
    expect(values.hoist_materials_overdue).toEqual([{ labels: {}, value: 2 }]);
    expect(values.hoist_material_oldest_due_seconds).toEqual([{ labels: {}, value: 90 }]);
    expect(gaugeValues(inputs()).hoist_material_oldest_due_seconds).toEqual([
      { labels: {}, value: 0 },
    ]);
  });

  it('counts failing materials by repository, 0 for a healthy one', () => {
    const values = gaugeValues(
      inputs({ summaries: [summary('internal', 2), summary('internal', 1), summary('mirror', 0)] }),
    );
    expect(values.hoist_materials_failing).toEqual([
      { labels: { repository: 'internal' }, value: 2 },
      { labels: { repository: 'mirror' }, value: 0 },
    ]);
  });

  it('gives every status of a pipeline that has runs, 0 where it has none', () => {
    const values = gaugeValues(
      inputs({
        runCounts: [
          { pipeline: 'build', status: 'passed', count: 7 },
          { pipeline: 'build', status: 'failed', count: 1 },
        ],
      }),
    );
    expect(values.hoist_runs).toEqual([
      { labels: { pipeline: 'build', status: 'building' }, value: 0 },
      { labels: { pipeline: 'build', status: 'waiting' }, value: 0 },
      { labels: { pipeline: 'build', status: 'passed' }, value: 7 },
      { labels: { pipeline: 'build', status: 'failed' }, value: 1 },
      { labels: { pipeline: 'build', status: 'cancelled' }, value: 0 },
    ]);
  });

  it('times an approval from the end of the stage before it, or the run start for a first stage', () => {
    const values = gaugeValues(
      inputs({
        activeRuns: [
          run('deploy', ago(900), [
            stage(0, 'passed', ago(600)),
            stage(1, 'awaiting_approval', null),
          ]),
          run('deploy', ago(100), [
            stage(0, 'passed', ago(50)),
            stage(1, 'awaiting_approval', null),
          ]),
          run('release', ago(3600), [stage(0, 'awaiting_approval', null)]),
          run('build', ago(10), [stage(0, 'building', null)]),
        ],
      }),
    );
    expect(values.hoist_stages_awaiting_approval).toEqual([
      { labels: { pipeline: 'deploy' }, value: 2 },
      { labels: { pipeline: 'release' }, value: 1 },
    ]);
    expect(values.hoist_approval_oldest_wait_seconds).toEqual([
      { labels: { pipeline: 'deploy' }, value: 600 },
      { labels: { pipeline: 'release' }, value: 3600 },
    ]);
  });

  it('says which pipelines are locked (a passed holder no longer holds) and who waits how long', () => {
    const values = gaugeValues(
      inputs({
        locks: [
          { pipeline: 'guarded', runId: 1, counter: 1, status: 'failed', takenAt: ago(100) },
          { pipeline: 'free', runId: 2, counter: 4, status: 'passed', takenAt: ago(100) },
        ],
        waiters: [
          { id: 3, pipeline: 'guarded', counter: 2, since: ago(120) },
          { id: 4, pipeline: 'guarded', counter: 3, since: ago(30) },
        ],
      }),
    );
    expect(values.hoist_pipeline_locked).toEqual([{ labels: { pipeline: 'guarded' }, value: 1 }]);
    expect(values.hoist_runs_waiting_for_lock).toEqual([
      { labels: { pipeline: 'guarded' }, value: 2 },
    ]);
    expect(values.hoist_lock_oldest_wait_seconds).toEqual([
      { labels: { pipeline: 'guarded' }, value: 120 },
    ]);
  });

  it('tells instances alive from gone by their heartbeat, with the leases of each', () => {
    const instance = (id: string, heartbeat: number, materials: string[], runs: string[]) => ({
      id,
      host: 'h',
      pid: 1,
      url: 'http://h',
      version: '0',
      startedAt: ago(1000),
      heartbeatAt: ago(heartbeat),
      materials,
      runs,
    });
    const values = gaugeValues(
      inputs({ instances: [instance('a', 5, ['m1', 'm2'], ['p/1']), instance('b', 600, [], [])] }),
    );
    expect(values.hoist_instances).toEqual([
      { labels: { state: 'alive' }, value: 1 },
      { labels: { state: 'gone' }, value: 1 },
    ]);
    expect(values.hoist_leases).toEqual([
      { labels: { owner: 'a', kind: 'material' }, value: 2 },
      { labels: { owner: 'a', kind: 'run' }, value: 1 },
      { labels: { owner: 'b', kind: 'material' }, value: 0 },
      { labels: { owner: 'b', kind: 'run' }, value: 0 },
    ]);
  });
});
