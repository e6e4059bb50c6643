import { ConflictError, NotFoundError } from 'hoist';
import type { JobProcess, JobRow, RunChange, RunRow, StageRow } from '../store/store.ts';
import type { Actor } from './approvals.ts';
import type { StageConfig } from './definition.ts';

/**
 * Run transitions as pure rules: each takes the run as stored and answers the one change that
 * the store writes in one transaction (or refuses with the reason). The engine decides when;
 * these decide what.
 */

/** A job patch that forgets its process group. */
const PROCESS_CLEARED = { pgid: null, processStart: null, host: null };

/** The error a job gets when the instance running it stopped. */
export const STOPPED_JOB_ERROR = 'the server stopped while this job was running; re-run the stage';

export function stageOf(run: RunRow, name: string): StageRow {
  const stage = run.stages.find((s) => s.name === name);
  if (!stage) throw new NotFoundError(`run ${run.pipeline}/${run.counter} has no stage '${name}'`);
  return stage;
}

/**
 * Approves a manual stage awaiting approval; or, unless it sets `allowOnlyOnSuccess`, one
 * whose previous stage failed (promote anyway: the failed stage is recorded as passed and the
 * run goes on from the approved stage). The caller has checked the approvers.
 */
export function approve(
  run: RunRow,
  stageName: string,
  definition: StageConfig | undefined,
  actor: Actor,
  comment: string | undefined,
  now: string,
): RunChange {
  const stage = stageOf(run, stageName);
  const previous = run.stages.find((s) => s.position === stage.position - 1);
  const afterFailure =
    stage.approval === 'manual' &&
    stage.status === 'scheduled' &&
    run.status === 'failed' &&
    previous?.status === 'failed' &&
    run.stages.every(
      (s) => s.position >= stage.position || s.status === 'passed' || s === previous,
    );
  if (afterFailure && definition?.allowOnlyOnSuccess) {
    throw new ConflictError(
      `stage '${stageName}' may be approved only when '${previous?.name}' passed; it failed`,
    );
  }
  if (stage.status !== 'awaiting_approval' && !afterFailure) {
    throw new ConflictError(
      `stage '${stageName}' of ${run.pipeline}/${run.counter} is ${stage.status}, not awaiting approval`,
    );
  }
  const stages: NonNullable<RunChange['stages']> = [];
  if (afterFailure && previous) stages.push({ id: previous.id, patch: { status: 'passed' } });
  stages.push({
    id: stage.id,
    patch: {
      status: 'scheduled',
      approvedBy: actor.name,
      approvedAt: now,
      approvalComment: comment ?? null,
    },
  });
  return { run: { status: 'building', finishedAt: null }, stages };
}

/**
 * Runs a failed or cancelled stage again, and then the stages after it (later manual stages
 * ask for approval again when their turn comes), with the run's same packages.
 */
export function rerun(run: RunRow, stageName: string, actor: Actor, now: string): RunChange {
  const stage = stageOf(run, stageName);
  if (stage.status !== 'failed' && stage.status !== 'cancelled') {
    throw new ConflictError(
      `stage '${stageName}' of ${run.pipeline}/${run.counter} is ${stage.status}; only a failed or cancelled stage can run again`,
    );
  }
  if (run.stages.some((s) => s.position < stage.position && s.status !== 'passed')) {
    throw new ConflictError(`an earlier stage of ${run.pipeline}/${run.counter} has not passed`);
  }
  const later = run.stages.filter((s) => s.position >= stage.position);
  return {
    run: { status: 'building', finishedAt: null },
    stages: later.map((s) => ({
      id: s.id,
      patch: {
        status: 'scheduled',
        startedAt: null,
        finishedAt: null,
        ...(s.id === stage.id ? { approvedBy: actor.name, approvedAt: now } : {}),
      },
    })),
    jobs: later.flatMap((s) =>
      s.jobs.map((job) => ({
        id: job.id,
        patch: {
          status: 'scheduled',
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          error: null,
          ...PROCESS_CLEARED,
        },
      })),
    ),
  };
}

