import { z } from 'zod';
import { landingProblem } from '../../agent/job/fetch-rules.ts';
import { unknownPatterns } from '../events/patterns.ts';
import { cronProblem, knownTimeZone } from './cron.ts';

/** Names of repositories, packages, pipelines, stages and jobs. */
export const Name = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'may hold letters, digits, _, - and . (not first)');

/** Roles, lowest first. */
export const Role = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;

/** The longest poll interval and job timeout: 7 days (a timer cannot wait past 2^31−1 ms). */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

const DURATION_SHAPE = /^(\d+(ms|s|m|h)|never)$/;

/** `30s`, `5m`, `1h` or `never`, from `min` to 7 days. */
function duration(min: { ms: number; text: string }) {
  return z
    .string()
    .regex(DURATION_SHAPE, {
      message: "must look like '30s', '5m', '1h' or 'never'",
      abort: true,
    })
    .refine((v) => v === 'never' || parseDuration(v) >= min.ms, `must be at least ${min.text}`)
    .refine(
      (v) => v === 'never' || parseDuration(v) <= MAX_DURATION_MS,
      'must be at most 168h (7 days)',
    );
}

/** How often a package is checked: `30s`, `5m`, `1h`, `never`; 1 s to 7 days. */
export const PollInterval = duration({ ms: 1000, text: '1s' });

/** How long a job may run: `10m`, `2h`; 1 s to 7 days (`never`: the server's default). */
export const JobTimeout = duration({ ms: 1000, text: '1s' });

/** Configuration values: strings, with numbers and booleans accepted and written as text. */
const Values = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

/** A job environment variable's name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `variables:` or `secureVariables:` of a pipeline, stage or job: environment names, values
 * written as text; `HOIST_…` names are Hoist's own.
 */
export const Variables = Values.superRefine((values, ctx) => {
  for (const name of Object.keys(values)) {
    if (!VARIABLE_NAME.test(name))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `'${name}' is not an environment variable name: letters, digits and _, not a digit first`,
      });
    else if (name.startsWith('HOIST_'))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `names beginning HOIST_ are set by Hoist itself (HOIST_PIPELINE_NAME, HOIST_PACKAGE_…); choose another name`,
      });
  }
});

export const PackageConfig = z.strictObject({
  name: Name,
  config: Values.default({}),
  pollInterval: PollInterval.default('60s'),
});
export type PackageConfig = z.infer<typeof PackageConfig>;

export const RepositoryConfig = z.strictObject({
  name: Name,
  plugin: z.string().min(1),
  config: Values.default({}),
  packages: z.array(PackageConfig).default([]),
});
export type RepositoryConfig = z.infer<typeof RepositoryConfig>;

/** When a task runs: while no earlier task failed (default), once one has, or always. */
export const RunIf = z.enum(['passed', 'failed', 'any'], {
  error: () => 'must be passed, failed or any',
});
export type RunIf = z.infer<typeof RunIf>;

const TASK_SHAPES =
  "a task is either { run: 'a shell script' }, { exec: [command, argument, …] } or { fetch: 'repository/package', to: 'file or folder/' }";
const CANCEL_SHAPES =
  "an onCancel task is either { run: 'a shell script' } or { exec: [command, argument, …] }";

/** `repository/package`, as a package material names it. */
const PackageName = z
  .string()
  .regex(/^[^/]+\/[^/]+$/, "must name a package as 'repository/package'");

/**
 * `fetch:` the run's package (its own or an upstream's) into the job's work folder, verified
 * against the run's record; `to:` a file, or a folder ending in `/`, inside the work folder.
 */
