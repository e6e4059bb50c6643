// The dashboard's pure rules (its ES modules under assets/), run in Node.
import { describe, expect, it } from 'vitest';
import { safeHref } from './assets/links.js';
import { sseParser } from './assets/sse.js';
import { duration, relative } from './assets/time.js';

describe('safeHref', () => {
  it('links http and https URLs only', () => {
    expect(safeHref('https://example.org/app')).toBe('https://example.org/app');
    expect(safeHref('http://example.org')).toBe('http://example.org/');
    for (const text of [
      'javascript:alert(1)',
      ' javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'file:///etc/passwd',
      '//evil.example/x',
      '/relative',
      'not a url',
      '',
      undefined,
    ])
      expect(safeHref(text), String(text)).toBeNull();
  });
});

describe('duration and relative', () => {
  it('says a length of time in its two largest units', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(12_400)).toBe('12 s');
    expect(duration(185_000)).toBe('3 min 5 s');
    expect(duration(180_000)).toBe('3 min');
    expect(duration(7_800_000)).toBe('2 h 10 min');
    expect(duration(-1)).toBe('—');
  });

  it('says how long ago, or how soon', () => {
    const now = Date.parse('2026-01-01T12:00:00.000Z');
    expect(relative('2026-01-01T11:59:58.000Z', now)).toBe('just now');
    expect(relative('2026-01-01T11:57:00.000Z', now)).toBe('3 min ago');
    expect(relative('2026-01-01T14:30:00.000Z', now)).toBe('in 2 h');
    expect(relative('2025-12-29T12:00:00.000Z', now)).toBe('3 d ago');
    expect(relative('garbage', now)).toBe('garbage');
  });
});

describe('sseParser', () => {
  it('reads messages split anywhere, skipping comments', () => {
    const got: unknown[] = [];
    const feed = sseParser((m) => got.push(m));
    feed('retry: 2000\n: keep-alive\n\nid: 7\nevent: run.cr');
    feed('eated\ndata: {"id":"7"}\n');
    expect(got).toEqual([]);
    feed('\nid: 8\r\nevent: stage.passed\r\ndata: {"a":1}\r\n\r\n');
    expect(got).toEqual([
      { id: '7', event: 'run.created', data: '{"id":"7"}' },
      { id: '8', event: 'stage.passed', data: '{"a":1}' },
    ]);
  });
});