/** Cancels a building or waiting run: unfinished jobs and stages are cancelled with it. */
export function cancel(run: RunRow, now: string): RunChange {
  if (run.status !== 'building' && run.status !== 'waiting') {
    throw new ConflictError(`run ${run.pipeline}/${run.counter} has already ended (${run.status})`);
  }
  const open = run.stages.filter((s) => s.status !== 'passed' && s.status !== 'failed');
  return {
    run: { status: 'cancelled', finishedAt: now },
    stages: open.map((s) => ({ id: s.id, patch: { status: 'cancelled', finishedAt: now } })),
    jobs: open.flatMap((s) =>
      s.jobs
        .filter((j) => j.status === 'scheduled' || j.status === 'building')
        .map((j) => ({ id: j.id, patch: { status: 'cancelled', finishedAt: now } })),
    ),
  };
}

/**
 * A cancel asked of the instance that advances the run: its current stage is marked cancelled
 * while the run stays building. That instance sees it, kills the stage's jobs, runs their
 * `onCancel` tasks and only then cancels the run (`cancel`); were it to stop first, the run's
 * next step settles it as cancelled.
 */
export function requestCancel(run: RunRow, now: string): RunChange {
  cancel(run, now);
  const current = run.stages.find((s) => s.status !== 'passed' && s.status !== 'failed');
  return current ? { stages: [{ id: current.id, patch: { status: 'cancelled' } }] } : {};
}

/** Whether a building run's cancel was asked for through another instance (`requestCancel`). */
export function cancelRequested(run: RunRow): boolean {
  return (
    run.status === 'cancelled' ||
    (run.status === 'building' && run.stages.some((s) => s.status === 'cancelled'))
  );
}

/** What became of a taken-over job's processes (see `strayReason`). */
export type StrayOutcome = 'stopped' | 'gone' | 'elsewhere';

/** The reason a taken-over job failed, from what became of its processes. */
export function strayReason(process: JobProcess | null, outcome: StrayOutcome | undefined) {
  if (!process || !outcome) return STOPPED_JOB_ERROR;
  if (outcome === 'elsewhere') {
    return `the server on host ${process.host} stopped while this job was running; its processes (process group ${process.pgid}) may still run there; re-run the stage once they ended`;
  }
  const what = outcome === 'stopped' ? 'were stopped' : 'had ended';
  return `the server stopped while this job was running; its processes (process group ${process.pgid}) ${what}; re-run the stage`;
}

/**
 * A run whose instance stopped: the jobs that were running failed with it (they are not run
 * again without a person deciding), so their stage failed; jobs that agents hold (`held`) are
 * not failed, and their stage stays building (the run's next step waits for their ends). `strays` says, by job id, what
 * became of their processes (those of this host are stopped first); nothing else changes.
 */
export function takeOver(
  run: RunRow,
  now: string,
  strays: ReadonlyMap<number, StrayOutcome> = new Map(),
  held: ReadonlySet<number> = new Set(),
): RunChange {
  const building = run.stages.filter((s) => s.status === 'building');
  // A stage with jobs that agents hold stays building: the run goes on waiting for their ends.
  const failing = building.filter((s) => !s.jobs.some((j) => held.has(j.id)));
  return {
    stages: failing.map((s) => ({ id: s.id, patch: { status: 'failed', finishedAt: now } })),
    jobs: building.flatMap((s) =>
      s.jobs
        .filter((j) => (j.status === 'building' || j.status === 'scheduled') && !held.has(j.id))
        .map((j) => {
          const outcome = strays.get(j.id);
          return {
            id: j.id,
            patch: {
              status: 'failed' as const,
              finishedAt: now,
              error: strayReason(j.process, outcome),
              // Processes of another host are still to be stopped: they stay recorded.
              ...(outcome === 'elsewhere' ? {} : PROCESS_CLEARED),
            },
          };
        }),
    ),
  };
}

