import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertPluginConformance, loadExecPlugin } from 'hoist/testing';
import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'static-index-'));
const index = join(dir, 'index.json');
writeFileSync(
  index,
  JSON.stringify({
    packages: {
      app: [
        {
          version: '1.2',
          location: 'https://example.com/app-1.2.tgz',
          built: '2026-01-02T03:04:05.000Z',
          by: 'ci',
        },
        {
          version: '1.10',
          location: 'https://example.com/app-1.10.tgz',
          built: '2026-02-02T03:04:05.000Z',
          by: 'ci',
        },
      ],
    },
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/python-exec-plugin', () => {
  it('passes the conformance kit', async () => {
    const plugin = await loadExecPlugin({
      id: 'static-index',
      version: '1.0.0',
      executable: join(here, 'plugin.py'),
      cwd: here,
    });
    const report = await assertPluginConformance({
      plugin,
      valid: [{ repository: { INDEX_FILE: index }, package: { NAME: 'app' } }],
      invalid: [
        {
          repository: { INDEX_FILE: 'relative.json' },
          package: { NAME: 'app' },
          keys: ['INDEX_FILE'],
        },
      ],
    });
    expect(report.checks).toBeGreaterThan(20);
  });
});
