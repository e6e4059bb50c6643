import { z } from 'zod';

/** Every event type. */
export const EVENT_TYPES = [
  'material.checked',
  'material.revision',
  'run.created',
  'run.finished',
  'stage.started',
  'stage.awaiting',
  'stage.passed',
  'stage.failed',
  'stage.cancelled',
  'job.started',
  'job.finished',
  'approval.given',
  'agent.changed',
  'notification.delivered',
  'notification.failed',
] as const;

export const EventType = z.enum(EVENT_TYPES).meta({ id: 'EventType' });
export type EventType = z.infer<typeof EventType>;

/** One event of `GET /api/events` (the `data` of each SSE message), and of webhooks' bodies. */
export const HoistEvent = z
  .object({
    id: z
      .string()
      .meta({ description: 'Increasing, opaque: resume after it with `Last-Event-ID`.' }),
    type: EventType,
    at: z.string().meta({ description: 'ISO time of the change.' }),
    pipeline: z.string().optional(),
    counter: z.number().int().optional(),
    stage: z.string().optional(),
    job: z.string().optional(),
    material: z.object({ repository: z.string(), package: z.string() }).optional(),
    label: z
      .string()
      .optional()
      .meta({ description: 'The new revision, or the package revision a run carries.' }),
    outcome: z.string().optional().meta({
      description:
        "`passed`, `failed`, `cancelled` (stages, jobs, runs); a check's outcome (`new`, `unchanged`, `nothing`, `error`); a delivery's status; an agent's change (`registered`, `changed`, `removed`, `lost`, `draining`).",
    }),
    actor: z.string().optional().meta({ description: 'Who approved, or who triggered the run.' }),
    trigger: z.string().optional(),
    exitCode: z.number().int().optional(),
    message: z.string().optional(),
    agent: z.string().optional(),
    notification: z.string().optional(),
    delivery: z.string().optional(),
  })
  .meta({ id: 'Event' });
export type HoistEvent = z.infer<typeof HoistEvent>;

/** The query of `GET /api/events`. */
export const EventsQuery = z.object({
  since: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .meta({ description: 'Resume after this event id (as `Last-Event-ID`; the header wins).' }),
  types: z.string().optional().meta({
    description: 'Comma-separated types or patterns (`stage.*`, `run.created`); default all.',
  }),
  pipeline: z.string().optional().meta({ description: "Only this pipeline's events." }),
});

/** The answer of `GET /api/events`: a stream, described for the document. */
export const EVENT_STREAM = {
  description:
    'Server-sent events: each message has `id: <id>`, `event: <type>` and `data: <one line of JSON Event>`; `: keep-alive` every 15 s. Viewers get every type but `notification.*`.',
  content: { 'text/event-stream': { schema: z.string() } },
};
