import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runHoist } from './helpers/cli.ts';
import { jobOutput, runsOf, until } from './helpers/runs.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';

/**
 * GoCD compatibility, end to end: two executable plugins, installed with `hoist plugins
 * install`, answer with GoCD's own published bodies — the examples of GoCD's plugin API
 * documentation (gocd/plugin-api.go.cd, source/includes/package-repo/) and the bodies of GoCD's
 * message handler test (gocd/gocd, JsonMessageHandler1_0Test) — and record what they receive.
 * `hoist check --plugin` and a real `hoist serve` material use them, and the requests are
 * compared with the request bodies GoCD documents (and its handler test asserts byte for byte).
 */
const PLUGINS = fileURLToPath(new URL('./gocd-plugins', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hoist-gocd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const compact = (json: string) => JSON.stringify(JSON.parse(json));

// Request bodies of GoCD's documentation (_050 … _100). Its package-configuration example names
// the package property Field_1 where its request examples name PACKAGE_SPEC: the plugin answers
// the documented package-configuration, so the package key is Field_1 here.
const DOC_REPO =
  '{"REPO_URL":{"value":"http://localhost.com"},"USERNAME":{"value":"user"},"PASSWORD":{"value":"password"}}';
const DOC_PKG = '{"Field_1":{"value":"sample-package-1.0"}}';
const DOCS = {
  'validate-repository-configuration': `{"repository-configuration":${DOC_REPO}}`,
  'validate-package-configuration': `{"repository-configuration":${DOC_REPO},"package-configuration":${DOC_PKG}}`,
  'check-repository-connection': `{"repository-configuration":${DOC_REPO}}`,
  'check-package-connection': `{"repository-configuration":${DOC_REPO},"package-configuration":${DOC_PKG}}`,
  'latest-revision': `{"repository-configuration":${DOC_REPO},"package-configuration":${DOC_PKG}}`,
  'latest-revision-since':
    compact(`{"repository-configuration":${DOC_REPO},"package-configuration":${DOC_PKG},
    "previous-revision":{"revision":"abc-10.2.1.rpm","timestamp":"2011-07-14T19:43:37.100Z",
    "data":{"VERSION":"5.3.0","LOCATION":"http://www.sample.org/location/of/package","DATA-THREE":"data-three-value"}}}`),
};

// Request bodies JsonMessageHandler1_0Test asserts, exactly.
const T_REPO = '{"key-one":{"value":"value-one"},"key-two":{"value":"value-two"}}';
const T_PKG = '{"key-three":{"value":"value-three"},"key-four":{"value":"value-four"}}';
const HANDLER = {
  'validate-repository-configuration': `{"repository-configuration":${T_REPO}}`,
  'validate-package-configuration': `{"repository-configuration":${T_REPO},"package-configuration":${T_PKG}}`,
  'check-repository-connection': `{"repository-configuration":${T_REPO}}`,
  'check-package-connection': `{"repository-configuration":${T_REPO},"package-configuration":${T_PKG}}`,
  'latest-revision': `{"repository-configuration":${T_REPO},"package-configuration":${T_PKG}}`,
};

const DOC_ARGS = [
  '--repo',
  'REPO_URL=http://localhost.com',
  '--repo',
  'USERNAME=user',
  '--repo',
  'PASSWORD=password',
  '--package',
  'Field_1=sample-package-1.0',
];
const HANDLER_ARGS = [
  '--repo',
  'key-one=value-one',
  '--repo',
  'key-two=value-two',
  '--package',
  'key-three=value-three',
  '--package',
  'key-four=value-four',
];

type Request = { name: string; body: string };
const requestsFile = (data: string, id: string) => join(data, 'plugins', id, 'requests.jsonl');
function takeRequests(data: string, id: string): Request[] {
  const file = requestsFile(data, id);
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  writeFileSync(file, '');
  return lines.map((l) => JSON.parse(l) as Request);
}
const bodyOf = (requests: Request[], name: string) => requests.find((r) => r.name === name)?.body;

async function installBoth(): Promise<string> {
  const data = mkdtempSync(join(work, 'data-'));
  for (const id of ['docs', 'handler']) {
    const installed = await runHoist(['--data', data, 'plugins', 'install', join(PLUGINS, id)]);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
  }
  return data;
}

describe("GoCD compatibility: GoCD's own message bodies, unchanged", () => {
  it('installs and lists both plugins, and reads their configurations as GoCD does', async () => {
    const data = await installBoth();
    const list = await runHoist(['--data', data, 'plugins', 'list', '--json']);
    const rows = JSON.parse(list.stdout) as { id: string; state: string }[];
    expect(rows.filter((r) => r.id.startsWith('gocd-')).map((r) => `${r.id}:${r.state}`)).toEqual([
      'gocd-docs:loaded',
      'gocd-handler:loaded',
    ]);
    // Loading (at install, and again to list) asked for the two configurations, nothing else.
    const load = [
      ['repository-configuration', ''],
      ['package-configuration', ''],
    ];
    expect(takeRequests(data, 'gocd-handler').map((r) => [r.name, r.body])).toEqual([
      ...load,
      ...load,
    ]);
  });

  it('hoist check --plugin: the documented answers work; the requests are the documented ones', async () => {
    const data = await installBoth();
    takeRequests(data, 'gocd-docs');
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-docs',
      ...DOC_ARGS,
      '--json',
    ]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({
      revision: 'abc-10.2.1.rpm',
      timestamp: '2011-07-14T19:43:37.100Z',
      user: 'some-user',
      comment: 'comment',
      trackbackUrl: 'http://localhost:9999',
      data: {
        VERSION: '5.3.0',
        LOCATION: 'http://www.sample.org/location/of/package',
        'DATA-THREE': 'data-three-value',
      },
    });
    const requests = takeRequests(data, 'gocd-docs');
    // Loading (2), validation as on saving (2), then one latest-revision.
    expect(requests.map((r) => r.name)).toEqual([
      'repository-configuration',
      'package-configuration',
      'validate-repository-configuration',
      'validate-package-configuration',
      'latest-revision',
    ]);
    for (const name of [
      'validate-repository-configuration',
      'validate-package-configuration',
      'latest-revision',
    ] as const)
      expect(bodyOf(requests, name), name).toBe(DOCS[name]);

    const connection = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-docs',
      ...DOC_ARGS,
      '--connection',
      '--json',
    ]);
    expect(connection.code).toBe(0);
    expect(JSON.parse(connection.stdout)).toEqual({
      repository: {
        status: 'success',
        messages: ['Successfully connected to repository url provided'],
      },
      package: { status: 'success', messages: ['Successfully found package abc.rpm'] },
    });
    const checks = takeRequests(data, 'gocd-docs');
    for (const name of ['check-repository-connection', 'check-package-connection'] as const)
      expect(bodyOf(checks, name), name).toBe(DOCS[name]);
  });

  it("hoist check --plugin: the handler test's bodies, lenient JSON and keyless messages included", async () => {
    const data = await installBoth();
    takeRequests(data, 'gocd-handler');
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-handler',
      ...HANDLER_ARGS,
      '--json',
    ]);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout)).toMatchObject({
      revision: 'abc.rpm',
      trackbackUrl: 'http:\\localhost:9999',
    });
    const requests = takeRequests(data, 'gocd-handler');
    // Exactly the bytes GoCD's test asserts: configured keys only (key-three's default is not sent).
    for (const name of [
      'validate-repository-configuration',
      'validate-package-configuration',
      'latest-revision',
    ] as const)
      expect(bodyOf(requests, name), name).toBe(HANDLER[name]);

    const connection = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-handler',
      ...HANDLER_ARGS,
      '--connection',
    ]);
    expect(connection.code).toBe(1);
    expect(connection.stdout).toBe(
      'repository: success\n  message-one\n  message-two\npackage: failure\n  message-one\n  message-two\n',
    );
    const checks = takeRequests(data, 'gocd-handler');
    for (const name of ['check-repository-connection', 'check-package-connection'] as const)
      expect(bodyOf(checks, name), name).toBe(HANDLER[name]);

    const invalid = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-handler',
      '--repo',
      'key-one=wrong',
      '--repo',
      'key-two=value-two',
      '--package',
      'key-three=a',
      '--package',
      'key-four=b',
    ]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('key-one: incorrect value');
    expect(invalid.stderr).toContain('  general error');
    expect(takeRequests(data, 'gocd-handler').map((r) => r.name)).not.toContain('latest-revision');
  });

  it('hoist serve: one message per poll and check-now, the documented requests, job variables from DATA-THREE', async () => {
    const data = await installBoth();
    const server = await startServer({
      dataDir: data,
      config: writeConfig(`
repositories:
  - name: docs
    plugin: gocd-docs
    config: { REPO_URL: "http://localhost.com", USERNAME: user, PASSWORD: password }
    packages: [{ name: app, config: { Field_1: sample-package-1.0 }, pollInterval: 1h }]
  - name: handler
    plugin: gocd-handler
    config: { key-one: value-one, key-two: value-two }
    packages: [{ name: app, config: { key-three: value-three, key-four: value-four }, pollInterval: 2s }]
pipelines:
  - name: print
    materials: [{ package: docs/app }]
    stages:
      - name: show
        jobs:
          - name: env
            tasks:
              - run: 'echo "THREE=$HOIST_PACKAGE_DOCS_APP_DATA_THREE"; echo "LABEL=$HOIST_PACKAGE_DOCS_APP_LABEL"; echo "SPEC=$HOIST_PACKAGE_DOCS_APP_FIELD_1"'
`),
    });
    try {
      const first = await until(server, 'print', 1, (r) => r.status === 'passed');
      expect(first.cause.packages['docs/app']?.revision).toBe('abc-10.2.1.rpm');
      expect(await jobOutput(server, 'print', 1, 'show', 'env')).toMatchObject({
        THREE: 'data-three-value',
        LABEL: 'abc-10.2.1.rpm',
        SPEC: 'sample-package-1.0',
      });
      // At start: loading and validating the file; the first poll: latest-revision only.
      const atStart = takeRequests(data, 'gocd-docs').map((r) => r.name);
      await eventually(async () =>
        readFileSync(requestsFile(data, 'gocd-handler'), 'utf8').includes('latest-revision')
          ? true
          : undefined,
      );
      takeRequests(data, 'gocd-handler');
      expect(atStart.filter((n) => n.startsWith('latest'))).toEqual(['latest-revision']);

      for (const expected of ['abc-10.2.2.rpm', 'abc-10.2.2.rpm']) {
        expect(
          (await server.api('POST', '/api/materials/check', { repository: 'docs' })).status,
        ).toBe(202);
        const requests = await eventually(async () => {
          const got = readFileSync(requestsFile(data, 'gocd-docs'), 'utf8')
            .split('\n')
            .filter(Boolean);
          return got.length > 0 ? takeRequests(data, 'gocd-docs') : undefined;
        });
        expect(requests.map((r) => r.name)).toEqual(['latest-revision-since']);
        const runs = await eventually(async () => {
          const all = await runsOf(server, 'print');
          return all.find((r) => r.cause.packages['docs/app']?.revision === expected);
        });
        expect(runs).toBeDefined();
        if (requests[0]?.body.includes('"abc-10.2.1.rpm"'))
          expect(requests[0].body).toBe(DOCS['latest-revision-since']);
      }
      // The handler material polls every 2 s: several polls, one message each, no validation.
      await new Promise((r) => setTimeout(r, 5000));
      const polls = takeRequests(data, 'gocd-handler').map((r) => r.name);
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(new Set(polls)).toEqual(new Set(['latest-revision-since']));
      // The connection checks over the API answer GoCD's shape.
      expect((await server.api('POST', '/api/repositories/docs/check-connection')).body).toEqual({
        status: 'success',
        messages: ['Successfully connected to repository url provided'],
      });
      expect((await server.api('POST', '/api/packages/handler/app/check-connection')).body).toEqual(
        {
          status: 'failure',
          messages: ['message-one', 'message-two'],
        },
      );
      // GET /api/plugins reads GoCD's metadata: the documented Field_2 is secure, so not identity.
      const plugins = (
        await server.api<
          {
            id: string;
            state: string;
            packageProperties?: {
              key: string;
              secure: boolean;
              partOfIdentity: boolean;
              defaultValue?: string;
            }[];
          }[]
        >('GET', '/api/plugins')
      ).body;
      const docs = plugins.find((p) => p.id === 'gocd-docs');
      expect(docs?.state).toBe('loaded');
      expect(
        docs?.packageProperties?.map((p) => [p.key, p.secure, p.partOfIdentity, p.defaultValue]),
      ).toEqual([
        ['Field_1', false, true, 'DEF'],
        ['Field_2', true, false, 'ABC'],
      ]);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
