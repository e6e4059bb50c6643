import { materialFingerprint } from 'hoist';
import { describe, expect, it } from 'vitest';
import { samplePlugin } from '../../test/helpers/sample-plugin.ts';
import { HoistConfig } from '../config/schema.ts';
import type { PackageRow } from '../store/store.ts';
import { type PlanInput, planConfiguration } from './plan.ts';
import { sealSecureVariables } from './secure-variables.ts';

const plugin = samplePlugin();
/** Seals by prefixing, so that the test sees which values were sealed. */
const sealed: PlanInput['sealed'] = {
  split(properties, values, previous) {
    const secure = new Set(properties.filter((p) => p.secure).map((p) => p.key));
    const config: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      if (!secure.has(k)) config[k] = v;
      else secrets[k] = previous?.[k] === `sealed:${v}` ? (previous[k] as string) : `sealed:${v}`;
    }
    return { config, secrets };
  },
  pipeline: (definition, previous) =>
    sealSecureVariables(definition, previous, {
      seal: (v) => `sealed:${v}`,
      open: (v) => v.replace(/^sealed:/, ''),
    }),
};

const job = [{ name: 'j', tasks: [{ run: 'true' }] }];
function input(desired: unknown, packages: PackageRow[] = []): PlanInput {
  const config = HoistConfig.parse(desired);
  return {
    desired: config,
    current: { repositories: [], packages },
    verdicts: {
      plugins: config.repositories.map((r) => (r.plugin === 'sample' ? plugin : undefined)),
      repositories: config.repositories.map(() => []),
      packages: config.repositories.map((r) => r.packages.map(() => [])),
    },
    pluginIds: ['sample'],
    sealed,
  };
}
const repo = (packages: unknown[], extra: object = {}) => ({
  name: 'internal',
  plugin: 'sample',
  config: { URL: 'https://repo.test', TOKEN: 't0p' },
  packages,
  ...extra,
});
const messages = (i: PlanInput) => planConfiguration(i).issues.map((x) => `${x.key}: ${x.message}`);

