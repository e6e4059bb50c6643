import {
  chmodSync,
  cpSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { createPluginHost, createPluginRegistry } from 'hoist';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../agent/http/http-client.ts';
import type { Material, Plugin } from '../server/api/schemas/index.ts';
import { loadExecPlugin } from '../server/plugins/exec-plugin.ts';
import { runHoist } from './helpers/cli.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/python-exec-plugin', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hoist-plugins-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes a .tgz with the given entries (files under package/ as npm pack does). */
async function tarball(
  name: string,
  entries: {
    name: string;
    body?: string;
    type?: tar.Header['type'];
    linkname?: string;
    mode?: number;
  }[],
) {
  const file = join(work, name);
  const pack = tar.pack();
  const done = new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('finish', resolve);
    out.on('error', reject);
    pack.pipe(createGzip()).pipe(out);
  });
  for (const e of entries) {
    pack.entry(
      {
        name: e.name,
        type: e.type ?? 'file',
        ...(e.linkname ? { linkname: e.linkname } : {}),
        mode: e.mode ?? 0o644,
      },
      e.body ?? '',
    );
  }
  pack.finalize();
  await done;
  return file;
}

const exampleEntries = () => [
  {
    name: 'package/hoist-plugin.json',
    body: readFileSync(join(EXAMPLE, 'hoist-plugin.json'), 'utf8'),
  },
  {
    name: 'package/plugin.py',
    body: readFileSync(join(EXAMPLE, 'plugin.py'), 'utf8'),
    mode: 0o755,
  },
];

const listing = (data: string) => {
  try {
    return readdirSync(join(data, 'plugins'))
      .filter((n) => n !== 'node_modules')
      .sort();
  } catch {
    return [];
  }
};

