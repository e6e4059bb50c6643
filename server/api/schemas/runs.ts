import { z } from 'zod';
import { Revision } from './materials.ts';

export const RunStatus = z
  .enum(['building', 'passed', 'failed', 'cancelled', 'waiting'])
  .meta({ id: 'RunStatus', description: '`waiting`: a manual stage awaits approval.' });
export const StageStatus = z
  .enum(['scheduled', 'building', 'passed', 'failed', 'cancelled', 'awaiting_approval'])
  .meta({ id: 'StageStatus' });
export const JobStatus = z
  .enum(['scheduled', 'building', 'passed', 'failed', 'cancelled'])
  .meta({ id: 'JobStatus' });
export const Trigger = z
  .enum(['poll', 'check-now', 'manual', 'upstream', 'timer'])
  .meta({ id: 'Trigger' });

/** A job of a stage. */
export const Job = z
  .object({
    id: z.number().int(),
    stageId: z.number().int(),
    name: z.string(),
    status: JobStatus,
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    error: z.string().nullable(),
    process: z
      .object({ pgid: z.number().int(), start: z.string(), host: z.string() })
      .nullable()
      .meta({ description: 'The process group of its running task, while it runs.' }),
    waitingFor: z.string().optional().meta({
      description:
        'While it is queued for agents, why it waits: "no enabled agent can run this job: it needs resources rpm in environment production", or every able agent busy.',
    }),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof Job>;

/** A stage of a run. */
export const Stage = z
  .object({
    id: z.number().int(),
    runId: z.number().int(),
    position: z.number().int(),
    name: z.string(),
    status: StageStatus,
    approval: z.enum(['auto', 'manual']),
    approvedBy: z.string().nullable(),
    approvedAt: z.string().nullable(),
    approvalComment: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    jobs: z.array(Job),
  })
  .meta({ id: 'Stage' });
export type Stage = z.infer<typeof Stage>;

/** One material of a run's build cause. */
export const CauseMaterial = z
  .object({
    material: z.string().meta({ description: '`repo/pkg`, or `pipeline/stage` for an upstream.' }),
    type: z.enum(['package', 'pipeline']),
    revision: z.string(),
    changed: z.boolean(),
  })
  .meta({ id: 'CauseMaterial' });

/** Why a run exists and exactly what it runs with. */
export const BuildCause = z
  .object({
    materials: z.array(CauseMaterial),
    packages: z
      .record(z.string(), Revision)
      .meta({ description: 'Every package revision the run carries, by `repo/pkg`.' }),
    upstream: z
      .object({ pipeline: z.string(), counter: z.number().int(), stage: z.string() })
      .optional(),
  })
  .meta({ id: 'BuildCause' });

/** A pipeline run with its stages and jobs. */
export const Run = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    counter: z.number().int(),
    status: RunStatus,
    cause: BuildCause,
    revisionKey: z.string(),
    trigger: Trigger,
    triggeredBy: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    stages: z.array(Stage),
    waitingFor: z.string().optional().meta({
      description:
        "While it waits for its pipeline's lock, why: \"the lock of pipeline 'deploy', held by run 3 (building)\".",
    }),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof Run>;

/** A run just scheduled. */
export const ScheduledRun = z
  .object({ pipeline: z.string(), counter: z.number().int(), cause: BuildCause })
  .meta({ id: 'ScheduledRun' });
export type ScheduledRun = z.infer<typeof ScheduledRun>;

/** What a pipeline's runs may be pinned to. */
export const PinChoices = z
  .object({
    pipeline: z.string(),
    packages: z.array(
      z.object({
        material: z.string(),
        via: z.string().nullable(),
        revisions: z.array(z.object({ revision: z.string(), upstream: z.string().optional() })),
      }),
    ),
    upstreams: z.array(
      z.object({
        pipeline: z.string(),
        stage: z.string(),
        runs: z.array(
          z.object({
            counter: z.number().int(),
            createdAt: z.string(),
            packages: z.record(z.string(), z.string()),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'PinChoices' });
export type PinChoices = z.infer<typeof PinChoices>;

/** Which stages one revision of a package reached, run by run. */
export const Promotion = z
  .object({
    revision: z.string(),
    runs: z.array(
      z.object({
        pipeline: z.string(),
        counter: z.number().int(),
        status: RunStatus,
        trigger: Trigger,
        triggeredBy: z.string().nullable(),
        createdAt: z.string(),
        stages: z.array(
          z.object({
            name: z.string(),
            status: StageStatus,
            approvedBy: z.string().nullable(),
            approvedAt: z.string().nullable(),
            comment: z.string().nullable(),
            finishedAt: z.string().nullable(),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'Promotion' });
export type Promotion = z.infer<typeof Promotion>;

/** A pipeline after pause or unpause. */
export const PauseState = z
  .object({ name: z.string(), paused: z.boolean() })
  .meta({ id: 'PauseState' });

/** An unlocked pipeline, and the run that held its lock. */
export const Unlocked = z
  .object({ pipeline: z.string(), unlocked: z.number().int() })
  .meta({ id: 'Unlocked' });
export type Unlocked = z.infer<typeof Unlocked>;
