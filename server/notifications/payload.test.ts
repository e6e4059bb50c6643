import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HoistEvent } from '../events/model.ts';
import { deliveryBody, eventLine, signature } from './payload.ts';

const event: HoistEvent = {
  id: '12',
  type: 'stage.awaiting',
  at: '2026-01-01T12:03:04.000Z',
  pipeline: 'build',
  counter: 3,
  stage: 'deploy',
  label: 'app-1.0-1.noarch',
};

describe('notifications/payload', () => {
  it('escapes what Slack would read as a mention or a link', () => {
    const body = JSON.parse(
      deliveryBody(
        { ...event, type: 'stage.failed', stage: '<!channel> & <http://evil|ok>' },
        'slack',
      ),
    ) as { text: string };
    expect(body.text).not.toMatch(/[<>]/);
    expect(body.text).toContain('&lt;!channel&gt; &amp; &lt;http://evil|ok&gt;');
  });

  it('says an event in one line', () => {
    expect(eventLine(event)).toBe('build #3  stage deploy awaiting approval');
    expect(
      eventLine({
        ...event,
        type: 'job.finished',
        job: 'test',
        stage: 'verify',
        outcome: 'failed',
        exitCode: 2,
      }),
    ).toBe('build #3  job verify/test failed (exit 2)');
    expect(
      eventLine({
        id: '1',
        type: 'material.checked',
        at: '',
        material: { repository: 'internal', package: 'app' },
        outcome: 'error',
        message: 'HTTP 500',
      }),
    ).toBe('internal/app  checked: error: HTTP 500');
  });

  it('posts the event as JSON, or as Slack text', () => {
    expect(JSON.parse(deliveryBody(event, 'json'))).toEqual(event);
    expect(JSON.parse(deliveryBody(event, 'slack'))).toEqual({
      text: 'Hoist: build #3  stage deploy awaiting approval',
    });
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256', () => {
    const expected = createHmac('sha256', 'k'.repeat(16))
      .update('1700000000.{"a":1}')
      .digest('hex');
    expect(signature('k'.repeat(16), '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });
});
