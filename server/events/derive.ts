import type {
  CheckOutcome,
  JobStatus,
  RunChange,
  RunRow,
  StageStatus,
  StoredRevision,
} from '../store/model.ts';
import type { EventDraft, EventMaterial, EventType } from './model.ts';

/**
 * Which events a change of state makes (pure). The stores call these inside the transaction of
 * the change, with the rows as they were before it, and record the events with it.
 */

const STAGE_EVENT: Partial<Record<StageStatus, EventType>> = {
  building: 'stage.started',
  awaiting_approval: 'stage.awaiting',
  passed: 'stage.passed',
  failed: 'stage.failed',
  cancelled: 'stage.cancelled',
};
const ENDED: ReadonlySet<string> = new Set(['passed', 'failed', 'cancelled']);

/** The package label a run carries (its first package), if any. */
export function runLabel(run: Pick<RunRow, 'cause'>): string | undefined {
  return Object.values(run.cause.packages)[0]?.revision;
}

const of = (run: RunRow) => {
  const label = runLabel(run);
  return { pipeline: run.pipeline, counter: run.counter, ...(label ? { label } : {}) };
};

/** A run was created: `run.created`, and its first stage's approval or wait. */
export function createdRunEvents(run: RunRow): EventDraft[] {
  const events: EventDraft[] = [
    {
      type: 'run.created',
      ...of(run),
      trigger: run.trigger,
      ...(run.triggeredBy ? { actor: run.triggeredBy } : {}),
    },
  ];
  const first = run.stages[0];
  if (first?.approvedBy)
    events.push({ type: 'approval.given', ...of(run), stage: first.name, actor: first.approvedBy });
  if (first?.status === 'awaiting_approval')
    events.push({ type: 'stage.awaiting', ...of(run), stage: first.name });
  return events;
}

/**
 * The events of one run transition, in the order a reader expects: jobs that ended, stages that
 * ended, approvals, stages that wait or start, jobs that start, the run's end.
 */
export function runChangeEvents(before: RunRow, change: RunChange): EventDraft[] {
  const base = of(before);
  const jobEnds: EventDraft[] = [];
  const jobStarts: EventDraft[] = [];
  const stageEnds: EventDraft[] = [];
  const approvals: EventDraft[] = [];
  const stageStarts: EventDraft[] = [];
  for (const { id, patch } of change.stages ?? []) {
    const stage = before.stages.find((s) => s.id === id);
    if (!stage) continue;
    if (patch.approvedBy && patch.approvedBy !== stage.approvedBy)
      approvals.push({
        type: 'approval.given',
        ...base,
        stage: stage.name,
        actor: patch.approvedBy,
      });
    const type = patch.status && patch.status !== stage.status && STAGE_EVENT[patch.status];
    if (!type) continue;
    const event: EventDraft = { type, ...base, stage: stage.name };
    if (ENDED.has(patch.status as string)) stageEnds.push({ ...event, outcome: patch.status });
    else stageStarts.push(event);
  }
  for (const { id, patch } of change.jobs ?? []) {
    const stage = before.stages.find((s) => s.jobs.some((j) => j.id === id));
    const job = stage?.jobs.find((j) => j.id === id);
    if (!stage || !job || !patch.status || patch.status === job.status) continue;
    const event = { ...base, stage: stage.name, job: job.name };
    if (patch.status === 'building') jobStarts.push({ type: 'job.started', ...event });
    else if (ENDED.has(patch.status)) jobEnds.push(jobFinished(event, patch));
  }
  const status = change.run?.status;
  const runEnd: EventDraft[] =
    status && status !== before.status && ENDED.has(status)
      ? [{ type: 'run.finished', ...base, outcome: status }]
      : [];
  return [...jobEnds, ...stageEnds, ...approvals, ...stageStarts, ...jobStarts, ...runEnd];
}

/** The start of a job an agent took (recorded with the claim that starts it). */
export function agentJobStarted(job: {
  pipeline: string;
  counter: number;
  stage: string;
  job: string;
  agentId: string | null;
}): EventDraft[] {
  const { pipeline, counter, stage } = job;
  return [
    {
      type: 'job.started',
      pipeline,
      counter,
      stage,
      job: job.job,
      ...(job.agentId ? { agent: job.agentId } : {}),
    },
  ];
}

function jobFinished(
  event: EventDraft extends infer E ? Omit<E, 'type'> : never,
  patch: { status?: JobStatus; exitCode?: number | null; error?: string | null },
): EventDraft {
  return {
    type: 'job.finished',
    ...event,
    outcome: patch.status as string,
    ...(typeof patch.exitCode === 'number' ? { exitCode: patch.exitCode } : {}),
    ...(patch.error ? { message: patch.error } : {}),
  };
}

/** A recorded check: `material.checked`, then one `material.revision` per new revision. */
export function checkEvents(
  material: EventMaterial | undefined,
  check: { outcome: CheckOutcome; error: string | null },
  inserted: readonly Pick<StoredRevision, 'revision'>[],
): EventDraft[] {
  if (!material) return [];
  const newest = inserted.at(-1)?.revision;
  return [
    {
      type: 'material.checked',
      material,
      outcome: check.outcome,
      ...(newest ? { label: newest } : {}),
      ...(check.error ? { message: check.error } : {}),
    },
    ...inserted.map(
      (r): EventDraft => ({ type: 'material.revision', material, label: r.revision }),
    ),
  ];
}
