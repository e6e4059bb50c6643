/**
 * Hoist's events: what changed, as one typed stream. Recorded in the store in the transaction
 * of the change itself (see `derive.ts`), so that a crash neither loses nor invents one, and read
 * back in id order by every subscriber (SSE clients, `hoist watch`, webhooks).
 */

import type { EventType, HoistEvent } from '../api/schemas/events.ts';

export { EVENT_TYPES } from '../api/schemas/events.ts';
export type { EventType, HoistEvent };

/** Types only operators and admins see (they name webhook receivers and their answers). */
export const PRIVILEGED_TYPES: ReadonlySet<EventType> = new Set([
  'notification.delivered',
  'notification.failed',
]);

/** A package material, as events name it. */
export interface EventMaterial {
  repository: string;
  package: string;
}

/** An event before it is stored: the store gives it its id and time. */
export type EventDraft = Omit<HoistEvent, 'id' | 'at'>;
