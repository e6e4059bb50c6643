import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runHoist } from './helpers/cli.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';

/**
 * A broken plugin installed beside working ones: it is listed as failed with why, and nothing
 * else notices — not the CLI for the other plugins, not the server's start, not other materials.
 */
const DOCS = fileURLToPath(new URL('./gocd-plugins/docs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hoist-isolation-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A plugin folder whose executable works until `break()` makes it answer garbage. */
function flakyPlugin(id: string) {
  const dir = join(work, id);
  cpSync(DOCS, dir, { recursive: true });
  writeFileSync(
    join(dir, 'hoist-plugin.json'),
    JSON.stringify({ id, version: '1.0.0', exec: './plugin.mjs' }),
  );
  return dir;
}

const garbage = '#!/bin/sh\necho "this is not json"\n';
const DOC_REPO = 'config: { REPO_URL: "http://localhost.com", USERNAME: user, PASSWORD: password }';
const DOC_PKG = 'config: { Field_1: sample-package-1.0 }';

describe('a broken plugin beside working ones', () => {
  it('is listed with its error; the CLI works for the others', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    const broken = join(work, 'broken');
    mkdirSync(broken);
    writeFileSync(
      join(broken, 'hoist-plugin.json'),
      JSON.stringify({ id: 'broken', version: '0.1.0', exec: './plugin.sh' }),
    );
    writeFileSync(join(broken, 'plugin.sh'), garbage);
    chmodSync(join(broken, 'plugin.sh'), 0o755);
    expect((await runHoist(['--data', data, 'plugins', 'install', DOCS])).code).toBe(0);
    const install = await runHoist(['--data', data, 'plugins', 'install', broken]);
    expect(install.code).toBe(1);
    expect(install.stderr).toMatch(
      /broken is installed but fails to load: .*repository-configuration/,
    );
    // A manifest damaged after installing is reported too.
    const damaged = flakyPlugin('damaged');
    expect((await runHoist(['--data', data, 'plugins', 'install', damaged])).code).toBe(0);
    writeFileSync(join(data, 'plugins', 'damaged', 'hoist-plugin.json'), '{ nope');

    const list = await runHoist(['--data', data, 'plugins', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^gocd-docs\s+1\.0\.0\s+exec\s+loaded/m);
    expect(list.stdout).toMatch(/^broken\s+0\.1\.0\s+exec\s+failed/m);
    expect(list.stdout).toMatch(
      /error: Plugin 'broken' answered repository-configuration with invalid JSON: this is not json/,
    );
    expect(list.stdout).toMatch(/^damaged\s+.*failed/m);
    expect(list.stdout).toContain('error: hoist-plugin.json is not valid JSON');

    const json = JSON.parse((await runHoist(['--data', data, 'plugins', 'list', '--json'])).stdout);
    expect(json.find((p: { id: string }) => p.id === 'broken')).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('repository-configuration'),
    });

    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'gocd-docs',
      '--repo',
      'REPO_URL=http://localhost.com',
      '--package',
      'Field_1=x',
    ]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^abc-10\.2\.1\.rpm/);
    const yum = await runHoist(['--data', data, 'check', '--plugin', 'broken', '--repo', 'A=b']);
    expect(yum.code).toBe(1);
    expect(yum.stderr).toMatch(/^hoist: plugin 'broken' failed to load: /);
    const unknown = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'nosuch',
      '--repo',
      'A=b',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      "hoist: No plugin with id 'nosuch'. Known plugins: yum, apt, broken, damaged, gocd-docs\n",
    );
  });

  it('does not stop the server, nor the materials of other plugins', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    const flaky = flakyPlugin('flaky');
    expect((await runHoist(['--data', data, 'plugins', 'install', DOCS])).code).toBe(0);
    expect((await runHoist(['--data', data, 'plugins', 'install', flaky])).code).toBe(0);
    const config = writeConfig(`
repositories:
  - name: good
    plugin: gocd-docs
    ${DOC_REPO}
    packages: [{ name: app, ${DOC_PKG}, pollInterval: 1h }]
  - name: bad
    plugin: flaky
    ${DOC_REPO}
    packages: [{ name: app, ${DOC_PKG}, pollInterval: 1h }]
`);
    // First with both working: the configuration is stored.
    const first = await startServer({ dataDir: data, config });
    await first.stop();
    // The plugin breaks (an upgrade gone wrong): the server still starts with the same file.
    writeFileSync(join(data, 'plugins', 'flaky', 'plugin.mjs'), garbage);
    const server = await startServer({ dataDir: data, config });
    try {
      const plugins = (
        await server.api<{ id: string; state: string; error: string | null }[]>(
          'GET',
          '/api/plugins',
        )
      ).body;
      expect(plugins.map((p) => `${p.id}:${p.state}`).sort()).toEqual([
        'apt:loaded',
        'flaky:failed',
        'gocd-docs:loaded',
        'yum:loaded',
      ]);
      expect(plugins.find((p) => p.id === 'flaky')?.error).toMatch(/repository-configuration/);
      expect(server.output()).toContain("plugin 'flaky' failed to load");
      expect(
        (await server.api('POST', '/api/materials/check', { repository: 'good' })).status,
      ).toBe(202);
      expect((await server.api('POST', '/api/materials/check', { repository: 'bad' })).status).toBe(
        202,
      );
      const materials = await eventually(async () => {
        const list = (
          await server.api<
            {
              packages?: { repository: string }[];
              repository?: string;
              lastError: string | null;
              latestRevision: { revision: string } | null;
            }[]
          >('GET', '/api/materials')
        ).body;
        const text = JSON.stringify(list);
        return text.includes('abc-10.2.2.rpm') && text.includes("plugin 'flaky' failed to load")
          ? list
          : undefined;
      });
      expect(materials).toHaveLength(2);
      // Its connection checks answer GoCD's failure, with why.
      expect(await server.api('POST', '/api/repositories/bad/check-connection')).toEqual({
        status: 200,
        body: {
          status: 'failure',
          messages: [expect.stringMatching(/^plugin 'flaky' failed to load: /)],
        },
      });
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('an upgrade is validated once against the stored configuration; refused, it gets no polls', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    const strict = flakyPlugin('strict');
    expect((await runHoist(['--data', data, 'plugins', 'install', strict])).code).toBe(0);
    const server = await startServer({
      dataDir: data,
      config: writeConfig(`
repositories:
  - name: repo
    plugin: strict
    ${DOC_REPO}
    packages: [{ name: app, ${DOC_PKG}, pollInterval: 1h }]
`),
    });
    try {
      const requests = () => {
        const file = join(data, 'plugins', 'strict', 'requests.jsonl');
        return existsSync(file)
          ? readFileSync(file, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l).name as string)
          : [];
      };
      await eventually(async () => (requests().includes('latest-revision') ? true : undefined));
      // Version 2 refuses every repository configuration (GoCD's documented error answer).
      const plugin = join(strict, 'plugin.mjs');
      writeFileSync(
        plugin,
        readFileSync(plugin, 'utf8').replace(
          "request['repository-configuration']?.REPO_URL",
          'false',
        ),
      );
      writeFileSync(
        join(strict, 'hoist-plugin.json'),
        JSON.stringify({ id: 'strict', version: '2.0.0', exec: './plugin.mjs' }),
      );
      expect((await runHoist(['--data', data, 'plugins', 'install', strict])).code).toBe(0);
      await eventually(async () =>
        server.output().includes('plugins reloaded') ? true : undefined,
      );
      // Validated once when it was installed: the repository, then the package.
      expect(requests()).toEqual([
        'repository-configuration',
        'package-configuration',
        'repository-configuration',
        'package-configuration',
        'validate-repository-configuration',
        'validate-package-configuration',
      ]);
      expect(
        (await server.api('POST', '/api/materials/check', { repository: 'repo' })).status,
      ).toBe(202);
      const error = await eventually(async () => {
        const text = JSON.stringify((await server.api('GET', '/api/materials')).body);
        return text.includes('Repository url not specified') ? text : undefined;
      });
      expect(error).toContain('Unsupported key(s) found : RANDOM');
      expect(requests().filter((n) => n.startsWith('latest-revision'))).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
