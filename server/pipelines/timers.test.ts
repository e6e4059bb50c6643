import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelineRow } from '../store/store.ts';
import type { TimerOutcome } from './scheduler.ts';
import { Timers } from './timers.ts';

const row = (
  name: string,
  timer?: { cron: string; timezone: string; onlyOnChanges: boolean },
  paused = false,
): PipelineRow => ({
  name,
  definition: {
    name,
    materials: [{ package: 'r/p', trigger: 'latest' }],
    stages: [{ name: 's', approval: 'auto', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    ...(timer ? { timer } : {}),
  },
  source: 'config',
  paused,
  updatedAt: '2026-01-01T00:00:00.000Z',
  schedulingError: null,
});

describe('server/pipelines/timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-01T10:00:01.500Z'));
  });
  afterEach(() => vi.useRealTimers());

  function setup(
    rows: PipelineRow[],
    outcome: TimerOutcome = { outcome: 'scheduled', counter: 1 },
  ) {
    const fired: { name: string; at: string }[] = [];
    const timers = new Timers({
      pipelines: async () => rows,
      fire: async (name, at) => {
        fired.push({ name, at });
        return outcome;
      },
      logger: pino({ level: 'silent' }),
    });
    return { timers, fired };
  }

  it('fires each firing once, keyed by its scheduled time, and shows the next one', async () => {
    const { timers, fired } = setup([
      row('every5', { cron: '*/5 * * * * *', timezone: 'UTC', onlyOnChanges: false }),
      row('plain'),
    ]);
    await timers.start();
    expect(timers.view('every5').nextTimer).toBe('2026-12-01T10:00:05.000Z');
    expect(timers.view('plain')).toEqual({});
    await vi.advanceTimersByTimeAsync(12_000);
    expect(fired).toEqual([
      { name: 'every5', at: '2026-12-01T10:00:05.000Z' },
      { name: 'every5', at: '2026-12-01T10:00:10.000Z' },
    ]);
    expect(timers.view('every5')).toEqual({
      nextTimer: '2026-12-01T10:00:15.000Z',
      lastTimer: { at: '2026-12-01T10:00:10.000Z', outcome: 'scheduled', counter: 1 },
    });
    timers.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fired).toHaveLength(2);
  });

  it('re-arms when a timer changes or goes, and records a skipped firing', async () => {
    const rows = [row('p', { cron: '0 * * * *', timezone: 'UTC', onlyOnChanges: true })];
    const { timers, fired } = setup(rows, { outcome: 'skipped: nothing new since run 3' });
    await timers.start();
    expect(timers.view('p').nextTimer).toBe('2026-12-01T11:00:00.000Z');
    rows[0] = row('p', { cron: '*/2 * * * * *', timezone: 'UTC', onlyOnChanges: true });
    await timers.refresh();
    expect(timers.view('p').nextTimer).toBe('2026-12-01T10:00:02.000Z');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fired).toHaveLength(1);
    expect(timers.view('p').lastTimer?.outcome).toBe('skipped: nothing new since run 3');
    rows.pop();
    await timers.refresh();
    expect(timers.view('p').nextTimer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toHaveLength(1);
    timers.stop();
  });
});
