import { describe, expect, it } from 'vitest';
import { samplePlugin, sampleRevision } from '../../test/helpers/sample-plugin.ts';
import {
  escapeEnvName,
  findEnvCollisions,
  findMaterialNameCollisions,
  materialEnvironment,
  materialEnvName,
} from './environment.ts';

describe('core/plugin/environment', () => {
  it('escapes as GoCD does: upper case, anything outside [A-Za-z0-9_] becomes _', () => {
    expect(escapeEnvName('my-repo.el9/app+x')).toBe('MY_REPO_EL9_APP_X');
    expect(escapeEnvName('ünï')).toBe('_N_');
    expect(materialEnvName('internal', 'app')).toBe('INTERNAL_APP');
  });

  it('builds label, package, data and repository variables, flagging secure ones', () => {
    const plugin = samplePlugin();
    const env = materialEnvironment({
      repository: 'internal',
      package: 'my-app',
      repositoryProperties: plugin.repositoryProperties,
      packageProperties: plugin.packageProperties,
      repositoryConfig: { URL: 'https://r', TOKEN: 'tok' },
      packageConfig: { NAME: 'app', CHANNEL: 'stable' },
      revision: sampleRevision(3),
    });
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.HOIST_PACKAGE_INTERNAL_MY_APP_LABEL?.value).toBe('app-3');
    expect(byName.HOIST_PACKAGE_INTERNAL_MY_APP_NAME?.value).toBe('app');
    expect(byName.HOIST_PACKAGE_INTERNAL_MY_APP_VERSION?.value).toBe('3');
    expect(byName.HOIST_REPO_INTERNAL_MY_APP_URL?.value).toBe('https://r');
    expect(byName.HOIST_REPO_INTERNAL_MY_APP_TOKEN).toMatchObject({ value: 'tok', secure: true });
    expect(findEnvCollisions(env)).toEqual([]);
  });

  it('detects materials whose names collide', () => {
    expect(
      findMaterialNameCollisions([
        { repository: 'my-repo', package: 'app' },
        { repository: 'my_repo', package: 'app' },
        { repository: 'other', package: 'app' },
        { repository: 'my.repo', package: 'app' },
      ]),
    ).toEqual([
      {
        name: 'HOIST_PACKAGE_MY_REPO_APP_*',
        sources: ['my-repo/app', 'my_repo/app', 'my.repo/app'],
      },
    ]);
  });

  it('detects a data key that collides with a package property', () => {
    const plugin = samplePlugin();
    const env = materialEnvironment({
      repository: 'r',
      package: 'p',
      repositoryProperties: plugin.repositoryProperties,
      packageProperties: plugin.packageProperties,
      repositoryConfig: { URL: 'u' },
      packageConfig: { NAME: 'app' },
      revision: { revision: 'x', data: { NAME: 'other', name: 'lower' } },
    });
    expect(findEnvCollisions(env)).toEqual([
      {
        name: 'HOIST_PACKAGE_R_P_NAME',
        sources: ['r/p package property NAME', 'r/p revision data NAME', 'r/p revision data name'],
      },
    ]);
  });
});
