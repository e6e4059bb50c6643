import type { EventDraft, HoistEvent } from '../events/model.ts';

type Row = Record<string, unknown>;

/** Events are kept for 7 days, and at most the newest 100 000. */
export const EVENT_RETENTION = { days: 7, rows: 100_000 } as const;

/** An `events` row as the store returns it: its body with the id and time of the row. */
export function toEvent(row: Row): HoistEvent {
  const body = JSON.parse(String(row.body)) as EventDraft;
  return { id: String(row.id), ...body, at: String(row.at) } as HoistEvent;
}

/** The columns of a draft: its type and pipeline apart (for filtering), the rest as JSON. */
export function eventColumns(draft: EventDraft): {
  type: string;
  pipeline: string | null;
  body: string;
} {
  return { type: draft.type, pipeline: draft.pipeline ?? null, body: JSON.stringify(draft) };
}
