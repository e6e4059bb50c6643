import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from 'hoist';
import { z } from 'zod';
import type { DeliveryRow, NotificationRow, Store } from '../store/store.ts';
import { Delivery, errorsOf, Notification } from './schemas/index.ts';

const meta = (operationId: string, summary: string) => ({ tags: ['system'], operationId, summary });

const toNotification = (n: NotificationRow): Notification => ({
  name: n.name,
  url: `${n.origin}/…`,
  events: n.events,
  format: n.format,
  allowPrivate: n.allowPrivate,
  signed: n.signed,
});

const toDelivery = (d: DeliveryRow): Delivery => ({
  id: String(d.id),
  event: String(d.eventId),
  type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  lastError: d.lastError,
  responseCode: d.responseCode,
  nextAttemptAt: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** Webhooks and their delivery log (operators and admins: receivers' answers are theirs). */
export const notificationRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/notifications',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('listNotifications', 'The webhooks of `notifications:`'),
        response: { 200: z.array(Notification), ...errorsOf(401, 403) },
      },
    },
    async () => (await store.listNotifications()).map(toNotification),
  );
  api.get(
    '/api/notifications/:name/deliveries',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('listDeliveries', "A webhook's deliveries, newest first"),
        params: z.object({ name: z.string() }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.array(Delivery), ...errorsOf(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!(await store.listNotifications()).some((n) => n.name === name))
        throw new NotFoundError(`No notification '${name}'`);
      return (await store.listDeliveries(name, request.query.limit)).map(toDelivery);
    },
  );
};
