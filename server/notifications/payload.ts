import { createHmac } from 'node:crypto';
import { eventLine } from '../api/schemas/event-line.ts';
import type { HoistEvent } from '../events/model.ts';

export { eventLine };

/** What a webhook posts (pure): the event as JSON, or Slack's `{text}`; and its signature. */

/** The body posted for an event: the event's JSON, or `{"text": "…"}` for Slack. */
export function deliveryBody(event: HoistEvent, format: 'json' | 'slack'): string {
  return format === 'slack'
    ? JSON.stringify({ text: slackText(`Hoist: ${eventLine(event)}`) })
    : JSON.stringify(event);
}

/**
 * Text as Slack reads it: `&`, `<` and `>` escaped, as its message formatting asks, so that a
 * label, a host name or an error from elsewhere cannot make a mention (`<!channel>`) or a link.
 */
export function slackText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the `X-Hoist-Signature` header. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
