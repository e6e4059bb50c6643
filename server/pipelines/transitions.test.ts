import { describe, expect, it } from 'vitest';
import type { JobRow, JobStatus, RunRow, RunStatus, StageStatus } from '../store/store.ts';
import * as t from './transitions.ts';

const NOW = '2026-12-01T10:00:00.000Z';

/** A run with stages `[name, approval, status, jobStatuses]`, ids 10·position (+ job index). */
function runOf(
  status: RunStatus,
  stages: [string, 'auto' | 'manual', StageStatus, JobStatus[]][],
): RunRow {
  return {
    id: 1,
    pipeline: 'deploy',
    counter: 7,
    status,
    cause: { materials: [], packages: {} },
    revisionKey: 'k',
    trigger: 'poll',
    triggeredBy: null,
    createdAt: NOW,
    finishedAt: null,
    stages: stages.map(([name, approval, stageStatus, jobs], position) => ({
      id: 10 * (position + 1),
      runId: 1,
      position,
      name,
      status: stageStatus,
      approval,
      approvedBy: null,
      approvedAt: null,
      approvalComment: null,
      startedAt: null,
      finishedAt: null,
      jobs: jobs.map((jobStatus, i) => ({
        id: 10 * (position + 1) + i + 1,
        stageId: 10 * (position + 1),
        name: `j${i}`,
        status: jobStatus,
        startedAt: null,
        finishedAt: null,
        exitCode: null,
        error: null,
        process: null,
      })),
    })),
  };
}

const alice = { name: 'alice' };
const gate = {
  name: 'production',
  approval: 'manual' as const,
  jobs: [{ name: 'j0', tasks: [{ run: 'true' }] }],
};

