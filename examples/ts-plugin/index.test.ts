import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertPluginConformance } from 'hoist/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonIndexPlugin } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'json-index-'));
const index = join(dir, 'index.json');
writeFileSync(
  index,
  JSON.stringify({
    packages: {
      app: [
        {
          version: '1.0',
          location: 'https://example.com/app-1.0.tgz',
          built: '2026-01-01T00:00:00.000Z',
        },
        {
          version: '1.1',
          location: 'https://example.com/app-1.1.tgz',
          built: '2026-01-02T00:00:00.000Z',
        },
      ],
    },
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/ts-plugin', () => {
  it('passes the conformance kit', async () => {
    const report = await assertPluginConformance({
      plugin: jsonIndexPlugin,
      valid: [{ repository: { INDEX_URL: pathToFileURL(index).href }, package: { NAME: 'app' } }],
      invalid: [
        { repository: { INDEX_URL: 'ftp://x' }, package: { NAME: 'app' }, keys: ['INDEX_URL'] },
      ],
    });
    expect(report.violations).toEqual([]);
  });
});
