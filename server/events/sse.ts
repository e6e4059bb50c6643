import type { HoistEvent } from './model.ts';

/** Server-sent events' wire format (pure). */

/** One event as an SSE message: `id`, `event` (its type) and one line of JSON. */
export function sseMessage(event: HoistEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The comment sent while nothing happens, so that proxies keep the connection. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n';

/** An event id a client resumes after: a non-negative integer, else undefined. */
export function parseEventId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
