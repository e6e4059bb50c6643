import type { ConfigInvalidError } from 'hoist';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from './load.ts';

const valid = `
auth:
  tokens:
    - { name: watcher, role: viewer, token: "\${env:VIEWER_TOKEN}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "https://repo.example.com/el9", USERNAME: ci, PASSWORD: "\${env:REPO_PASSWORD}", TIMEOUT: 30 }
    packages:
      - name: app
        config: { PACKAGE_SPEC: "app" }
        pollInterval: 5m
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - name: verify
        jobs: [{ name: record, tasks: [{ run: "echo hi" }] }]
`;

describe('server/config/load', () => {
  it('substitutes ${env:NAME} and applies defaults', () => {
    const config = parseConfigText(valid, 'hoist.yaml', {
      VIEWER_TOKEN: 'v'.repeat(20),
      REPO_PASSWORD: 's3cret',
    });
    expect(config.auth.tokens[0]?.token).toBe('v'.repeat(20));
    expect(config.repositories[0]?.config).toEqual({
      REPO_URL: 'https://repo.example.com/el9',
      USERNAME: 'ci',
      PASSWORD: 's3cret',
      TIMEOUT: '30',
    });
    expect(config.pipelines[0]?.materials[0]).toEqual({
      package: 'internal/app',
      trigger: 'latest',
    });
    expect(config.pipelines[0]?.stages[0]?.approval).toBe('auto');
  });

  it('reports every problem at once with its field path', () => {
    const bad = `
repositories:
  - name: "bad name"
    plugin: yum
    colour: red
    packages:
      - name: app
        pollInterval: sometimes
pipelines:
  - name: p
    lock: sometimes
    materials: [{ package: nope }]
    stages: []
`;
    let issues: { key: string; message: string }[] = [];
    try {
      parseConfigText(bad, 'hoist.yaml', {});
    } catch (error) {
      issues = (error as { issues: typeof issues }).issues;
    }
    expect(issues.map((i) => `${i.key}: ${i.message}`).sort()).toEqual([
      'pipelines[0].lock: must be none, unlockWhenFinished or lockOnFailure',
      "pipelines[0].materials[0].package: must name a package as 'repository/package'",
      'pipelines[0].stages: a pipeline needs at least one stage',
      'repositories[0].name: may hold letters, digits, _, - and . (not first)',
      "repositories[0].packages[0].pollInterval: must look like '30s', '5m', '1h' or 'never'",
      'repositories[0]: Unrecognized key: "colour"',
    ]);
  });

  it('names the two shapes of a material when one is neither', () => {
    const bad = `
pipelines:
  - name: deploy
    materials: [{ pipeline: build }, { package: a/b, trigger: sometimes }, { package: a/b }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
`;
    const shapes =
      "a material is either { package: 'repository/package', trigger: latest | every } or { pipeline: NAME, stage: STAGE }";
    expect(() => parseConfigText(bad, 'hoist.yaml', {})).toThrow(
      expect.objectContaining({
        issues: [
          {
            key: 'pipelines[0].materials[0]',
            message:
              'an upstream material names the stage that must pass: { pipeline: build, stage: STAGE }',
          },
          { key: 'pipelines[0].materials[1]', message: shapes },
        ],
      }),
    );
  });

  it('names a missing environment variable and where it is used', () => {
    expect(() => parseConfigText(valid, 'hoist.yaml', { VIEWER_TOKEN: 'v'.repeat(20) })).toThrow(
      'repositories[0].config.PASSWORD: environment variable REPO_PASSWORD is not set',
    );
  });

  it('reports YAML syntax errors with their line and column', () => {
    expect(() => parseConfigText('repositories: [', 'hoist.yaml', {})).toThrow(
      /^hoist\.yaml:1:\d+: YAML: /,
    );
    expect(() =>
      parseConfigText('pipelines: []\nauth:\n  tokens: []\npipelines: []\n', 'hoist.yaml', {}),
    ).toThrow(/^hoist\.yaml:4:1: YAML: Map keys must be unique: 'pipelines' is given twice$/);
    // A key given twice does not hide the file's other problems.
    let issues: { key: string; message: string }[] = [];
    try {
      parseConfigText('pipelines: []\npipelines: []\ncolour: red\n', 'hoist.yaml', {});
    } catch (error) {
      issues = (error as { issues: typeof issues }).issues;
    }
    expect(issues.map((i) => `${i.key}: ${i.message}`)).toEqual([
      ": hoist.yaml:2:1: YAML: Map keys must be unique: 'pipelines' is given twice",
      ': Unrecognized key: "colour"',
    ]);
  });

  it('lists reference problems together with schema problems, when it knows the plugins', () => {
    const bad = `
repositories:
  - name: internal
    plugin: yumm
    colour: red
    packages: [{ name: app }]
pipelines:
  - name: build
    materials: [{ package: internal/ap }]
    stages: [{ name: verify, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
  - name: deploy
    materials: [{ pipeline: build, stage: verfy }, { pipeline: ghost, stage: s }]
    stages: [verify]
`;
    let issues: { key: string; message: string }[] = [];
    try {
      parseConfigText(bad, 'hoist.yaml', {}, ['yum']);
    } catch (error) {
      issues = (error as { issues: typeof issues }).issues;
    }
    expect(issues.map((i) => `${i.key}: ${i.message}`)).toEqual([
      'repositories[0]: Unrecognized key: "colour"',
      'pipelines[1].stages[0]: must be a stage: { name: NAME, approval: auto | manual, approvers: [...], jobs: [...] }',
      "repositories[0].plugin: no plugin 'yumm'; known: yum",
      "pipelines[0].materials[0].package: no package 'internal/ap'",
      "pipelines[1].materials[0].stage: pipeline 'build' has no stage 'verfy'",
      "pipelines[1].materials[1].pipeline: no pipeline 'ghost'",
    ]);
  });

  it('refuses two tokens with one value or one name, without showing the value', () => {
    const tokens = `
auth:
  tokens:
    - { name: alice, role: operator, token: "same-value-0123456789" }
    - { name: bob, role: viewer, token: "same-value-0123456789" }
    - { name: alice, role: viewer, token: "other-value-0123456789" }
`;
    let issues: { key: string; message: string }[] = [];
    try {
      parseConfigText(tokens, 'hoist.yaml', {});
    } catch (error) {
      issues = (error as { issues: typeof issues }).issues;
    }
    expect(issues.map((i) => `${i.key}: ${i.message}`)).toEqual([
      'auth.tokens[1].token: the same value as auth.tokens[0] (alice): every token must be different',
      "auth.tokens[2].name: token 'alice' is defined twice",
    ]);
  });

  it('names the three shapes of a task', () => {
    const bad = `
pipelines:
  - name: p
    materials: [{ pipeline: q, stage: s }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ script: "make" }] }] }]
`;
    expect(() => parseConfigText(bad, 'hoist.yaml', {})).toThrow(
      "a task is either { run: 'a shell script' }, { exec: [command, argument, …] } or { fetch: 'repository/package', to: 'file or folder/' }",
    );
  });

  it("keeps a fetch task's to: inside the work folder, and a fetch out of onCancel", () => {
    const bad = `
pipelines:
  - name: p
    materials: [{ pipeline: q, stage: s }]
    stages:
      - name: s
        jobs:
          - name: j
            tasks:
              - { fetch: internal/app, to: /etc/app.rpm }
              - { fetch: internal/app, to: ../../app.rpm }
              - { fetch: app }
              - { fetch: internal/app, onCancel: { run: 'true' } }
              - { run: 'true', onCancel: { fetch: internal/app } }
`;
    let problems: string[] = [];
    try {
      parseConfigText(bad, 'hoist.yaml', {});
    } catch (error) {
      problems = (error as ConfigInvalidError).issues.map((i) => `${i.key}: ${i.message}`);
    }
    const at = 'pipelines[0].stages[0].jobs[0].tasks';
    expect(problems).toEqual([
      `${at}[0].to: must be a path inside the job's work folder, not an absolute path`,
      `${at}[1].to: must stay inside the job's work folder (no '..' climbing out of it)`,
      `${at}[2].fetch: must name a package as 'repository/package'`,
      `${at}[3]: Unrecognized key: "onCancel"`,
      `${at}[4]: onCancel: an onCancel task is either { run: 'a shell script' } or { exec: [command, argument, …] }`,
    ]);
  });

  it('refuses durations past 7 days and a timer that would overflow, naming the field', () => {
    const config = (interval: string, timeout: string) => `
repositories:
  - name: r
    plugin: yum
    packages: [{ name: a, pollInterval: ${interval} }]
pipelines:
  - name: p
    materials: [{ package: r/a }]
    stages: [{ name: s, jobs: [{ name: j, timeout: ${timeout}, tasks: [{ run: "true" }] }] }]
`;
    const problems = (text: string) => {
      try {
        parseConfigText(text, 'hoist.yaml', {});
        return [];
      } catch (error) {
        return (error as { issues: { key: string; message: string }[] }).issues.map(
          (i) => `${i.key}: ${i.message}`,
        );
      }
    };
    expect(problems(config('99999999999999999999h', '600h'))).toEqual([
      'repositories[0].packages[0].pollInterval: must be at most 168h (7 days)',
      'pipelines[0].stages[0].jobs[0].timeout: must be at most 168h (7 days)',
    ]);
    expect(problems(config('604800001ms', '10080m'))).toEqual([
      'repositories[0].packages[0].pollInterval: must be at most 168h (7 days)',
    ]);
    expect(problems(config('168h', '0s'))).toEqual([
      'pipelines[0].stages[0].jobs[0].timeout: must be at least 1s',
    ]);
    expect(problems(config('never', '604800s'))).toEqual([]);
  });

  it('refuses a file whose aliases expand too far as a configuration error', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    expect(() => parseConfigText(levels.join('\n'), 'bomb.yaml', {})).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        issues: [
          {
            key: '',
            message: expect.stringMatching(
              /^bomb\.yaml: YAML: Excessive alias count .* \(aliases may expand to at most 100 nodes\)$/,
            ),
          },
        ],
      }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
