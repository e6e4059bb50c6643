import { createHmac } from 'node:crypto';
import type { HoistEvent } from '../events/model.ts';

/** What a webhook posts (pure): the event as JSON, or Slack's `{text}`; and its signature. */

/** One readable line for an event, e.g. `build #3  stage deploy awaiting approval`. */
export function eventLine(event: HoistEvent): string {
  const run = event.pipeline ? `${event.pipeline}${event.counter ? ` #${event.counter}` : ''}` : '';
  const material = event.material ? `${event.material.repository}/${event.material.package}` : '';
  const stage = event.stage ? `stage ${event.stage}` : '';
  const job = event.job ? `job ${event.stage}/${event.job}` : '';
  const what: Record<HoistEvent['type'], string> = {
    'material.checked': `checked: ${event.outcome ?? ''}${event.label ? ` (${event.label})` : ''}`,
    'material.revision': `new revision ${event.label ?? ''}`,
    'run.created': `run created${event.label ? ` with ${event.label}` : ''} (${event.trigger ?? ''}${event.actor ? ` by ${event.actor}` : ''})`,
    'run.finished': `run ${event.outcome ?? 'finished'}`,
    'stage.started': `${stage} started`,
    'stage.awaiting': `${stage} awaiting approval`,
    'stage.passed': `${stage} passed`,
    'stage.failed': `${stage} failed`,
    'stage.cancelled': `${stage} cancelled`,
    'job.started': `${job} started`,
    'job.finished': `${job} ${event.outcome ?? 'finished'}${event.exitCode === undefined ? '' : ` (exit ${event.exitCode})`}`,
    'approval.given': `${stage} approved by ${event.actor ?? '?'}`,
    'agent.changed': `agent ${event.agent ?? ''} ${event.outcome ?? 'changed'}`,
    'notification.delivered': `webhook ${event.notification ?? ''} delivered`,
    'notification.failed': `webhook ${event.notification ?? ''} failed`,
  };
  const subject = run || material;
  const text = what[event.type];
  const message = event.message && event.type !== 'job.finished' ? `: ${event.message}` : '';
  return `${subject ? `${subject}  ` : ''}${text}${message}`.trim();
}

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
