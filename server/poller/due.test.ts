import { describe, expect, it } from 'vitest';
import type { PolledPackage } from '../catalog/catalog.ts';
import { type Entry, localDue } from './due.ts';

const pkg = (pollIntervalMs: number | null): PolledPackage => ({
  repository: 'internal',
  name: 'app',
  plugin: 'yum',
  repositoryConfig: {},
  packageConfig: {},
  fingerprint: 'fp',
  pollIntervalMs,
});
const entry = (over: Partial<Entry> = {}): Entry => ({
  pkg: pkg(60_000),
  dueAt: 0,
  trigger: 'schedule',
  running: false,
  again: false,
  claimed: false,
  ...over,
});

describe('server/poller/due: a lone server', () => {
  it('checks new materials now or after their interval, on-demand ones never by itself', () => {
    const due = localDue();
    expect(due.firstDue(pkg(60_000), 1000, true)).toBe(1000);
    expect(due.firstDue(pkg(60_000), 1000, false)).toBe(61_000);
    expect(due.firstDue(pkg(null), 1000, true)).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps a check-now that arrives during a check for right after it', async () => {
    const due = localDue();
    const running = entry({ running: true });
    await due.checkNow(running);
    expect(running).toMatchObject({ again: true, trigger: 'manual' });
    const before = Date.now();
    due.checkEnded(running, before + 60_000);
    expect(running.again).toBe(false);
    expect(running.trigger).toBe('manual');
    expect(running.dueAt).toBeLessThanOrEqual(Date.now());
    // Without one, the decision's next time stands; an abandoned check changes nothing.
    const idle = entry({ dueAt: 5 });
    due.checkEnded(idle, 123_456);
    expect(idle.dueAt).toBe(123_456);
    due.checkEnded(idle, undefined);
    expect(idle.dueAt).toBe(123_456);
    due.checkEnded(idle, null);
    expect(idle.dueAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('marks every polled material due at start-up, as a start check', async () => {
    const due = localDue();
    const polled = entry({ dueAt: 99_999_999 });
    const onDemand = entry({ pkg: pkg(null), dueAt: Number.POSITIVE_INFINITY });
    const entries = new Map([
      ['a', polled],
      ['b', onDemand],
    ]);
    await due.start({
      entries,
      running: 0,
      concurrency: 1,
      refresh: async () => {},
      wake: () => {},
      queue: () => {},
      isStopped: () => true,
    });
    expect(polled.trigger).toBe('start');
    expect(polled.dueAt).toBeLessThanOrEqual(Date.now());
    expect(onDemand.dueAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('tells how long each due material has waited, leaving out those being checked', async () => {
    const due = localDue();
    const entries = new Map([
      ['waits', entry({ dueAt: 1000 })],
      ['checking', entry({ dueAt: 500, running: true })],
      ['later', entry({ dueAt: 9000 })],
      ['never', entry({ pkg: pkg(null), dueAt: Number.POSITIVE_INFINITY })],
    ]);
    const core = {
      entries,
      running: 1,
      concurrency: 1,
      refresh: async () => {},
      wake: () => {},
      queue: () => {},
      isStopped: () => true,
    };
    await due.start(core);
    // The start-up marks them all due now: set the times after it.
    const times = { waits: 1000, checking: 500, later: 9000 } as const;
    for (const [key, at] of Object.entries(times)) (entries.get(key) as Entry).dueAt = at;
    expect(await due.waits(4000)).toEqual([3000]);
  });
});
