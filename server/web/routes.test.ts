import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, servedVendorFile } from './routes.ts';

describe('servedVendorFile', () => {
  it("serves lit-html's browser modules and nothing else of the package", () => {
    expect(servedVendorFile('/lit-html.js')).toBe(true);
    expect(servedVendorFile('/directives/repeat.js')).toBe(true);
    expect(servedVendorFile('/directives/live.js')).toBe(true);
    for (const path of [
      '/package.json',
      '/README.md',
      '/lit-html.js.map',
      '/node/lit-html.js',
      '/development/lit-html.js',
      '/directives/unsafe-html.js',
      '/../hoist/package.json',
      '/%2e%2e/x.js',
    ])
      expect(servedVendorFile(path), path).toBe(false);
  });
});

describe('contentSecurityPolicy', () => {
  it('allows the inline import map by its hash, and no other inline script', () => {
    const map = '{"imports":{"lit-html":"/vendor/lit-html/lit-html.js"}}';
    const policy = contentSecurityPolicy(`<head><script type="importmap">${map}</script></head>`);
    const hash = createHash('sha256').update(map).digest('base64');
    expect(policy).toContain(`script-src 'self' 'sha256-${hash}';`);
    expect(policy).not.toContain('unsafe-inline');
    expect(contentSecurityPolicy('<head></head>')).toContain("script-src 'self';");
  });
});
