import type pg from 'pg';
import type { NotificationRow } from './model.ts';
import { notificationDefinition, toDelivery, toNotification } from './notification-rows.ts';
import { recordEvents } from './postgres-events.ts';
import { one, type Queryable, rows, type Transaction } from './postgres-query.ts';
import type { NotificationStore } from './store.ts';

/** Writes a configuration's webhooks (replacing the stored ones) in the caller's transaction. */
export async function replaceNotifications(
  c: Queryable,
  list: readonly NotificationRow[],
): Promise<void> {
  await c.query('DELETE FROM notifications');
  const now = new Date().toISOString();
  for (const row of list)
    await c.query(
      'INSERT INTO notifications (name, definition, secret, updated_at) VALUES ($1, $2, $3, $4)',
      [row.name, notificationDefinition(row), row.sealed, now],
    );
}

/**
 * Webhooks on PostgreSQL: every instance enqueues the events it reads (a delivery already
 * recorded is kept), and each due delivery is leased to one instance (`SKIP LOCKED`).
 */
export function postgresNotifications(pool: pg.Pool, tx: Transaction): NotificationStore {
  const now = () => new Date().toISOString();
  const cursor = async (c: Queryable) =>
    Number((await one(c, 'SELECT event_id FROM notification_cursor WHERE id = 1'))?.event_id ?? 0);
  return {
    listNotifications: async () =>
      (await rows(pool, 'SELECT * FROM notifications ORDER BY name')).map(toNotification),
    enqueueDeliveries: (deliveries, through) =>
      tx(async (c) => {
        const at = now();
        if (deliveries.length > 0)
          await c.query(
            `INSERT INTO deliveries (notification, event_id, event_type, body, status, attempts,
              next_attempt_at, created_at, updated_at)
            SELECT n, e, t, b, 'pending', 0, 0, $5, $5
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS d(n, e, t, b)
            ON CONFLICT (notification, event_id) DO NOTHING`,
            [
              deliveries.map((d) => d.notification),
              deliveries.map((d) => d.eventId),
              deliveries.map((d) => d.eventType),
              deliveries.map((d) => d.body),
              at,
            ],
          );
        await c.query(
          `INSERT INTO notification_cursor (id, event_id) VALUES (1, $1)
          ON CONFLICT (id) DO UPDATE SET event_id = GREATEST(notification_cursor.event_id, excluded.event_id)`,
          [through],
        );
        return cursor(c);
      }),
    deliveryCursor: async (initial) => {
      await pool.query(
        'INSERT INTO notification_cursor (id, event_id) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
        [initial],
      );
      return cursor(pool);
    },
    claimDeliveries: (owner, at, until, limit) =>
      tx(async (c) =>
        (
          await rows(
            c,
            `UPDATE deliveries SET lease_owner = $1, lease_until = $3 WHERE id IN (
              SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $2
                AND (lease_owner IS NULL OR lease_until < $2)
              ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
            RETURNING *`,
            [owner, at, until, limit],
          )
        )
          .map(toDelivery)
          .sort((x, y) => x.id - y.id),
      ),
    finishDelivery: (id, attempt, event) =>
      tx(async (c) => {
        await c.query(
          `UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5,
            response_code = $6, updated_at = $7, lease_owner = NULL, lease_until = NULL WHERE id = $1`,
          [
            id,
            attempt.status,
            attempt.attempts,
            attempt.nextAttemptAt,
            attempt.lastError,
            attempt.responseCode,
            now(),
          ],
        );
        if (event) await recordEvents(c, [event]);
      }),
    listDeliveries: async (notification, limit) =>
      (
        await rows(
          pool,
          'SELECT * FROM deliveries WHERE notification = $1 ORDER BY id DESC LIMIT $2',
          [notification, limit],
        )
      ).map(toDelivery),
  };
}
