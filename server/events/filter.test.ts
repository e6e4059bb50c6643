import { describe, expect, it } from 'vitest';
import { matches, parsePatterns, roleSees, typeMatches, unknownPatterns } from './filter.ts';
import type { HoistEvent } from './model.ts';

const event = (type: HoistEvent['type'], pipeline?: string): HoistEvent => ({
  id: '1',
  type,
  at: '2026-01-01T00:00:00.000Z',
  ...(pipeline ? { pipeline } : {}),
});

describe('events/filter', () => {
  it('matches types, prefix globs and *', () => {
    expect(typeMatches('stage.*', 'stage.failed')).toBe(true);
    expect(typeMatches('stage.*', 'stages.failed')).toBe(false);
    expect(typeMatches('stage.failed', 'stage.failed')).toBe(true);
    expect(typeMatches('*', 'run.created')).toBe(true);
    expect(typeMatches('run', 'run.created')).toBe(false);
    expect(unknownPatterns(['stage.*', 'stage.nothing', 'nope.*', '*'])).toEqual([
      'stage.nothing',
      'nope.*',
    ]);
  });

  it('keeps notification events from viewers', () => {
    expect(roleSees('viewer', 'notification.failed')).toBe(false);
    expect(roleSees('operator', 'notification.failed')).toBe(true);
    expect(roleSees('viewer', 'stage.awaiting')).toBe(true);
  });

  it('filters by role, pipeline and types', () => {
    expect(matches({ role: 'admin' }, event('notification.delivered'))).toBe(true);
    expect(matches({ role: 'viewer' }, event('notification.delivered'))).toBe(false);
    expect(matches({ role: 'viewer', pipeline: 'a' }, event('run.created', 'b'))).toBe(false);
    expect(matches({ role: 'viewer', pipeline: 'a' }, event('run.created', 'a'))).toBe(true);
    expect(matches({ role: 'viewer', types: ['stage.*'] }, event('run.created'))).toBe(false);
    expect(parsePatterns(' stage.*, run.created ')).toEqual(['stage.*', 'run.created']);
    expect(parsePatterns('')).toBeUndefined();
  });
});
