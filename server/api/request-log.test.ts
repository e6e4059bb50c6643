import { describe, expect, it } from 'vitest';
import { requestLevel } from './request-log.ts';

describe('server/api/request-log', () => {
  it('logs health, scrapes and static files at debug, server failures at warn, the rest at info', () => {
    for (const route of [
      '/api/health',
      '/metrics',
      '/',
      '/ui/*',
      '/vendor/lit-html/*',
      '/docs/static/*',
    ])
      expect(requestLevel(route, 200), route).toBe('debug');
    expect(requestLevel('/api/pipelines/:name/runs', 200)).toBe('info');
    expect(requestLevel('/api/pipelines/:name', 404)).toBe('info');
    expect(requestLevel('unmatched', 404)).toBe('info');
    expect(requestLevel('/api/health', 503)).toBe('warn');
    expect(requestLevel('/api/config/apply', 507)).toBe('warn');
  });
});
