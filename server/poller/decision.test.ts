import { HoistError, RepositoryUnreachableError } from 'hoist';
import { describe, expect, it } from 'vitest';
import { decide } from './decision.ts';

const NOW = 1_000_000;
const half = () => 0.5;
const base = {
  failure: undefined,
  revisions: [],
  latest: undefined,
  intervalMs: 60_000,
  failures: 0,
};

describe('server/poller/decision', () => {
  it('stores new revisions and comes back after the interval', () => {
    const d = decide(
      { ...base, revisions: [{ revision: 'app-1.1' }, { revision: 'app-1.2' }], failures: 3 },
      NOW,
      half,
    );
    expect(d).toEqual({
      outcome: 'new',
      nextAt: NOW + 60_000,
      failures: 0,
      decision: 'stored 2 new revisions: app-1.1, app-1.2',
    });
  });

  it('says what is unchanged, or that nothing matches yet', () => {
    expect(decide({ ...base, latest: { revision: 'app-1.0' } }, NOW, half).decision).toBe(
      'nothing newer than app-1.0',
    );
    expect(decide(base, NOW, half)).toMatchObject({
      outcome: 'nothing',
      decision: 'no package matches yet',
    });
  });

  it('keeps a jitter of ±10 % on the interval', () => {
    expect(decide(base, NOW, () => 0).nextAt).toBe(NOW + 54_000);
    expect(decide(base, NOW, () => 1).nextAt).toBe(NOW + 66_000);
  });

  it('backs off exponentially on failure and says so', () => {
    const failure = new HoistError('ERR_REPOSITORY_METADATA', 'bad XML');
    const first = decide({ ...base, failure }, NOW, half);
    expect(first).toEqual({
      outcome: 'error',
      nextAt: NOW + 120_000,
      failures: 1,
      decision: 'failed (ERR_REPOSITORY_METADATA); retrying in 2m',
    });
    const third = decide({ ...base, failure, failures: 2 }, NOW, half);
    expect(third.nextAt).toBe(NOW + 480_000);
    expect(third.decision).toBe(
      'failed (ERR_REPOSITORY_METADATA); retrying in 8m after 3 failures in a row',
    );
  });

  it('waits at least as long as the repository asked, and never polls an on-demand material', () => {
    const failure = new RepositoryUnreachableError('503', {
      reason: 'status',
      status: 503,
      retryAfterMs: 600_000,
    });
    const asked = decide({ ...base, failure }, NOW, half);
    expect(asked.nextAt).toBe(NOW + 600_000);
    expect(asked.decision).toBe(
      'failed (ERR_REPOSITORY_UNREACHABLE); retrying in 10m (as the repository asked)',
    );
    const onDemand = decide({ ...base, failure, intervalMs: null }, NOW, half);
    expect(onDemand.nextAt).toBeNull();
    expect(onDemand.decision).toContain('not polled: check again on demand');
    expect(decide({ ...base, intervalMs: null }, NOW, half).nextAt).toBeNull();
  });
});