describe('server/pipelines/transitions', () => {
  it('approves a stage awaiting approval: the stage records who, the run builds again', () => {
    const run = runOf('waiting', [
      ['verify', 'auto', 'passed', ['passed']],
      ['production', 'manual', 'awaiting_approval', ['scheduled']],
    ]);
    expect(t.approve(run, 'production', gate, alice, 'CAB-1', NOW)).toEqual({
      run: { status: 'building', finishedAt: null },
      stages: [
        {
          id: 20,
          patch: {
            status: 'scheduled',
            approvedBy: 'alice',
            approvedAt: NOW,
            approvalComment: 'CAB-1',
          },
        },
      ],
    });
  });

  it('promotes past a failed stage unless the gate allows only success', () => {
    const run = runOf('failed', [
      ['verify', 'auto', 'failed', ['failed']],
      ['production', 'manual', 'scheduled', ['scheduled']],
    ]);
    const change = t.approve(run, 'production', gate, alice, undefined, NOW);
    expect(change.stages?.[0]).toEqual({ id: 10, patch: { status: 'passed' } });
    expect(() =>
      t.approve(run, 'production', { ...gate, allowOnlyOnSuccess: true }, alice, undefined, NOW),
    ).toThrow("stage 'production' may be approved only when 'verify' passed; it failed");
  });

  it('refuses to approve a stage that is not waiting, or does not exist', () => {
    const run = runOf('building', [
      ['verify', 'auto', 'building', ['building']],
      ['production', 'manual', 'scheduled', ['scheduled']],
    ]);
    expect(() => t.approve(run, 'production', gate, alice, undefined, NOW)).toThrow(
      "stage 'production' of deploy/7 is scheduled, not awaiting approval",
    );
    expect(() => t.approve(run, 'nope', gate, alice, undefined, NOW)).toThrow(
      "run deploy/7 has no stage 'nope'",
    );
  });

  it('re-runs a failed stage and resets it and every later stage and job', () => {
    const run = runOf('failed', [
      ['verify', 'auto', 'passed', ['passed']],
      ['test', 'auto', 'failed', ['failed', 'passed']],
      ['production', 'manual', 'scheduled', ['scheduled']],
    ]);
    const change = t.rerun(run, 'test', alice, NOW);
    expect(change.run).toEqual({ status: 'building', finishedAt: null });
    expect(change.stages?.map((s) => s.id)).toEqual([20, 30]);
    expect(change.stages?.[0]?.patch).toMatchObject({ status: 'scheduled', approvedBy: 'alice' });
    expect(change.stages?.[1]?.patch).not.toHaveProperty('approvedBy');
    expect(change.jobs?.map((j) => j.id)).toEqual([21, 22, 31]);
    expect(() => t.rerun(run, 'verify', alice, NOW)).toThrow(
      "stage 'verify' of deploy/7 is passed; only a failed or cancelled stage can run again",
    );
  });

  it('never re-runs a stage whose earlier stage has not passed', () => {
    const run = runOf('cancelled', [
      ['verify', 'auto', 'cancelled', ['cancelled']],
      ['test', 'auto', 'cancelled', ['cancelled']],
    ]);
    expect(() => t.rerun(run, 'test', alice, NOW)).toThrow(
      'an earlier stage of deploy/7 has not passed',
    );
  });

  it('cancels only what has not finished, and only a building or waiting run', () => {
    const run = runOf('building', [
      ['verify', 'auto', 'passed', ['passed']],
      ['test', 'auto', 'building', ['building', 'passed']],
      ['production', 'manual', 'scheduled', ['scheduled']],
    ]);
    const change = t.cancel(run, NOW);
    expect(change.run).toEqual({ status: 'cancelled', finishedAt: NOW });
    expect(change.stages?.map((s) => s.id)).toEqual([20, 30]);
    expect(change.jobs?.map((j) => j.id)).toEqual([21, 31]);
    expect(() => t.cancel({ ...run, status: 'passed' }, NOW)).toThrow(
      'run deploy/7 has already ended (passed)',
    );
  });

  it('asks the instance advancing a run to cancel it: its current stage is marked, the run stays building', () => {
    const run = runOf('building', [
      ['verify', 'auto', 'passed', ['passed']],
      ['test', 'auto', 'building', ['building']],
      ['production', 'auto', 'scheduled', ['scheduled']],
    ]);
    expect(t.cancelRequested(run)).toBe(false);
    const change = t.requestCancel(run, NOW);
    expect(change).toEqual({ stages: [{ id: 20, patch: { status: 'cancelled' } }] });
    const asked = runOf('building', [
      ['verify', 'auto', 'passed', ['passed']],
      ['test', 'auto', 'cancelled', ['building']],
      ['production', 'auto', 'scheduled', ['scheduled']],
    ]);
    expect(t.cancelRequested(asked)).toBe(true);
    expect(t.cancelRequested({ ...run, status: 'cancelled' })).toBe(true);
    // Should that instance stop first, the run's next step settles the cancel whole.
    const step = t.nextStep(asked, NOW);
    expect(step.kind === 'settle' && step.change).toEqual(t.cancel(asked, NOW));
    expect(() => t.requestCancel({ ...run, status: 'failed' }, NOW)).toThrow(
      'run deploy/7 has already ended (failed)',
    );
  });

  it('fails the jobs of a run whose instance stopped, never running them again by itself', () => {
    const run = runOf('building', [
      ['verify', 'auto', 'passed', ['passed']],
      ['deploy', 'auto', 'building', ['building', 'passed', 'scheduled']],
    ]);
    const cleared = { pgid: null, processStart: null, host: null };
    expect(t.takeOver(run, NOW)).toEqual({
      stages: [{ id: 20, patch: { status: 'failed', finishedAt: NOW } }],
      jobs: [21, 23].map((id) => ({
        id,
        patch: { status: 'failed', finishedAt: NOW, error: t.STOPPED_JOB_ERROR, ...cleared },
      })),
    });
  });

  it('leaves the jobs agents hold, and their stage, building; the next step waits for them', () => {
    const run = runOf('building', [['deploy', 'auto', 'building', ['building', 'building']]]);
    const [held, local] = run.stages[0]!.jobs as [JobRow, JobRow];
    const change = t.takeOver(run, NOW, new Map(), new Set([held.id]));
    expect(change.stages).toEqual([]);
    expect(change.jobs?.map((j) => j.id)).toEqual([local.id]);
    expect(t.nextStep(run, NOW)).toEqual({ kind: 'resume-stage', stage: run.stages[0] });
  });

  it('says what became of the processes of a taken-over job, and keeps those of another host', () => {
    const run = runOf('building', [['deploy', 'auto', 'building', ['building', 'building']]]);
    const [here, there] = run.stages[0]!.jobs as [JobRow, JobRow];
    here.process = { pgid: 4242, start: 'boot/1', host: 'a' };
    there.process = { pgid: 77, start: 'boot/2', host: 'b' };
    const change = t.takeOver(
      run,
      NOW,
      new Map([
        [here.id, 'stopped'],
        [there.id, 'elsewhere'],
      ]),
    );
    expect(change.jobs?.[0]?.patch).toMatchObject({ pgid: null, status: 'failed' });
    expect(change.jobs?.[0]?.patch.error).toBe(
      'the server stopped while this job was running; its processes (process group 4242) were stopped; re-run the stage',
    );
    expect(change.jobs?.[1]?.patch).not.toHaveProperty('pgid');
    expect(change.jobs?.[1]?.patch.error).toContain(
      'the server on host b stopped while this job was running; its processes (process group 77) may still run there',
    );
    expect(t.strayReason(here.process, 'gone')).toContain('(process group 4242) had ended');
    expect(t.strayReason(null, undefined)).toBe(t.STOPPED_JOB_ERROR);
  });

  it('records the process group of a task, and forgets it when the job ends or runs again', () => {
    const run = runOf('failed', [['deploy', 'auto', 'failed', ['failed']]]);
    const job = run.stages[0]!.jobs[0]!;
    expect(t.jobProcess(job, { pgid: 9, start: 'b/5', host: 'h' })).toEqual({
      jobs: [{ id: job.id, patch: { pgid: 9, processStart: 'b/5', host: 'h' } }],
    });
    const outcome = { passed: true, exitCode: 0, error: null };
    expect(t.finishJob(job, outcome, false, NOW).jobs?.[0]?.patch).toMatchObject({ pgid: null });
    expect(t.rerun(run, 'deploy', alice, NOW).jobs?.[0]?.patch).toMatchObject({ pgid: null });
  });

  it('decides the next step from the stored run', () => {
    const stages = (s: StageStatus, next: StageStatus) =>
      [
        ['verify', 'auto', s, ['scheduled']],
        ['production', 'manual', next, ['scheduled']],
      ] as [string, 'auto' | 'manual', StageStatus, JobStatus[]][];
    expect(t.nextStep(runOf('building', stages('scheduled', 'scheduled')), NOW)).toMatchObject({
      kind: 'run-stage',
      stage: { id: 10 },
      change: { stages: [{ id: 10, patch: { status: 'building', startedAt: NOW } }] },
    });
    expect(t.nextStep(runOf('building', stages('passed', 'awaiting_approval')), NOW)).toEqual({
      kind: 'settle',
      change: { run: { status: 'waiting' } },
    });
    expect(t.nextStep(runOf('waiting', stages('passed', 'awaiting_approval')), NOW)).toEqual({
      kind: 'done',
    });
    expect(t.nextStep(runOf('building', stages('passed', 'passed')), NOW)).toEqual({
      kind: 'settle',
      change: { run: { status: 'passed', finishedAt: NOW } },
    });
    expect(t.nextStep(runOf('building', stages('failed', 'scheduled')), NOW)).toEqual({
      kind: 'settle',
      change: { run: { status: 'failed', finishedAt: NOW } },
    });
    expect(t.nextStep(runOf('cancelled', stages('cancelled', 'cancelled')), NOW)).toEqual({
      kind: 'done',
    });
  });

  it('finishes a stage with its run in the same change', () => {
    const run = runOf('building', [
      ['verify', 'auto', 'building', ['passed']],
      ['production', 'manual', 'scheduled', ['scheduled']],
    ]);
    const [verify, production] = run.stages as [RunRow['stages'][0], RunRow['stages'][0]];
    expect(t.finishStage(run, verify, true, NOW)).toEqual({
      stages: [
        { id: 10, patch: { status: 'passed', finishedAt: NOW } },
        { id: 20, patch: { status: 'awaiting_approval' } },
      ],
      run: { status: 'waiting' },
      downstream: { stage: 'verify' },
    });
    expect(t.finishStage(run, verify, false, NOW)).toEqual({
      stages: [{ id: 10, patch: { status: 'failed', finishedAt: NOW } }],
      run: { status: 'failed', finishedAt: NOW },
    });
    expect(t.finishStage(run, production, true, NOW).run).toEqual({
      status: 'passed',
      finishedAt: NOW,
    });
    expect(t.finishStage(run, production, true, NOW).downstream).toEqual({ stage: 'production' });
  });

  it('records where a job runs when it starts, and how it ended', () => {
    const job = runOf('building', [['verify', 'auto', 'building', ['scheduled']]]).stages[0]!
      .jobs[0]!;
    expect(t.startJob(job, 'i1', NOW)).toEqual({
      jobs: [{ id: 11, patch: { status: 'building', startedAt: NOW, instance: 'i1' } }],
    });
    const outcome = { passed: false, exitCode: 2, error: 'exit 2' };
    expect(t.finishJob(job, outcome, false, NOW).jobs?.[0]?.patch.status).toBe('failed');
    expect(t.finishJob(job, outcome, true, NOW).jobs?.[0]?.patch.status).toBe('cancelled');
  });
});
