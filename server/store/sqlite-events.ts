import type Database from 'better-sqlite3';
import type { EventDraft, HoistEvent } from '../events/model.ts';
import { eventColumns, toEvent } from './event-rows.ts';
import type { EventStore } from './store.ts';

type Row = Record<string, unknown>;

/** The events of the SQLite store; `record` writes drafts inside the caller's transaction. */
export interface SqliteEvents extends EventStore {
  record(drafts: readonly EventDraft[]): HoistEvent[];
}

/**
 * Events on SQLite: one instance writes, so row ids are in commit order. Listeners are woken
 * after the current (synchronous) transaction, once its events are committed.
 */
export function sqliteEvents(db: Database.Database): SqliteEvents {
  const q = {
    insert: db.prepare(
      'INSERT INTO events (at, type, pipeline, body) VALUES (@at, @type, @pipeline, @body)',
    ),
    after: db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?'),
    last: db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events'),
    pruneOld: db.prepare('DELETE FROM events WHERE at < ?'),
    pruneMany: db.prepare(
      'DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ),
  };
  const listeners = new Set<() => void>();
  let woken = false;
  const wake = () => {
    if (woken) return;
    woken = true;
    // Runs after the synchronous transaction that wrote the events has committed.
    queueMicrotask(() => {
      woken = false;
      for (const listener of listeners) listener();
    });
  };
  const record = (drafts: readonly EventDraft[]): HoistEvent[] => {
    if (drafts.length === 0) return [];
    const at = new Date().toISOString();
    const events = drafts.map((draft) => {
      const info = q.insert.run({ at, ...eventColumns(draft) });
      return { ...draft, id: String(info.lastInsertRowid), at } as HoistEvent;
    });
    wake();
    return events;
  };
  const append = db.transaction((drafts: readonly EventDraft[]) => record(drafts));
  const prune = db.transaction(
    (before: string, keep: number) =>
      q.pruneOld.run(before).changes + q.pruneMany.run(keep).changes,
  );
  return {
    record,
    appendEvents: async (drafts) => append(drafts),
    eventsAfter: async (after, limit) => (q.after.all(after, limit) as Row[]).map(toEvent),
    lastEventId: async () => Number((q.last.get() as Row).id),
    pruneEvents: async (before, keep) => prune(before, keep),
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