describe('plugin packages (hoist plugins install | list | remove)', () => {
  const index = join(work, 'index.json');
  writeFileSync(
    index,
    JSON.stringify({
      packages: {
        app: [{ version: '2.0', location: 'https://x/app-2.0', built: '2026-03-01T00:00:00.000Z' }],
      },
    }),
  );

  it('installs an exec plugin from a tarball and checks a package with it', async () => {
    const data = join(work, 'data-tgz');
    const file = await tarball('static-index.tgz', exampleEntries());
    const installed = await runHoist(['--data', data, 'plugins', 'install', file]);
    expect(installed.stderr).toBe('');
    expect(installed.stdout).toMatch(/^installed static-index 1\.0\.0 \(exec\)/);
    const list = JSON.parse((await runHoist(['--data', data, 'plugins', 'list', '--json'])).stdout);
    expect(list).toContainEqual({
      id: 'static-index',
      version: '1.0.0',
      name: 'Static JSON index',
      source: 'exec',
      state: 'loaded',
    });
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'static-index',
      '--repo',
      `INDEX_FILE=${index}`,
      '--package',
      'NAME=app',
      '--json',
    ]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      revision: 'app-2.0',
      data: { VERSION: '2.0' },
    });
    const invalid = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'static-index',
      '--repo',
      'INDEX_FILE=relative',
      '--package',
      'NAME=app',
    ]);
    expect(invalid).toMatchObject({
      code: 2,
      stderr: 'hoist: INDEX_FILE: Index file must be an absolute path\n',
    });
    const removed = await runHoist(['--data', data, 'plugins', 'remove', 'static-index']);
    expect(removed.code).toBe(0);
    expect(listing(data)).toEqual(['installed.json']);
  });

  it('installs a JavaScript plugin from a folder; it imports hoist as a peer', async () => {
    const data = join(work, 'data-js');
    const dir = join(work, 'js-plugin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'hoist-plugin.json'),
      JSON.stringify({ id: 'fixed', version: '0.1.0', main: './index.mjs' }),
    );
    writeFileSync(
      join(dir, 'index.mjs'),
      `import { defineRepositoryPlugin } from 'hoist';
const revision = { revision: 'fixed-1', timestamp: '2026-01-01T00:00:00.000Z', data: { VERSION: '1' } };
export default defineRepositoryPlugin({
  id: 'fixed', version: '0.1.0', displayName: 'Fixed',
  repositoryProperties: [{ key: 'URL' }], packageProperties: [{ key: 'NAME' }],
  async checkRepositoryConnection() { return { ok: true, messages: ['ok'] }; },
  async checkPackageConnection() { return { ok: true, messages: ['ok'] }; },
  async latestRevision() { return revision; },
  async latestRevisionsSince() { return []; },
});
`,
    );
    expect((await runHoist(['--data', data, 'plugins', 'install', dir])).code).toBe(0);
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'fixed',
      '--repo',
      'URL=x',
      '--package',
      'NAME=y',
      '--json',
    ]);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout).revision).toBe('fixed-1');
  });

  it('installs an exec plugin from a folder and a JavaScript plugin from a tarball; lists and removes both', async () => {
    const data = join(work, 'data-mixed');
    expect((await runHoist(['--data', data, 'plugins', 'install', EXAMPLE])).stdout).toMatch(
      /^installed static-index 1\.0\.0 \(exec\)/,
    );
    const js = await tarball('fixed-js.tgz', [
      {
        name: 'package/package.json',
        body: JSON.stringify({
          name: 'hoist-plugin-fixed',
          version: '0.2.0',
          hoist: { id: 'fixed-js', version: '0.2.0', main: './index.mjs' },
        }),
      },
      {
        name: 'package/index.mjs',
        body: `import { defineRepositoryPlugin } from 'hoist';
export const plugin = defineRepositoryPlugin({ id: 'fixed-js', version: '0.2.0', displayName: 'Fixed JS',
  repositoryProperties: [{ key: 'URL' }], packageProperties: [{ key: 'NAME' }],
  async checkRepositoryConnection() { return { ok: true, messages: [] }; },
  async checkPackageConnection() { return { ok: true, messages: [] }; },
  async latestRevision() { return { revision: 'js-1', timestamp: '2026-01-01T00:00:00.000Z', data: {} }; },
  async latestRevisionsSince() { return []; } });
`,
      },
    ]);
    expect((await runHoist(['--data', data, 'plugins', 'install', js])).stdout).toMatch(
      /^installed fixed-js 0\.2\.0 \(javascript\)/,
    );
    const list = JSON.parse(
      (await runHoist(['--data', data, 'plugins', 'list', '--json'])).stdout,
    ) as { id: string; source: string }[];
    expect(list.map((p) => `${p.id}:${p.source}`)).toEqual([
      'yum:bundled',
      'apt:bundled',
      'fixed-js:javascript',
      'static-index:exec',
    ]);
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'fixed-js',
      '--repo',
      'URL=u',
      '--package',
      'NAME=n',
      '--json',
    ]);
    expect(JSON.parse(check.stdout).revision).toBe('js-1');
    for (const id of ['fixed-js', 'static-index'])
      expect((await runHoist(['--data', data, 'plugins', 'remove', id])).code).toBe(0);
    expect((await runHoist(['--data', data, 'plugins', 'remove', 'yum'])).stderr).toBe(
      "hoist: 'yum' is bundled with Hoist and cannot be removed\n",
    );
    expect(listing(data)).toEqual(['installed.json']);
  });

  it.each([
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /would be written outside the plugin/],
    [
      'a .. entry',
      [...exampleEntries(), { name: 'package/../../evil', body: 'x' }],
      /would be written outside the plugin/,
    ],
    [
      'a symbolic link',
      [
        ...exampleEntries(),
        { name: 'package/link', type: 'symlink' as const, linkname: '/etc/passwd' },
      ],
      /is a symlink; only files and folders/,
    ],
    [
      'a device',
      [...exampleEntries(), { name: 'package/dev', type: 'character-device' as const }],
      /is a character-device/,
    ],
    ['no manifest', [{ name: 'package/plugin.py', body: 'x' }], /no hoist-plugin\.json/],
    [
      'an invalid manifest',
      [{ name: 'package/hoist-plugin.json', body: '{"id": "Bad Id", "version": "1"}' }],
      /invalid plugin manifest: id: must be kebab-case/,
    ],
    [
      'a bundled id',
      [{ name: 'package/hoist-plugin.json', body: '{"id": "yum", "version": "1", "exec": "./x"}' }],
      /'yum' is the id of a bundled plugin/,
    ],
    [
      'another plugin API',
      [
        {
          name: 'package/hoist-plugin.json',
          body: '{"id": "later", "version": "1", "apiVersion": 2, "exec": "./x"}',
        },
      ],
      /needs plugin API 2; this Hoist speaks 1/,
    ],
  ])(
    'refuses a tarball with %s, leaving the plugins folder as it was',
    async (what, entries, message) => {
      const data = join(work, 'data-refusals');
      const before = listing(data);
      const file = await tarball(`${what.replace(/\W+/g, '-')}.tgz`, entries);
      const result = await runHoist(['--data', data, 'plugins', 'install', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(listing(data)).toEqual(before);
    },
  );
});