/** A job's task started as the leader of process group `process.pgid`. */
export function jobProcess(job: JobRow, process: JobProcess): RunChange {
  return {
    jobs: [
      {
        id: job.id,
        patch: { pgid: process.pgid, processStart: process.start, host: process.host },
      },
    ],
  };
}

/** What is left of an ended job's process group was stopped, or had ended: forget it. */
export function processCleared(jobId: number): RunChange {
  return { jobs: [{ id: jobId, patch: PROCESS_CLEARED }] };
}

/** What advancing a run does next. */
export type Step =
  | { kind: 'done' }
  /** Write the change and stop: the run finished or waits for an approval. */
  | { kind: 'settle'; change: RunChange }
  /** Run this stage's jobs. */
  | { kind: 'run-stage'; stage: StageRow; change: RunChange }
  /** A taken-over stage whose jobs agents hold: wait for their ends. */
  | { kind: 'resume-stage'; stage: StageRow };

/** The next step of a run, from its stored state. */
export function nextStep(run: RunRow, now: string): Step {
  if (run.status === 'cancelled' || run.status === 'passed' || run.status === 'failed')
    return { kind: 'done' };
  const stage = run.stages.find((s) => s.status !== 'passed');
  if (!stage) return { kind: 'settle', change: { run: { status: 'passed', finishedAt: now } } };
  if (stage.status === 'awaiting_approval') {
    return run.status === 'waiting'
      ? { kind: 'done' }
      : { kind: 'settle', change: { run: { status: 'waiting' } } };
  }
  // A cancel asked of an instance that stopped before it settled it (`requestCancel`).
  if (stage.status === 'cancelled' && run.status === 'building')
    return { kind: 'settle', change: cancel(run, now) };
  if (stage.status === 'failed' || stage.status === 'cancelled')
    return { kind: 'settle', change: { run: { status: stage.status, finishedAt: now } } };
  if (stage.status === 'scheduled') {
    return {
      kind: 'run-stage',
      stage,
      change: { stages: [{ id: stage.id, patch: { status: 'building', startedAt: now } }] },
    };
  }
  // Only a take-over leaves a stage building (its jobs held by agents): wait for them.
  if (stage.status === 'building') return { kind: 'resume-stage', stage };
  return { kind: 'done' };
}

/** A job starts on an instance (its log will live there). */
export function startJob(job: JobRow, instance: string, now: string): RunChange {
  return { jobs: [{ id: job.id, patch: { status: 'building', startedAt: now, instance } }] };
}

/** A job ended: passed, failed, or cancelled when its run was cancelled meanwhile. */
export function finishJob(
  job: JobRow,
  outcome: { passed: boolean; exitCode: number | null; error: string | null },
  cancelled: boolean,
  now: string,
): RunChange {
  const status = cancelled ? 'cancelled' : outcome.passed ? 'passed' : 'failed';
  return {
    jobs: [
      {
        id: job.id,
        patch: {
          status,
          finishedAt: now,
          exitCode: outcome.exitCode,
          error: outcome.error,
          ...PROCESS_CLEARED,
        },
      },
    ],
  };
}

/**
 * A stage's jobs all ended. A failed stage fails the run; a passed one opens the next stage
 * (a manual one then awaits approval and the run waits) or ends the run as passed, and owes the
 * scheduling of the pipelines downstream of it (recorded with the change).
 */
export function finishStage(run: RunRow, stage: StageRow, passed: boolean, now: string): RunChange {
  const stages: NonNullable<RunChange['stages']> = [
    { id: stage.id, patch: { status: passed ? 'passed' : 'failed', finishedAt: now } },
  ];
  if (!passed) return { stages, run: { status: 'failed', finishedAt: now } };
  const downstream = { stage: stage.name };
  const next = run.stages.find((s) => s.position === stage.position + 1);
  if (!next) return { stages, run: { status: 'passed', finishedAt: now }, downstream };
  if (next.approval === 'manual') {
    stages.push({ id: next.id, patch: { status: 'awaiting_approval' } });
    return { stages, run: { status: 'waiting' }, downstream };
  }
  return { stages, downstream };
}
