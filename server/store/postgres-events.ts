import pg from 'pg';
import type { EventDraft, HoistEvent } from '../events/model.ts';
import { eventColumns, toEvent } from './event-rows.ts';
import { type Queryable, rows, type Transaction } from './postgres-query.ts';
import type { EventStore } from './store.ts';

const CHANNEL = 'hoist_events';

/**
 * Writes events inside the caller's transaction, as its last statements. Event writers are
 * serialised to their commit by an advisory lock, so that ids become visible in increasing order
 * on every instance and a reader that resumes after an id never skips one committed later; the
 * `NOTIFY` (its payload the last id) reaches every instance's listener at the commit.
 */
export async function recordEvents(
  c: Queryable,
  drafts: readonly EventDraft[],
): Promise<HoistEvent[]> {
  if (drafts.length === 0) return [];
  await c.query("SELECT pg_advisory_xact_lock(hashtext('hoist:events'))");
  const at = new Date().toISOString();
  const columns = drafts.map(eventColumns);
  const inserted = await rows(
    c,
    `INSERT INTO events (at, type, pipeline, body)
    SELECT $1, type, pipeline, body FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e(type, pipeline, body, n)
    ORDER BY n RETURNING id`,
    [at, columns.map((e) => e.type), columns.map((e) => e.pipeline), columns.map((e) => e.body)],
  );
  const ids = inserted.map((row) => Number(row.id)).sort((x, y) => x - y);
  await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(ids.at(-1))]);
  return drafts.map((draft, i) => ({ ...draft, id: String(ids[i]), at }) as HoistEvent);
}

/**
 * Events on PostgreSQL, shared by every instance: one connection of its own per instance
 * listens for the notifications of every writer (and reconnects when it drops).
 */
export function postgresEvents(
  url: string,
  pool: pg.Pool,
  tx: Transaction,
  onError: (error: Error) => void,
): EventStore & { close(): Promise<void> } {
  const listeners = new Set<() => void>();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const listen = async () => {
    if (closed || client) return;
    const c = new pg.Client({ connectionString: url });
    client = c;
    const lost = (error: Error) => {
      onError(error);
      if (client !== c) return;
      client = undefined;
      c.end().catch(() => {});
      // Woken once reconnected: what was committed meanwhile is read then.
      if (!closed) retry = setTimeout(() => void listen(), 1000);
    };
    c.on('error', lost);
    c.on('notification', () => {
      for (const listener of listeners) listener();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      for (const listener of listeners) listener();
    } catch (error) {
      lost(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    appendEvents: (drafts) => tx((c) => recordEvents(c, drafts)),
    eventsAfter: async (after, limit) =>
      (
        await rows(pool, 'SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2', [after, limit])
      ).map(toEvent),
    lastEventId: async () =>
      Number((await rows(pool, 'SELECT COALESCE(MAX(id), 0) AS id FROM events'))[0]?.id ?? 0),
    pruneEvents: (before, keep) =>
      tx(async (c) => {
        const old = await c.query('DELETE FROM events WHERE at < $1', [before]);
        const many = await c.query(
          'DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $1)',
          [keep],
        );
        return (old.rowCount ?? 0) + (many.rowCount ?? 0);
      }),
    onEvents(listener) {
      listeners.add(listener);
      void listen();
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
