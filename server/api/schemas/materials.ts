import { z } from 'zod';

/** A package version as its plugin reported it; `data` becomes the jobs' environment. */
export const Revision = z
  .object({
    revision: z.string().meta({ description: 'Its label, e.g. `app-1.2-1.noarch`.' }),
    timestamp: z.string(),
    user: z.string().optional(),
    comment: z.string().optional(),
    trackbackUrl: z.string().optional(),
    data: z.record(z.string(), z.string()),
  })
  .meta({ id: 'Revision' });
export type Revision = z.infer<typeof Revision>;

/** A revision in a material's history. */
export const StoredRevision = Revision.extend({
  id: z.number().int(),
  fingerprint: z.string(),
  discoveredAt: z.string(),
}).meta({ id: 'StoredRevision' });
export type StoredRevision = z.infer<typeof StoredRevision>;

/** The record of one check of a material: what it found, and the decision taken. */
export const Check = z
  .object({
    id: z.number().int(),
    fingerprint: z.string(),
    startedAt: z.string(),
    durationMs: z.number(),
    outcome: z.enum(['new', 'unchanged', 'nothing', 'error']),
    newRevisions: z.array(z.string()),
    errorCode: z.string().nullable(),
    error: z.string().nullable(),
    decision: z.string(),
    trigger: z.enum(['schedule', 'start', 'manual']),
    instance: z.string().nullable().meta({ description: 'The instance that made the check.' }),
  })
  .meta({ id: 'Check' });
export type Check = z.infer<typeof Check>;

/** One polled package of `/api/materials`. */
export const Material = z
  .object({
    fingerprint: z.string(),
    repository: z.string(),
    package: z.string(),
    plugin: z.string().nullable(),
    pollInterval: z.string().meta({ description: '`60s`, `5m`, `1h` or `never`.' }),
    latestRevision: StoredRevision.nullable(),
    lastCheck: Check.nullable(),
    checking: z.boolean(),
    nextCheckAt: z.string().nullable(),
    lastError: z.string().nullable(),
    lastErrorCode: z.string().nullable(),
    failures: z.number().int(),
    recentChecks: z.array(Check).meta({ description: 'The last `checks` checks, newest first.' }),
  })
  .meta({ id: 'Material' });
export type Material = z.infer<typeof Material>;

/** Check-now: which packages were queued. */
export const QueuedChecks = z
  .object({
    queued: z.array(
      z.object({ repository: z.string(), package: z.string(), fingerprint: z.string() }),
    ),
  })
  .meta({ id: 'QueuedChecks' });
export type QueuedChecks = z.infer<typeof QueuedChecks>;

/** What to check now: every package of a repository, or the repositories with this URL. */
export const CheckRequest = z
  .union([
    z.object({ repository: z.string().min(1) }).strict(),
    z.object({ url: z.string().min(1) }).strict(),
  ])
  .meta({ id: 'CheckRequest' });
