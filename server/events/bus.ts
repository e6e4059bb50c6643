import type { FastifyBaseLogger } from 'fastify';
import { EVENT_RETENTION } from '../store/event-rows.ts';
import type { Store } from '../store/store.ts';
import type { EventDraft, HoistEvent } from './model.ts';

/** What the bus needs of the store. */
type EventSource = Pick<
  Store,
  'appendEvents' | 'eventsAfter' | 'lastEventId' | 'pruneEvents' | 'onEvents'
>;

/** One reader of the stream: it gets every event after its cursor, in id order. */
export interface Subscription {
  close(): void;
}

/** Takes events; a promise holds the next ones back until the reader has caught up. */
export type EventSink = (events: HoistEvent[]) => void | Promise<void>;

interface Subscriber {
  cursor: number;
  send: EventSink;
  pumping: boolean;
  closed: boolean;
}

const BATCH = 500;
/** Recent events kept in memory, so that live readers do not each query the store. */
const CACHE = 2000;

/**
 * The event stream of this instance: woken when events are committed (in process on SQLite,
 * `LISTEN` on PostgreSQL, and every few seconds in case a wake-up was lost), it reads the new
 * rows once and hands them to each subscriber from its own cursor, so that a reader resuming
 * after an id gets exactly the events after it.
 */
export class EventBus {
  private head = 0;
  private cache: HoistEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private reading: Promise<void> | undefined;
  private again = false;
  private timers: NodeJS.Timeout[] = [];
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly options: { store: EventSource; logger: FastifyBaseLogger; pollMs?: number },
  ) {}

  async start(): Promise<void> {
    this.head = await this.options.store.lastEventId();
    this.unlisten = this.options.store.onEvents(() => this.wake());
    this.timers.push(setInterval(() => this.wake(), this.options.pollMs ?? 5000));
    this.timers.push(setInterval(() => void this.prune(), 3_600_000));
    for (const t of this.timers) t.unref();
    await this.prune();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.unlisten?.();
    for (const s of this.subscribers) s.closed = true;
    this.subscribers.clear();
  }

  /** The id of the newest event this instance has read. */
  get lastId(): number {
    return this.head;
  }

  /** Records an event that no store change carries (e.g. `agent.changed`) and wakes readers. */
  async publish(draft: EventDraft): Promise<HoistEvent> {
    const [event] = await this.options.store.appendEvents([draft]);
    return event as HoistEvent;
  }

  /**
   * Every event after `after` (undefined: from now on), in order, to `send`, one batch at a
   * time: the next is read when the promise `send` answers has settled.
   */
  subscribe(after: number | undefined, send: EventSink): Subscription {
    const subscriber: Subscriber = {
      cursor: after ?? this.head,
      send,
      pumping: false,
      closed: false,
    };
    this.subscribers.add(subscriber);
    void this.pump(subscriber);
    return {
      close: () => {
        subscriber.closed = true;
        this.subscribers.delete(subscriber);
      },
    };
  }

  /** Reads what was committed since the last read; once at a time, again if woken meanwhile. */
  private wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read()
      .catch((error) => this.options.logger.warn({ error: String(error) }, 'reading events failed'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async read(): Promise<void> {
    for (;;) {
      const events = await this.options.store.eventsAfter(this.head, BATCH);
      if (events.length === 0) break;
      this.cache.push(...events);
      // Trimmed to CACHE once it holds twice that: not a shift of the whole cache at every read.
      if (this.cache.length > 2 * CACHE) this.cache = this.cache.slice(-CACHE);
      this.head = Number(events.at(-1)?.id);
      if (events.length < BATCH) break;
    }
    for (const s of this.subscribers) void this.pump(s);
  }

  /** Hands a subscriber what it has not had, from the cache or the store. */
  private async pump(s: Subscriber): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      while (!s.closed && s.cursor < this.head) {
        const events =
          this.fromCache(s.cursor) ?? (await this.options.store.eventsAfter(s.cursor, BATCH));
        const fresh = events.filter((e) => Number(e.id) > s.cursor && Number(e.id) <= this.head);
        if (fresh.length === 0) break;
        s.cursor = Number(fresh.at(-1)?.id);
        // A reader that is behind waits here: what it has not had stays in the store, not in memory.
        if (!s.closed) await s.send(fresh);
      }
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'reading events for a subscriber failed');
    } finally {
      s.pumping = false;
    }
  }

  private fromCache(after: number): HoistEvent[] | undefined {
    const cache = this.cache;
    const first = cache[0];
    if (!first || Number(first.id) > after + 1) return undefined;
    // Ids ascend: the first one past `after` by bisection, not a pass over the whole cache
    // for every batch (one batch per check when every check is an event).
    let low = 0;
    let high = cache.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (Number(cache[mid]?.id) > after) high = mid;
      else low = mid + 1;
    }
    return cache.slice(low, low + BATCH);
  }

  private async prune(): Promise<void> {
    const before = new Date(Date.now() - EVENT_RETENTION.days * 86_400_000).toISOString();
    try {
      await this.options.store.pruneEvents(before, EVENT_RETENTION.rows);
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'pruning events failed');
    }
  }
}
