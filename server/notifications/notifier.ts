import type { FastifyBaseLogger } from 'fastify';
import { openNotification } from '../catalog/notifications.ts';
import type { EventBus, Subscription } from '../events/bus.ts';
import type { EventDraft, HoistEvent } from '../events/model.ts';
import { typeMatches } from '../events/patterns.ts';
import type { SecretBox } from '../secrets.ts';
import type { DeliveryRow, NotificationRow, Store } from '../store/store.ts';
import { deliveryBody, signature } from './payload.ts';
import { type RetryPolicy, retryDelay } from './retry.ts';
import type { PostResult } from './sender.ts';

/** Options of the notifier. */
export interface NotifierOptions {
  store: Store;
  bus: EventBus;
  box: SecretBox;
  /** This instance: it leases the deliveries it attempts. */
  owner: string;
  logger: FastifyBaseLogger;
  policy: RetryPolicy;
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    allowPrivate: boolean,
  ): Promise<PostResult>;
  /** How often due deliveries are looked for; default 1 s. */
  pollMs?: number;
}

/** Which webhooks want an event: `notification.*` events are never delivered (they would loop). */
export function deliveriesOf(
  events: readonly HoistEvent[],
  notifications: readonly NotificationRow[],
): Pick<DeliveryRow, 'notification' | 'eventId' | 'eventType' | 'body'>[] {
  return events
    .filter((e) => !e.type.startsWith('notification.'))
    .flatMap((event) =>
      notifications
        .filter((n) => n.events.some((pattern) => typeMatches(pattern, event.type)))
        .map((n) => ({
          notification: n.name,
          eventId: Number(event.id),
          eventType: event.type,
          body: deliveryBody(event, n.format),
        })),
    );
}

const AT_ONCE = 8;
/**
 * A batch that makes no delivery moves the stored cursor at most this often (most events make
 * none: a check of a quiet repository is one). After a restart the few events past the stored
 * cursor are read again and, with the same webhooks, make no delivery again; one recorded
 * twice is refused by the store.
 */
const IDLE_CURSOR_MS = 5000;

/**
 * Webhooks: every event read from the stream becomes a delivery per webhook that wants it
 * (recorded with a cursor in the store, so that a restart resumes where it was and instances
 * record each once), and due deliveries are leased, posted, and retried with back-off.
 */
