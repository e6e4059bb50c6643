import { z } from 'zod';

export const Source = z
  .enum(['config', 'api'])
  .meta({ id: 'Source', description: 'Where it came from: the configuration file, or the API.' });

/** Secure values are only ever shown as `set`. */
const Secrets = z.record(z.string(), z.literal('set'));

/** A package repository: secure values only as `set`. */
export const Repository = z
  .object({
    name: z.string(),
    plugin: z.string(),
    config: z.record(z.string(), z.string()),
    secrets: Secrets,
    source: Source,
    packages: z.array(z.string()),
  })
  .meta({ id: 'Repository' });
export type Repository = z.infer<typeof Repository>;

/** A package of a repository: one polled material. */
export const Package = z
  .object({
    repository: z.string(),
    name: z.string(),
    config: z.record(z.string(), z.string()),
    secrets: Secrets,
    pollInterval: z.string().meta({ description: '`60s`, `5m`, `1h` or `never`.' }),
    fingerprint: z.string(),
    source: Source,
  })
  .meta({ id: 'Package' });
export type Package = z.infer<typeof Package>;

/** Variables by name; secure ones shown as `set`. */
const Variables = z.record(z.string(), z.string());

/**
 * A task: `run` (a shell line), `exec` (a command and its arguments) or `fetch` (the run's
 * package, verified, into the work folder), and when it runs.
 */
const Task = z.looseObject({
  run: z.string().optional(),
  exec: z.array(z.string()).optional(),
  fetch: z.string().optional().meta({
    description:
      "`repository/package`: a package the run carries, fetched and verified against the run's record.",
  }),
  to: z.string().optional().meta({
    description: "With `fetch`: a file, or a folder ending in `/`, inside the job's work folder.",
  }),
  runIf: z.enum(['passed', 'failed', 'any']).optional(),
});
/** A package material (`repository/package`), or an upstream pipeline's stage. */
const MaterialRef = z.looseObject({
  package: z.string().optional(),
  trigger: z.enum(['latest', 'every']).optional(),
  pipeline: z.string().optional(),
  stage: z.string().optional(),
});
const Job = z.looseObject({
  name: z.string(),
  tasks: z.array(Task),
  variables: Variables.optional(),
  secureVariables: Variables.optional(),
});
const Stage = z.looseObject({
  name: z.string(),
  approval: z.enum(['auto', 'manual']).optional(),
  jobs: z.array(Job),
  variables: Variables.optional(),
  secureVariables: Variables.optional(),
});

/** A timer's last firing: when, and the run it scheduled or why none. */
export const LastTimer = z
  .object({
    at: z.string(),
    outcome: z.string().meta({ description: '`scheduled`, or `skipped: <why>`.' }),
    counter: z.number().int().optional(),
    by: z.literal('another instance').optional(),
  })
  .meta({ id: 'LastTimer' });

/**
 * A pipeline: its definition as stored (the fields of hoist.yaml, kept whole: the schema lists
 * the common ones and lets others through) and its state.
 */
export const PipelineView = z
  .looseObject({
    name: z.string(),
    materials: z.array(MaterialRef),
    stages: z.array(Stage),
    lock: z.enum(['none', 'unlockWhenFinished', 'lockOnFailure']).optional(),
    timer: z
      .looseObject({
        cron: z.string(),
        timezone: z.string().optional(),
        onlyOnChanges: z.boolean().optional(),
      })
      .optional(),
    template: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    variables: Variables.optional(),
    secureVariables: Variables.optional().meta({ description: 'Only ever `{ NAME: "set" }`.' }),
    paused: z.boolean(),
    source: Source,
    schedulingError: z
      .string()
      .optional()
      .meta({ description: 'Why scheduling failed, while it does.' }),
    locked: z
      .object({ heldBy: z.number().int(), state: z.enum(['running', 'failed']) })
      .optional()
      .meta({ description: 'The run holding its lock, while one does.' }),
    nextTimer: z.string().nullable().optional(),
    lastTimer: LastTimer.optional(),
  })
  .meta({ id: 'PipelineView' });
export type PipelineView = z.infer<typeof PipelineView>;

/** A pipeline definition as in hoist.yaml, checked by the server (422 with every problem). */
export const PipelineDefinition = z
  .looseObject({ name: z.string() })
  .meta({ id: 'PipelineDefinition' });

/** The pipeline a change concerned. */
export const PipelineName = z.object({ name: z.string() }).meta({ id: 'PipelineName' });

/** What applying a configuration changed. */
export const ApplySummary = z
  .object({
    added: z.number().int(),
    changed: z.number().int(),
    removed: z.number().int(),
    dropped: z.array(z.string()).meta({ description: 'What the configuration no longer names.' }),
  })
  .meta({ id: 'ApplySummary' });
export type ApplySummary = z.infer<typeof ApplySummary>;
