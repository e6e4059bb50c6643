import { assertPluginConformance } from 'hoist/testing';
import { describe, expect, it } from 'vitest';
import { fixtureUrl } from '../../test/helpers/fixtures.ts';
import { samplePlugin } from '../../test/helpers/sample-plugin.ts';
import { yumPlugin } from './index.ts';

describe('plugins/yum conformance', () => {
  it('passes the conformance kit', async () => {
    const report = await assertPluginConformance({
      plugin: yumPlugin,
      valid: [
        {
          repository: { REPO_URL: fixtureUrl('librepo/repo_yum_03') },
          package: { PACKAGE_SPEC: 'lizardfs-master' },
        },
        {
          repository: { REPO_URL: fixtureUrl('osbuild/custom') },
          package: { PACKAGE_SPEC: '*', ARCH: 'noarch' },
        },
      ],
      invalid: [
        { repository: { REPO_URL: 'ftp://x' }, package: { PACKAGE_SPEC: 'a' }, keys: ['REPO_URL'] },
        {
          repository: { REPO_URL: 'https://x', USERNAME: 'u' },
          package: { PACKAGE_SPEC: 'a b' },
          keys: ['PASSWORD', 'PACKAGE_SPEC'],
        },
        {
          repository: { REPO_URL: 'https://x' },
          package: { PACKAGE_SPEC: 'a', VERSION_CONSTRAINT: '~> 2' },
          keys: ['VERSION_CONSTRAINT'],
        },
      ],
    });
    expect(report.checks).toBeGreaterThan(40);
  });

  it('reports violations of a plugin that breaks the contract', async () => {
    const broken = samplePlugin({
      repositoryProperties: [
        { key: 'URL', displayOrder: 0 },
        { key: 'VERSIONS', displayOrder: 0, required: false },
      ],
      latestRevisionsSince: async (repo) => [
        { revision: 'app-1', timestamp: new Date(0).toISOString(), data: {} },
        { revision: 'app-1', timestamp: new Date(0).toISOString(), data: {} },
        ...(repo.VERSIONS ? [] : []),
      ],
    });
    await expect(
      assertPluginConformance({
        plugin: broken,
        valid: [{ repository: { URL: 'https://r', VERSIONS: '1,2' }, package: { NAME: 'app' } }],
      }),
    ).rejects.toThrow(
      /share display orders[\s\S]*latestRevisionsSince\(latest\) is not empty[\s\S]*repeats a revision/,
    );
  });
});
