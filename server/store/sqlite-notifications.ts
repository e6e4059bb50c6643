import type Database from 'better-sqlite3';
import type { NotificationRow } from './model.ts';
import { notificationDefinition, toDelivery, toNotification } from './notification-rows.ts';
import type { SqliteEvents } from './sqlite-events.ts';
import type { NotificationStore } from './store.ts';

type Row = Record<string, unknown>;

/** Webhooks on SQLite; `replace` writes a configuration's webhooks in the caller's transaction. */
export function sqliteNotifications(
  db: Database.Database,
  events: SqliteEvents,
): NotificationStore & { replace(rows: readonly NotificationRow[]): void } {
  const now = () => new Date().toISOString();
  const q = {
    list: db.prepare('SELECT * FROM notifications ORDER BY name'),
    clear: db.prepare('DELETE FROM notifications'),
    insert: db.prepare(
      'INSERT INTO notifications (name, definition, secret, updated_at) VALUES (?, ?, ?, ?)',
    ),
    cursor: db.prepare('SELECT event_id FROM notification_cursor WHERE id = 1'),
    setCursor: db.prepare(`INSERT INTO notification_cursor (id, event_id) VALUES (1, ?)
      ON CONFLICT (id) DO UPDATE SET event_id = MAX(event_id, excluded.event_id)`),
    initCursor: db.prepare(
      'INSERT INTO notification_cursor (id, event_id) VALUES (1, ?) ON CONFLICT (id) DO NOTHING',
    ),
    enqueue: db.prepare(`INSERT INTO deliveries (notification, event_id, event_type, body, status,
      attempts, next_attempt_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, 'pending', 0, 0, ?, ?) ON CONFLICT (notification, event_id) DO NOTHING`),
    due: db.prepare(`SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= @now
      AND (lease_owner IS NULL OR lease_until < @now) ORDER BY id LIMIT @limit`),
    lease: db.prepare('UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?'),
    finish: db.prepare(`UPDATE deliveries SET status = @status, attempts = @attempts,
      next_attempt_at = @nextAttemptAt, last_error = @lastError, response_code = @responseCode,
      updated_at = @now, lease_owner = NULL, lease_until = NULL WHERE id = @id`),
    of: db.prepare('SELECT * FROM deliveries WHERE notification = ? ORDER BY id DESC LIMIT ?'),
  };
  const replace = (rows: readonly NotificationRow[]) => {
    q.clear.run();
    for (const row of rows) q.insert.run(row.name, notificationDefinition(row), row.sealed, now());
  };
  const enqueue = db.transaction(
    (deliveries: Parameters<NotificationStore['enqueueDeliveries']>[0], through: number) => {
      const at = now();
      for (const d of deliveries)
        q.enqueue.run(d.notification, d.eventId, d.eventType, d.body, at, at);
      q.setCursor.run(through);
      return Number((q.cursor.get() as Row).event_id);
    },
  );
  const claim = db.transaction((owner: string, at: number, until: number, limit: number) => {
    const rows = (q.due.all({ now: at, limit }) as Row[]).map(toDelivery);
    for (const row of rows) q.lease.run(owner, until, row.id);
    return rows;
  });
  const finish = db.transaction(
    (id: number, attempt: Parameters<NotificationStore['finishDelivery']>[1], event) => {
      q.finish.run({ id, ...attempt, now: now() });
      if (event) events.record([event]);
    },
  );
  return {
    replace,
    listNotifications: async () => (q.list.all() as Row[]).map(toNotification),
    enqueueDeliveries: async (deliveries, through) => enqueue(deliveries, through),
    deliveryCursor: async (initial) => {
      q.initCursor.run(initial);
      return Number((q.cursor.get() as Row).event_id);
    },
    claimDeliveries: async (owner, at, until, limit) => claim(owner, at, until, limit),
    finishDelivery: async (id, attempt, event) => finish(id, attempt, event),
    listDeliveries: async (notification, limit) =>
      (q.of.all(notification, limit) as Row[]).map(toDelivery),
  };
}
