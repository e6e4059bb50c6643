import { describe, expect, it } from 'vitest';
import { sseReader } from '../../cli/sse.ts';
import { parseEventId, sseMessage } from './sse.ts';

describe('events/sse', () => {
  it('writes one message per event, read back whole however it is cut', () => {
    const event = {
      id: '7',
      type: 'stage.awaiting' as const,
      at: '2026-01-01T00:00:00.000Z',
      pipeline: 'build',
      stage: 'line\nbreak',
    };
    const text = `: keep-alive\n\n${sseMessage(event)}${sseMessage({ ...event, id: '8' })}`;
    expect(sseMessage(event).split('\n').slice(0, 2)).toEqual(['id: 7', 'event: stage.awaiting']);
    for (const cut of [1, 5, 20, text.length - 1]) {
      const read = sseReader();
      const messages = [...read(text.slice(0, cut)), ...read(text.slice(cut))];
      expect(messages.map((m) => [m.id, m.event, JSON.parse(m.data).stage])).toEqual([
        ['7', 'stage.awaiting', 'line\nbreak'],
        ['8', 'stage.awaiting', 'line\nbreak'],
      ]);
    }
  });

  it('reads event ids to resume after', () => {
    expect(parseEventId('42')).toBe(42);
    expect(parseEventId(' 0 ')).toBe(0);
    expect(parseEventId('x1')).toBeUndefined();
    expect(parseEventId('-1')).toBeUndefined();
    expect(parseEventId(undefined)).toBeUndefined();
  });
});
