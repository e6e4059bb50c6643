import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, retryDelay, retryPolicy } from './retry.ts';

describe('notifications/retry', () => {
  it('doubles the wait after each failure, capped, and gives up after the last attempt', () => {
    const delays = [1, 2, 3, 4, 5].map((n) => retryDelay(DEFAULT_RETRY, n));
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, undefined]);
    const capped = { attempts: 10, baseMs: 100_000, capMs: 300_000 };
    expect(retryDelay(capped, 4)).toBe(300_000);
  });

  it('reads small values for tests from the environment', () => {
    expect(retryPolicy({ HOIST_WEBHOOK_ATTEMPTS: '3', HOIST_WEBHOOK_BACKOFF_MS: '200' })).toEqual({
      attempts: 3,
      baseMs: 200,
      capMs: 600_000,
    });
    expect(retryPolicy({ HOIST_WEBHOOK_ATTEMPTS: 'x', HOIST_WEBHOOK_BACKOFF_MS: '-1' })).toEqual(
      DEFAULT_RETRY,
    );
  });
});
