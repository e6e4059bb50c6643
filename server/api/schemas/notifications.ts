import { z } from 'zod';

/** A webhook of `notifications:`, as the API shows it: never its secret, nor its URL's path. */
export const Notification = z
  .object({
    name: z.string(),
    url: z.string().meta({
      description: "The URL's origin and `/…`: a path may hold a secret (Slack's does).",
    }),
    events: z.array(z.string()).meta({ description: 'Event types or patterns (`stage.*`).' }),
    format: z.enum(['json', 'slack']),
    allowPrivate: z.boolean(),
    signed: z.boolean().meta({ description: 'It has a secret: bodies carry `X-Hoist-Signature`.' }),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof Notification>;

/** One event delivered (or being delivered) to one webhook. */
export const Delivery = z
  .object({
    id: z.string().meta({ description: 'As sent in `X-Hoist-Delivery`.' }),
    event: z.string().meta({ description: "The event's id." }),
    type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    responseCode: z.number().int().nullable(),
    nextAttemptAt: z.string().nullable().meta({ description: 'ISO time; null once it ended.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;
