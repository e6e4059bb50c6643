import { describe, expect, it } from 'vitest';
import type { RunRow, StageRow } from '../store/model.ts';
import { checkEvents, createdRunEvents, runChangeEvents } from './derive.ts';

const stage = (id: number, name: string, over: Partial<StageRow> = {}): StageRow => ({
  id,
  runId: 1,
  position: id - 1,
  name,
  status: 'scheduled',
  approval: 'auto',
  approvedBy: null,
  approvedAt: null,
  approvalComment: null,
  startedAt: null,
  finishedAt: null,
  jobs: [
    {
      id: id * 10,
      stageId: id,
      name: `${name}-job`,
      status: 'scheduled',
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      error: null,
      process: null,
    },
  ],
  ...over,
});

const run = (over: Partial<RunRow> = {}): RunRow => ({
  id: 1,
  pipeline: 'build',
  counter: 4,
  status: 'building',
  cause: {
    materials: [],
    packages: { 'internal/app': { revision: 'app-1.2-1.noarch', timestamp: '', data: {} } },
  },
  revisionKey: 'k',
  trigger: 'poll',
  triggeredBy: null,
  createdAt: '',
  finishedAt: null,
  stages: [stage(1, 'verify'), stage(2, 'release', { approval: 'manual' })],
  ...over,
});

const base = { pipeline: 'build', counter: 4, label: 'app-1.2-1.noarch' };

describe('events/derive', () => {
  it('makes run.created, and the approval or wait of the first stage', () => {
    expect(createdRunEvents(run())).toEqual([{ type: 'run.created', ...base, trigger: 'poll' }]);
    const gated = run({
      status: 'waiting',
      stages: [stage(1, 'verify', { status: 'awaiting_approval', approval: 'manual' })],
    });
    expect(createdRunEvents(gated).map((e) => e.type)).toEqual(['run.created', 'stage.awaiting']);
    const opened = run({
      trigger: 'manual',
      triggeredBy: 'ann',
      stages: [stage(1, 'verify', { approval: 'manual', approvedBy: 'ann' })],
    });
    expect(createdRunEvents(opened)).toEqual([
      { type: 'run.created', ...base, trigger: 'manual', actor: 'ann' },
      { type: 'approval.given', ...base, stage: 'verify', actor: 'ann' },
    ]);
  });

  it('orders one transition: job end, stage end, approval, stage start, job start, run end', () => {
    const before = run({
      stages: [
        stage(1, 'verify', { status: 'building' }),
        stage(2, 'release', { status: 'awaiting_approval' }),
      ],
    });
    const events = runChangeEvents(before, {
      jobs: [
        { id: 20, patch: { status: 'building' } },
        { id: 10, patch: { status: 'failed', exitCode: 2, error: 'exit code 2' } },
      ],
      stages: [
        { id: 2, patch: { status: 'building', approvedBy: 'bob' } },
        { id: 1, patch: { status: 'failed' } },
      ],
      run: { status: 'failed' },
    });
    expect(events).toEqual([
      {
        type: 'job.finished',
        ...base,
        stage: 'verify',
        job: 'verify-job',
        outcome: 'failed',
        exitCode: 2,
        message: 'exit code 2',
      },
      { type: 'stage.failed', ...base, stage: 'verify', outcome: 'failed' },
      { type: 'approval.given', ...base, stage: 'release', actor: 'bob' },
      { type: 'stage.started', ...base, stage: 'release' },
      { type: 'job.started', ...base, stage: 'release', job: 'release-job' },
      { type: 'run.finished', ...base, outcome: 'failed' },
    ]);
  });

  it('makes nothing of a patch that changes no status (a heartbeat, a process id)', () => {
    const before = run({ stages: [stage(1, 'verify', { status: 'building' })] });
    expect(
      runChangeEvents(before, {
        stages: [{ id: 1, patch: { status: 'building' } }],
        jobs: [{ id: 10, patch: { pgid: 123 } }],
        run: { status: 'building' },
      }),
    ).toEqual([]);
    // A re-run resets stages to scheduled: no event until they start.
    expect(
      runChangeEvents(before, { stages: [{ id: 1, patch: { status: 'scheduled' } }] }),
    ).toEqual([]);
  });

  it('makes material.checked and one material.revision per new revision', () => {
    const material = { repository: 'internal', package: 'app' };
    expect(
      checkEvents(material, { outcome: 'new', error: null }, [
        { revision: 'app-1.0' },
        { revision: 'app-1.1' },
      ]),
    ).toEqual([
      { type: 'material.checked', material, outcome: 'new', label: 'app-1.1' },
      { type: 'material.revision', material, label: 'app-1.0' },
      { type: 'material.revision', material, label: 'app-1.1' },
    ]);
    expect(checkEvents(material, { outcome: 'error', error: 'HTTP 500' }, [])).toEqual([
      { type: 'material.checked', material, outcome: 'error', message: 'HTTP 500' },
    ]);
    expect(checkEvents(undefined, { outcome: 'new', error: null }, [])).toEqual([]);
  });
});
