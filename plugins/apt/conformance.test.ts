import { pathToFileURL } from 'node:url';
import { assertPluginConformance } from 'hoist/testing';
import { describe, expect, it } from 'vitest';
import { testRuntime } from '../../test/helpers/host.ts';
import { aptPlugin } from './index.ts';

const fixture = (name: string) =>
  pathToFileURL(new URL(`./__fixtures__/${name}`, import.meta.url).pathname).href;

describe('plugins/apt conformance', () => {
  it('passes the conformance kit', async () => {
    const report = await assertPluginConformance({
      plugin: aptPlugin,
      valid: [
        {
          repository: { REPO_URL: fixture('archive'), DISTRIBUTION: 'stable' },
          package: { PACKAGE: 'hello' },
        },
        {
          repository: { REPO_URL: fixture('archive'), DISTRIBUTION: 'stable', ARCH: 'amd64,all' },
          package: { PACKAGE: 'base-*' },
        },
        {
          repository: { REPO_URL: fixture('flat'), DISTRIBUTION: './' },
          package: { PACKAGE: 'tool', VERSION_CONSTRAINT: '>= 1:0' },
        },
      ],
      invalid: [
        {
          repository: { REPO_URL: 'ftp://x', DISTRIBUTION: 'stable' },
          package: { PACKAGE: 'a' },
          keys: ['REPO_URL'],
        },
        {
          repository: { REPO_URL: 'https://x', USERNAME: 'u' },
          package: { PACKAGE: 'A b' },
          keys: ['DISTRIBUTION', 'PASSWORD', 'PACKAGE'],
        },
        {
          repository: { REPO_URL: 'https://x', DISTRIBUTION: 'stable' },
          package: { PACKAGE: 'a', VERSION_CONSTRAINT: '< 2' },
          keys: ['VERSION_CONSTRAINT'],
        },
      ],
    });
    expect(report.checks).toBeGreaterThan(40);
  });

  it('answers the newest by dpkg order from the fixtures', async () => {
    const runtime = testRuntime();
    try {
      const archive = { REPO_URL: fixture('archive'), DISTRIBUTION: 'stable' };
      const hello = await runtime.host.latestRevision('apt', archive, { PACKAGE: 'hello' });
      expect(hello?.revision).toBe('hello_2.10-3_amd64');
      expect(hello?.timestamp).toBe('2024-11-09T10:00:00.000Z');
      expect(hello?.data.LOCATION).toBe(
        `${fixture('archive')}/pool/main/h/hello/hello_2.10-3_amd64.deb`,
      );
      const flat = { REPO_URL: fixture('flat'), DISTRIBUTION: './' };
      const tool = await runtime.host.latestRevision('apt', flat, { PACKAGE: 'tool' });
      expect(tool?.revision).toBe('tool_1:1.0_all');
      expect(tool?.data.LOCATION).toBe(`${fixture('flat')}/tool_1.0_all.deb`);
      expect(tool?.timestamp).toBe(new Date(0).toISOString());
    } finally {
      await runtime.close();
    }
  });
});