describe('exec plugins that misbehave', () => {
  const host = (plugin: Awaited<ReturnType<typeof loadExecPlugin>>) =>
    createPluginHost({
      registry: createPluginRegistry([plugin]),
      http: createHttpClient(),
      timeoutMs: 2000,
    });

  async function broken(name: string, script: string) {
    const dir = join(work, name);
    cpSync(EXAMPLE, dir, { recursive: true });
    const original = readFileSync(join(dir, 'plugin.py'), 'utf8');
    writeFileSync(
      join(dir, 'plugin.py'),
      original.replace(
        'if __name__ == "__main__":',
        `if __name__ == "__main__":\n    if sys.argv[1] == "latest-revision":\n${script}`,
      ),
    );
    chmodSync(join(dir, 'plugin.py'), 0o755);
    return loadExecPlugin({
      id: 'static-index',
      version: '1.0.0',
      executable: join(dir, 'plugin.py'),
      cwd: dir,
      timeoutMs: 1000,
    });
  }
  const repo = { INDEX_FILE: '/tmp/none.json' };
  const pkg = { NAME: 'app' };

  it.each([
    ['hangs', '        import time; time.sleep(60)', /did not answer latest-revision within 1 s/],
    [
      'crashes',
      '        raise RuntimeError("index exploded")',
      /exited with code 1 on latest-revision \(stderr: RuntimeError: index exploded\)$/,
    ],
    [
      'prints garbage',
      '        print("this is not json"); sys.exit(0)',
      /answered latest-revision with invalid JSON: this is not json/,
    ],
    [
      'exits non-zero',
      '        print("bad config", file=sys.stderr); sys.exit(7)',
      /exited with code 7 on latest-revision \(stderr: bad config\)/,
    ],
  ])('gives a clear error when the plugin %s', async (_what, script, message) => {
    const plugin = await broken(_what.replace(/\W+/g, '-'), script);
    const started = Date.now();
    const error = await host(plugin)
      .latestRevision('static-index', repo, pkg)
      .catch((e) => e);
    expect(error.code).toBe('ERR_PLUGIN_FAILED');
    expect(error.pluginId).toBe('static-index');
    expect(error.message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('an installed exec plugin that crashes, inside a running server', () => {
  it('fails its material with the reason, and the server carries on', async () => {
    const data = join(work, 'data-server');
    const dir = join(work, 'crashing-plugin');
    cpSync(EXAMPLE, dir, { recursive: true });
    const source = readFileSync(join(dir, 'plugin.py'), 'utf8');
    writeFileSync(
      join(dir, 'plugin.py'),
      source.replace(
        'if __name__ == "__main__":',
        'if __name__ == "__main__":\n    if sys.argv[1] == "latest-revision":\n        raise SystemExit("index server on fire")',
      ),
    );
    chmodSync(join(dir, 'plugin.py'), 0o755);
    expect((await runHoist(['--data', data, 'plugins', 'install', dir])).code).toBe(0);
    const server = await startServer({
      dataDir: data,
      config: writeConfig(`
repositories:
  - name: idx
    plugin: static-index
    config: { INDEX_FILE: "${join(work, 'index.json')}" }
    packages: [{ name: app, config: { NAME: app }, pollInterval: 1h }]
`),
    });
    try {
      const material = await eventually(async () => {
        const list = (await server.api<Material[]>('GET', '/api/materials')).body;
        return list[0]?.lastError ? list[0] : undefined;
      });
      expect(material.lastError).toMatch(
        /^Plugin 'static-index' exited with code 1 on latest-revision \(stderr: index server on fire\)/,
      );
      expect((await server.api('GET', '/api/health')).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 30_000);
});

describe('plugins installed or removed while the server runs', () => {
  it('are picked up without a restart', async () => {
    const data = join(work, 'data-live');
    const server = await startServer({ dataDir: data });
    try {
      const ids = async () =>
        (await server.api<Plugin[]>('GET', '/api/plugins')).body.map((p) => p.id);
      expect(await ids()).toEqual(['yum', 'apt']);
      expect((await runHoist(['--data', data, 'plugins', 'install', EXAMPLE])).code).toBe(0);
      await eventually(async () => ((await ids()).includes('static-index') ? true : undefined));
      // The log line may reach the output just after the answer that shows the plugin.
      await eventually(async () =>
        server.output().includes('plugins reloaded') ? true : undefined,
      );
      expect((await runHoist(['--data', data, 'plugins', 'remove', 'static-index'])).code).toBe(0);
      await eventually(async () => ((await ids()).includes('static-index') ? undefined : true));
    } finally {
      await server.stop();
    }
  }, 30_000);
});