describe('server/catalog/plan', () => {
  it('plans rows with secrets sealed, fingerprints and intervals', () => {
    const { plan, issues } = planConfiguration(
      input({
        repositories: [repo([{ name: 'app', config: { NAME: 'app' }, pollInterval: '5m' }])],
        pipelines: [
          {
            name: 'build',
            materials: [{ package: 'internal/app' }],
            stages: [{ name: 's', jobs: job }],
          },
        ],
      }),
    );
    expect(issues).toEqual([]);
    expect(plan.repositories[0]).toMatchObject({
      config: { URL: 'https://repo.test' },
      secrets: { TOKEN: 'sealed:t0p' },
      source: 'config',
    });
    expect(plan.packages[0]).toMatchObject({
      pollIntervalMs: 300_000,
      fingerprint: materialFingerprint(
        plugin,
        { URL: 'https://repo.test', TOKEN: 't0p' },
        { NAME: 'app' },
      ),
    });
    expect(plan.pipelines.map((p) => p.name)).toEqual(['build']);
  });

  it('refuses references to nothing, with their field paths', () => {
    expect(
      messages(
        input({
          repositories: [repo([])],
          pipelines: [
            {
              name: 'build',
              materials: [{ package: 'internal/nope' }],
              stages: [{ name: 's', jobs: job }],
            },
            {
              name: 'deploy',
              materials: [
                { pipeline: 'build', stage: 'verify' },
                { pipeline: 'ghost', stage: 's' },
              ],
              stages: [{ name: 's', jobs: job }],
            },
          ],
        }),
      ),
    ).toEqual([
      "pipelines[0].materials[0].package: no package 'internal/nope'",
      "pipelines[1].materials[0].stage: pipeline 'build' has no stage 'verify'",
      "pipelines[1].materials[1].pipeline: no pipeline 'ghost'",
    ]);
  });

  it('lets a fetch task name only a package its runs carry, through any upstream', () => {
    const fetching = (...names: string[]) => [
      { name: 'j', tasks: names.map((fetch) => ({ fetch })) },
    ];
    expect(
      messages(
        input({
          repositories: [
            repo(['app', 'lib', 'other'].map((name) => ({ name, config: { NAME: name } }))),
          ],
          pipelines: [
            {
              name: 'build',
              materials: [{ package: 'internal/app' }],
              stages: [{ name: 's', jobs: fetching('internal/app', 'internal/lib') }],
            },
            {
              name: 'test',
              materials: [{ pipeline: 'build', stage: 's' }, { package: 'internal/lib' }],
              stages: [{ name: 's', jobs: job }],
            },
            {
              name: 'deploy',
              materials: [{ pipeline: 'test', stage: 's' }],
              stages: [
                { name: 's', jobs: fetching('internal/app', 'internal/lib', 'internal/nope') },
                { name: 't', jobs: fetching('internal/other') },
              ],
            },
          ],
        }),
      ),
    ).toEqual([
      "pipelines[0].stages[0].jobs[0].tasks[1].fetch: package 'internal/lib' is not a material of this pipeline nor of its upstreams (its runs carry internal/app)",
      "pipelines[2].stages[0].jobs[0].tasks[2].fetch: no package 'internal/nope'",
      "pipelines[2].stages[1].jobs[0].tasks[0].fetch: package 'internal/other' is not a material of this pipeline nor of its upstreams (its runs carry internal/app, internal/lib)",
    ]);
  });

  it('refuses stages and jobs named twice, which runs could not tell apart', () => {
    expect(
      messages(
        input({
          repositories: [repo([{ name: 'app', config: { NAME: 'app' } }])],
          pipelines: [
            {
              name: 'build',
              materials: [{ package: 'internal/app' }],
              stages: [
                { name: 's', jobs: [...job, ...job] },
                { name: 's', jobs: job },
              ],
            },
          ],
        }),
      ),
    ).toEqual([
      "pipelines[0].stages[0].jobs[1].name: job 'j' is defined twice in stage 's'",
      "pipelines[0].stages[1].name: stage 's' is defined twice",
    ]);
  });

  it('refuses one material twice, also against a package made over the API', () => {
    const fingerprint = materialFingerprint(plugin, { URL: 'https://repo.test' }, { NAME: 'app' });
    const api: PackageRow = {
      repository: 'other',
      name: 'app',
      config: { NAME: 'app' },
      secrets: {},
      pollIntervalMs: 60_000,
      fingerprint,
      source: 'api',
      createdAt: '',
      updatedAt: '',
    };
    expect(
      messages(input({ repositories: [repo([{ name: 'app', config: { NAME: 'app' } }])] }, [api])),
    ).toEqual([
      'repositories[0].packages[0]: same repository and package identity as package other/app (made over the API): they would be one material',
    ]);
  });

  it('names unknown plugins and colliding job variables', () => {
    expect(
      messages(
        input({
          repositories: [
            { name: 'x', plugin: 'nope', config: {} },
            repo([
              { name: 'a-b', config: { NAME: 'one' } },
              { name: 'a_b', config: { NAME: 'two' } },
            ]),
          ],
        }),
      ),
    ).toEqual([
      "repositories[0].plugin: no plugin 'nope'; known: sample",
      'repositories: packages internal/a-b and internal/a_b would share job variables HOIST_PACKAGE_INTERNAL_A_B_*; rename one',
    ]);
  });

  it('stores secure variables sealed, and refuses a name given both ways', () => {
    const desired = (key: string) => ({
      repositories: [repo([{ name: 'app', config: { NAME: 'app' } }])],
      pipelines: [
        {
          name: 'deploy',
          materials: [{ package: 'internal/app' }],
          secureVariables: { KEY: key },
          stages: [{ name: 's', jobs: job }],
        },
      ],
    });
    const first = planConfiguration(input(desired('k1'))).plan.pipelines[0];
    expect(first?.definition).toMatchObject({ secureVariables: { KEY: 'sealed:k1' } });
    expect(
      messages(
        input({
          ...desired('k1'),
          pipelines: [{ ...desired('k1').pipelines[0], variables: { KEY: 'x' } }],
        }),
      ),
    ).toEqual([
      "pipelines[0].secureVariables.KEY: 'KEY' is also given in variables.KEY: a name is either a variable or a secure variable",
    ]);
  });

  it('keeps the stored objects of a plugin that failed to load; a new one is refused with why', () => {
    const desired = {
      repositories: [repo([{ name: 'app', config: { NAME: 'app' } }], { plugin: 'broken' })],
      pipelines: [
        {
          name: 'build',
          materials: [{ package: 'internal/app' }],
          stages: [{ name: 's', jobs: job }],
        },
      ],
    };
    const stored = {
      repositories: [
        {
          name: 'internal',
          plugin: 'broken',
          config: { URL: 'https://repo.test' },
          secrets: {},
          source: 'config' as const,
          createdAt: 't',
          updatedAt: 't',
        },
      ],
      packages: [
        {
          repository: 'internal',
          name: 'app',
          config: { NAME: 'app' },
          secrets: {},
          pollIntervalMs: 60_000,
          fingerprint: 'f1',
          source: 'config' as const,
          createdAt: 't',
          updatedAt: 't',
        },
      ],
    };
    const unavailable = new Map([['broken', 'answered garbage']]);
    const kept = planConfiguration({ ...input(desired), current: stored, unavailable });
    expect(kept.issues).toEqual([]);
    expect(kept.plan.packages.map((p) => [p.repository, p.name, p.fingerprint])).toEqual([
      ['internal', 'app', 'f1'],
    ]);
    expect(messages({ ...input(desired), unavailable })).toEqual([
      "repositories[0].plugin: plugin 'broken' failed to load: answered garbage",
      "pipelines[0].materials[0].package: no package 'internal/app'",
    ]);
  });
});
