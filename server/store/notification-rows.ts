import type { DeliveryRow, NotificationRow } from './model.ts';

type Row = Record<string, unknown>;

/** A `notifications` row as the store returns it. */
export function toNotification(row: Row): NotificationRow {
  const definition = JSON.parse(String(row.definition)) as Omit<NotificationRow, 'name' | 'sealed'>;
  return { name: String(row.name), ...definition, sealed: String(row.secret) };
}

/** The `definition` column of a webhook: all but its name and sealed part. */
export function notificationDefinition(row: NotificationRow): string {
  const { name: _name, sealed: _sealed, ...definition } = row;
  return JSON.stringify(definition);
}

const num = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/** A `deliveries` row as the store returns it. */
export function toDelivery(row: Row): DeliveryRow {
  return {
    id: Number(row.id),
    notification: String(row.notification),
    eventId: Number(row.event_id),
    eventType: String(row.event_type),
    body: String(row.body),
    status: row.status as DeliveryRow['status'],
    attempts: Number(row.attempts),
    nextAttemptAt: num(row.next_attempt_at),
    lastError: row.last_error === null ? null : String(row.last_error),
    responseCode: num(row.response_code),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}
