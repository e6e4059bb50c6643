import { createHmac } from 'node:crypto';
import { eventLine } from '../api/schemas/event-line.ts';
import type { HoistEvent } from '../events/model.ts';

export { eventLine };

/** What a webhook posts (pure): the event as JSON, or Slack's `{text}`; and its signature. */

/** The body posted for an event: the event's JSON, or `{"text": "…"}` for Slack. */
export function deliveryBody(event: HoistEvent, format: 'json' | 'slack'): string {
  return format === 'slack'
    ? JSON.stringify({ text: `Hoist: ${eventLine(event)}` })
    : JSON.stringify(event);
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the `X-Hoist-Signature` header. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