export const FetchTask = z.strictObject({
  fetch: PackageName,
  to: z
    .string()
    .superRefine((to, ctx) => {
      const problem = landingProblem(to);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  runIf: RunIf.optional(),
});

/** The two kinds of command task, with more fields where a task allows them. */
function commandBranches<T extends z.core.$ZodLooseShape>(extra: T) {
  return [
    z.strictObject({ run: z.string().min(1), ...extra }),
    z.strictObject({ exec: z.array(z.string()).min(1), ...extra }),
  ] as const;
}

/** The union's one message: the problem of the kind the task plainly is, else the shapes. */
function unionError(kinds: string[], shapes: string) {
  return {
    error: (issue: { code?: string; input?: unknown; errors?: unknown }) =>
      issue.code === 'invalid_union' ? taskProblem(issue, kinds, shapes) : undefined,
  };
}

/**
 * What is wrong with a task: for a task that is plainly of one kind (`run`, `exec`, `fetch`),
 * the first problem of that kind (`runIf: must be passed, failed or any`), else the shapes.
 */
function taskProblem(
  issue: { input?: unknown; errors?: unknown },
  kinds: string[],
  shapes: string,
): string {
  const input = issue.input;
  if (typeof input !== 'object' || input === null) return shapes;
  const present = kinds.filter((k) => k in input);
  if (present.length !== 1 || !Array.isArray(issue.errors)) return shapes;
  const branch = issue.errors[kinds.indexOf(present[0] as string)] as
    | { path?: PropertyKey[]; message?: string }[]
    | undefined;
  const first = branch?.[0];
  if (!first?.message) return shapes;
  const where = (first.path ?? []).map(String).join('.');
  return where ? `${where}: ${first.message}` : first.message;
}

/** A task run when its job is cancelled while the task runs (GoCD's `on_cancel`). */
export const CancelTask = z.union(commandBranches({}), unionError(['run', 'exec'], CANCEL_SHAPES));

export const Task = z.union(
  [...commandBranches({ runIf: RunIf.optional(), onCancel: CancelTask.optional() }), FetchTask],
  unionError(['run', 'exec', 'fetch'], TASK_SHAPES),
);

/** The message of a value that is not even an object, naming what is expected. */
const shape = (expected: string) => ({
  error: (issue: { code?: string }) =>
    issue.code === 'invalid_type' ? `must be ${expected}` : undefined,
});

/** An agent's resource or environment name: a label without commas or spaces. */
export const AgentLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'may hold letters, digits, _, - and . (not first)');

export const Job = z.strictObject(
  {
    name: Name,
    tasks: z.array(Task).min(1, 'a job needs at least one task'),
    timeout: JobTimeout.optional(),
    resources: z.array(AgentLabel).optional(),
    variables: Variables.optional(),
    secureVariables: Variables.optional(),
  },
  shape("a job: { name: NAME, tasks: [{ run: '…' }], timeout: 10m }"),
);

export const Stage = z.strictObject(
  {
    name: Name,
    approval: z.enum(['auto', 'manual']).default('auto'),
    approvers: z.array(z.string().min(1)).optional(),
    allowOnlyOnSuccess: z.boolean().optional(),
    variables: Variables.optional(),
    secureVariables: Variables.optional(),
    jobs: z.array(Job).min(1, 'a stage needs at least one job'),
  },
  shape('a stage: { name: NAME, approval: auto | manual, approvers: [...], jobs: [...] }'),
);

export const PackageMaterial = z.strictObject({
  package: PackageName,
  trigger: z.enum(['latest', 'every']).default('latest'),
});

export const UpstreamMaterial = z.strictObject({ pipeline: Name, stage: Name });

/** A package of a repository, or the stage of an upstream pipeline whose packages it takes. */
export const Material = z.union([PackageMaterial, UpstreamMaterial], {
  error: (issue) => (issue.code === 'invalid_union' ? materialProblem(issue.input) : undefined),
});

/** What is wrong with a material that is neither shape, as precisely as can be said. */
function materialProblem(input: unknown): string {
  const shapes =
    "a material is either { package: 'repository/package', trigger: latest | every } or { pipeline: NAME, stage: STAGE }";
  if (typeof input !== 'object' || input === null) return shapes;
  const keys = Object.keys(input);
  if (keys.includes('pipeline') && !keys.includes('stage'))
    return `an upstream material names the stage that must pass: { pipeline: ${String((input as { pipeline: unknown }).pipeline)}, stage: STAGE }`;
  if (keys.includes('package') && keys.includes('pipeline'))
    return `a material is a package or an upstream pipeline, not both: write two materials`;
  return shapes;
}

/** A pipeline's timer: a cron expression in a time zone (UTC unless named). */
export const Timer = z.strictObject(
  {
    cron: z.string().superRefine((cron, ctx) => {
      const problem = cronProblem(cron);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    timezone: z
      .string()
      .refine(knownTimeZone, 'is not a known time zone (e.g. UTC, Europe/Berlin)')
      .default('UTC'),
    onlyOnChanges: z.boolean().default(false),
  },
  shape("a timer: { cron: '0 2 * * *', timezone: UTC, onlyOnChanges: false }"),
);

/** A template's parameter: its name, or its name and the value a pipeline may leave out. */
const TemplateParameter = z.union([
  Name,
  z.strictObject({
    name: Name,
    default: z.union([z.string(), z.number(), z.boolean()]).transform(String),
  }),
]);

/** A template of `templates:`; its stages are checked in each pipeline declared from it. */
export const TemplateConfig = z.strictObject(
  {
    name: Name,
    parameters: z.array(TemplateParameter).default([]),
    stages: z.array(z.unknown()).min(1, 'a template needs at least one stage'),
  },
  shape('a template: { name: NAME, parameters: [NAME, …], stages: [...] }'),
);
/** At most one run of a pipeline in progress at a time (see `pipelines/locking.ts`). */
export const LockBehaviour = z.enum(['none', 'unlockWhenFinished', 'lockOnFailure'], {
  error: 'must be none, unlockWhenFinished or lockOnFailure',
});

export const PipelineConfig = z.strictObject({
  name: Name,
  lock: LockBehaviour.optional(),
  /** Only agents in this environment run the pipeline's jobs. */
  environment: AgentLabel.optional(),
  materials: z.array(Material).min(1, 'a pipeline needs at least one material'),
  stages: z.array(Stage).min(1, 'a pipeline needs at least one stage'),
  timer: Timer.optional(),
  template: Name.optional(),
  parameters: z.record(z.string(), z.string()).optional(),
  variables: Variables.optional(),
  secureVariables: Variables.optional(),
});
export type PipelineConfig = z.infer<typeof PipelineConfig>;

export const TokenConfig = z.strictObject({
  name: Name,
  role: Role,
  token: z.string().min(16, 'must be at least 16 characters'),
  groups: z.array(Name).optional(),
});

/** Tokens: each name and each value once (a shared value would make two people one). */
const Tokens = z
  .array(TokenConfig)
  .default([])
  .superRefine((tokens, ctx) => {
    for (const [j, token] of tokens.entries()) {
      const i = tokens.findIndex((t) => t.token === token.token);
      if (i < j)
        ctx.addIssue({
          code: 'custom',
          path: [j, 'token'],
          message: `the same value as auth.tokens[${i}] (${tokens[i]?.name}): every token must be different`,
        });
      const n = tokens.findIndex((t) => t.name === token.name);
      if (n < j)
        ctx.addIssue({
          code: 'custom',
          path: [j, 'name'],
          message: `token '${token.name}' is defined twice`,
        });
    }
  });

/** A webhook of `notifications:`: events matching `events` are posted to `url`, signed. */
export const NotificationConfig = z.strictObject({
  name: Name,
  url: z
    .string()
    .refine((url) => URL.canParse(url), 'must be a URL')
    .refine(
      (url) => !URL.canParse(url) || ['http:', 'https:'].includes(new URL(url).protocol),
      'must be an http: or https: URL',
    ),
  events: z
    .array(z.string().min(1))
    .min(1, 'name at least one event type or pattern (e.g. stage.*)')
    .superRefine((patterns, ctx) => {
      for (const [i, pattern] of patterns.entries())
        if (unknownPatterns([pattern]).length > 0)
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `no event type matches '${pattern}'`,
          });
    }),
  secret: z.string().min(16, 'must be at least 16 characters').optional(),
  format: z.enum(['json', 'slack']).default('json'),
  allowPrivate: z.boolean().default(false),
});
export type NotificationConfig = z.infer<typeof NotificationConfig>;

const Notifications = z
  .array(NotificationConfig)
  .default([])
  .superRefine((list, ctx) => {
    for (const [j, n] of list.entries())
      if (list.findIndex((o) => o.name === n.name) < j)
        ctx.addIssue({
          code: 'custom',
          path: [j, 'name'],
          message: `notification '${n.name}' is defined twice`,
        });
  });

/** The whole `hoist.yaml`. */
export const HoistConfig = z.strictObject({
  auth: z.strictObject({ tokens: Tokens }).default({ tokens: [] }),
  repositories: z.array(RepositoryConfig).default([]),
  pipelines: z.array(PipelineConfig).default([]),
  notifications: Notifications,
});
export type HoistConfig = z.infer<typeof HoistConfig>;

/** Milliseconds of `30s`, `5m`, `1h`, `250ms`; null for `never`. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) return Number.NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** Poll interval in milliseconds, or null for never. */
export function pollIntervalMs(text: string): number | null {
  return text === 'never' ? null : parseDuration(text);
}
