import { sseReader } from '../../cli/sse.ts';
import type { HoistEvent } from '../../server/api/schemas/index.ts';
import { ADMIN_TOKEN } from './server-process.ts';

/** A client of `GET /api/events` that keeps what it received. */
export interface EventClient {
  status: number;
  events: HoistEvent[];
  /** The SSE `id` and `event` fields of each message, as sent. */
  fields: { id?: string; event?: string }[];
  /** Waits until `done(events)` holds (or rejects after `timeoutMs`). */
  until(done: (events: HoistEvent[]) => boolean, timeoutMs?: number): Promise<HoistEvent[]>;
  close(): void;
}

/** Subscribes to a server's event stream (the way the dashboard does: fetch and a reader). */
export async function subscribe(
  url: string,
  options: { token?: string; lastEventId?: string; query?: string } = {},
): Promise<EventClient> {
  const abort = new AbortController();
  const response = await fetch(`${url}/api/events${options.query ? `?${options.query}` : ''}`, {
    headers: {
      authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`,
      ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
    },
    signal: abort.signal,
  });
  const client: EventClient = {
    status: response.status,
    events: [],
    fields: [],
    async until(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(client.events)) {
        if (Date.now() > deadline)
          throw new Error(
            `events not as expected: ${JSON.stringify(client.events.map((e) => e.type))}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
      return client.events;
    },
    close: () => abort.abort(),
  };
  if (response.status !== 200 || !response.body) return client;
  const read = sseReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const message of read(decoder.decode(chunk, { stream: true }))) {
          client.fields.push({ id: message.id, event: message.event });
          client.events.push(JSON.parse(message.data) as HoistEvent);
        }
      }
    } catch {
      // aborted
    }
  })();
  return client;
}
