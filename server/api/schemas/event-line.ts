import type { HoistEvent } from './events.ts';

/** How an event reads as one line (pure): `hoist watch` and Slack bodies say events this way. */

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