export class Notifier {
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private delivering: Promise<void> | undefined;
  private stopped = false;
  private cursorWrittenAt = 0;
  /** Read past, not yet stored (batches without deliveries since the last write). */
  private unwritten: number | undefined;
  /** Stores `unwritten` when no batch comes to do it. */
  private cursorTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: NotifierOptions) {}

  async start(): Promise<void> {
    const { store, bus } = this.options;
    // A new database starts with the events to come, not with its whole past.
    const cursor = await store.deliveryCursor(await store.lastEventId());
    // The bus waits for each batch to be recorded before it hands over the next.
    this.subscription = bus.subscribe(cursor, (events) => {
      const recorded = this.queue.then(() => this.enqueue(events));
      this.queue = recorded;
      return recorded;
    });
    this.timer = setInterval(() => void this.deliverDue(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.close();
    clearInterval(this.timer);
    clearTimeout(this.cursorTimer);
    await this.queue.catch(() => {});
    await this.delivering;
    await this.writeCursor();
  }

  /** Stores the cursor read past (in the queue's order, so never behind a batch's own write). */
  private async writeCursor(): Promise<void> {
    const through = this.unwritten;
    if (through === undefined) return;
    try {
      await this.options.store.enqueueDeliveries([], through);
      this.cursorWrittenAt = Date.now();
      if (this.unwritten === through) this.unwritten = undefined;
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'storing the webhook cursor failed');
    }
  }

  /**
   * Records the deliveries a batch of events makes, and the cursor past it. A write that fails
   * (the database away) is tried again, backing off up to 10 s, before the next batch: the
   * stream waits meanwhile, so no event is skipped.
   */
  private async enqueue(events: HoistEvent[]): Promise<void> {
    const { store, logger } = this.options;
    for (let wait = 1000; !this.stopped; wait = Math.min(wait * 2, 10_000)) {
      try {
        const deliveries = deliveriesOf(events, await store.listNotifications());
        const through = Number(events.at(-1)?.id);
        if (deliveries.length === 0 && Date.now() - this.cursorWrittenAt < IDLE_CURSOR_MS) {
          this.unwritten = through;
          this.cursorTimer ??= setTimeout(() => {
            this.cursorTimer = undefined;
            this.queue = this.queue.then(() => this.writeCursor());
          }, IDLE_CURSOR_MS).unref();
          return;
        }
        await store.enqueueDeliveries(deliveries, through);
        this.cursorWrittenAt = Date.now();
        this.unwritten = undefined;
        if (deliveries.length > 0) void this.deliverDue();
        return;
      } catch (error) {
        logger.warn(
          { error: String(error) },
          `recording webhook deliveries failed; trying again in ${wait / 1000} s`,
        );
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
      }
    }
  }

  /** Attempts what is due (one round at a time). */
  private deliverDue(): Promise<void> {
    if (this.delivering || this.stopped) return this.delivering ?? Promise.resolve();
    this.delivering = (async () => {
      const { store, owner, logger } = this.options;
      try {
        const now = Date.now();
        const due = await store.claimDeliveries(owner, now, now + 60_000, AT_ONCE);
        if (due.length === 0) return;
        const notifications = new Map((await store.listNotifications()).map((n) => [n.name, n]));
        await Promise.all(due.map((d) => this.attempt(d, notifications.get(d.notification))));
      } catch (error) {
        logger.warn({ error: String(error) }, 'delivering webhooks failed');
      }
    })().finally(() => {
      this.delivering = undefined;
    });
    return this.delivering;
  }

  private async attempt(delivery: DeliveryRow, notification: NotificationRow | undefined) {
    const { store, policy, logger } = this.options;
    const attempts = delivery.attempts + 1;
    const result: PostResult = notification
      ? await this.post(delivery, notification)
      : { error: 'the notification is no longer configured' };
    const ok = 'status' in result && result.status >= 200 && result.status < 300;
    const code = 'status' in result ? result.status : null;
    const reason = ok ? null : 'error' in result ? result.error : `HTTP ${result.status}`;
    const delay = ok || !notification ? undefined : retryDelay(policy, attempts);
    const status = ok ? 'delivered' : delay === undefined ? 'failed' : 'pending';
    const event: EventDraft = {
      type: ok ? 'notification.delivered' : 'notification.failed',
      notification: delivery.notification,
      delivery: String(delivery.id),
      outcome: status === 'pending' ? 'retrying' : status,
      ...(reason
        ? {
            message: `${reason} (attempt ${attempts}${delay ? `, next in ${delay} ms` : ', gave up'})`,
          }
        : {}),
    };
    if (!ok)
      logger.warn(
        {
          notification: delivery.notification,
          delivery: delivery.id,
          attempts,
          origin: notification?.origin,
        },
        `webhook '${delivery.notification}' delivery ${delivery.id} failed: ${reason}`,
      );
    await store.finishDelivery(
      delivery.id,
      {
        status,
        attempts,
        nextAttemptAt: delay === undefined ? null : Date.now() + delay,
        lastError: reason,
        responseCode: code,
      },
      event,
    );
  }

  private async post(delivery: DeliveryRow, notification: NotificationRow): Promise<PostResult> {
    let target: ReturnType<typeof openNotification>;
    try {
      target = openNotification(notification, this.options.box);
    } catch {
      return { error: 'its URL and secret cannot be opened with this server key' };
    }
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'x-hoist-event': delivery.eventType,
      'x-hoist-delivery': String(delivery.id),
      'x-hoist-timestamp': timestamp,
      ...(target.secret
        ? { 'x-hoist-signature': signature(target.secret, timestamp, delivery.body) }
        : {}),
    };
    return this.options.post(target.url, delivery.body, headers, notification.allowPrivate);
  }
}
