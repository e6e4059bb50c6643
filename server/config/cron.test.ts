import { describe, expect, it } from 'vitest';
import { cronProblem, knownTimeZone, nextFiring } from './cron.ts';

describe('server/config/cron', () => {
  it('takes 5 fields, or 6 with seconds first, and says what is wrong otherwise', () => {
    expect(cronProblem('0 2 * * *')).toBeUndefined();
    expect(cronProblem('*/5 * * * * *')).toBeUndefined();
    expect(cronProblem('0 0 2 * * * 2030')).toMatch(/5 fields .* or 6 with seconds first, not 7/);
    expect(cronProblem('61 * * * *')).toBeDefined();
    expect(cronProblem('0 0 30 2 *')).toBe('never fires');
  });

  it('knows IANA time zones', () => {
    expect(knownTimeZone('Europe/Berlin')).toBe(true);
    expect(knownTimeZone('UTC')).toBe(true);
    expect(knownTimeZone('Mars/Olympus')).toBe(false);
  });

  it('answers the next firing after a given time, in the timer’s time zone', () => {
    const nightly = { cron: '0 2 * * *', timezone: 'Europe/Berlin' };
    // Summer: Berlin is UTC+2, so 02:00 there is 00:00 UTC.
    expect(nextFiring(nightly, new Date('2026-06-01T12:00:00Z'))?.toISOString()).toBe(
      '2026-06-02T00:00:00.000Z',
    );
    // Winter: UTC+1.
    expect(nextFiring(nightly, new Date('2026-12-01T12:00:00Z'))?.toISOString()).toBe(
      '2026-12-02T01:00:00.000Z',
    );
    expect(
      nextFiring(
        { cron: '0 2 * * *', timezone: 'UTC' },
        new Date('2026-12-01T01:59:59Z'),
      )?.toISOString(),
    ).toBe('2026-12-01T02:00:00.000Z');
  });

  it('fires strictly after the time it is given, every 5 s with a seconds field', () => {
    const every5 = { cron: '*/5 * * * * *', timezone: 'UTC' };
    expect(nextFiring(every5, new Date('2026-12-01T10:00:05.000Z'))?.toISOString()).toBe(
      '2026-12-01T10:00:10.000Z',
    );
    expect(nextFiring(every5, new Date('2026-12-01T10:00:06.123Z'))?.toISOString()).toBe(
      '2026-12-01T10:00:10.000Z',
    );
  });

  it('fires a time a DST change skips at the end of the gap, and a repeated time once', () => {
    const timer = { cron: '30 2 * * *', timezone: 'Europe/Berlin' };
    // 2026-03-29: Berlin goes from 02:00 to 03:00; 02:30 fires at 03:00 CEST (01:00 UTC).
    const spring = nextFiring(timer, new Date('2026-03-28T12:00:00Z'));
    expect(spring?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(nextFiring(timer, spring as Date)?.toISOString()).toBe('2026-03-30T00:30:00.000Z');
    // 2026-10-25: 02:30 happens twice (CEST, then CET); it fires once, at the first.
    const autumn = nextFiring(timer, new Date('2026-10-24T12:00:00Z'));
    expect(autumn?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(nextFiring(timer, autumn as Date)?.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });
});
