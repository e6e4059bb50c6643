import { z } from 'zod';
import { PipelineView } from './config.ts';
import { Revision } from './materials.ts';
import { Run, RunStatus, StageStatus, Trigger } from './runs.ts';

/** One pipeline on the delivery board: its state, where it gets packages from, its latest runs. */
export const BoardPipeline = z
  .object({
    pipeline: PipelineView,
    upstream: z.array(z.string()).meta({ description: 'The pipelines it gets packages from.' }),
    downstream: z.array(z.string()).meta({ description: 'The pipelines that follow it.' }),
    runs: z.array(Run).meta({ description: 'Its latest runs, newest first.' }),
    rollbacks: z
      .array(z.number().int())
      .meta({ description: 'The counters of those runs that rolled a package back.' }),
  })
  .meta({ id: 'BoardPipeline' });
export type BoardPipeline = z.infer<typeof BoardPipeline>;

/** Every pipeline with its latest runs, in groups connected by dependencies, upstream first. */
export const Board = z
  .object({
    groups: z.array(
      z.object({
        name: z.string().meta({ description: 'Its first pipeline, upstream of the others.' }),
        pipelines: z.array(BoardPipeline),
      }),
    ),
  })
  .meta({ id: 'Board' });
export type Board = z.infer<typeof Board>;

/** A package revision of a value stream. */
export const StreamPackage = z
  .object({
    id: z.string(),
    material: z.string().meta({ description: '`repo/pkg`.' }),
    revision: Revision,
  })
  .meta({ id: 'StreamPackage' });

/** A run of a value stream, in its column (1 + how far its pipeline is from the repositories). */
export const StreamRun = z
  .object({
    id: z.string(),
    column: z.number().int(),
    pipeline: z.string(),
    counter: z.number().int(),
    status: RunStatus,
    trigger: Trigger,
    triggeredBy: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    current: z.boolean().meta({ description: 'The run the stream was asked for.' }),
    rollback: z.boolean().meta({ description: 'It rolled a package back (a pinned older run).' }),
    packages: z.record(z.string(), z.string()).meta({ description: 'Labels by `repo/pkg`.' }),
    stages: z.array(
      z.object({
        name: z.string(),
        status: StageStatus,
        approvedBy: z.string().nullable(),
        approvedAt: z.string().nullable(),
        startedAt: z.string().nullable(),
        finishedAt: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'StreamRun' });
export type StreamRun = z.infer<typeof StreamRun>;

/**
 * A run's value stream as a graph: its package revisions (column 0), every run that carried the
 * same revisions and the upstream runs they came through, and the edges between them.
 */
export const ValueStream = z
  .object({
    pipeline: z.string(),
    counter: z.number().int(),
    packages: z.array(StreamPackage),
    runs: z.array(StreamRun),
    edges: z.array(z.object({ from: z.string(), to: z.string() })),
  })
  .meta({ id: 'ValueStream' });
export type ValueStream = z.infer<typeof ValueStream>;
