import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHoist } from './helpers/cli.ts';
import { fixtureUrl } from './helpers/fixtures.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

describe('hoist check (as a process)', () => {
  let dir: string;
  let server: StaticServer;
  const auth = { username: 'ci', password: 'p@ss:w/rd%' };

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [
      {
        name: 'app',
        version: '1.0',
        packager: 'Release Bot <bot@example.com>',
        url: 'https://ci.example.com/app/1',
      },
      {
        name: 'app',
        version: '1.1',
        packager: 'Release Bot <bot@example.com>',
        url: 'https://ci.example.com/app/2',
      },
    ]);
    await createrepo(dir);
    server = await serveDirectory(dir, { auth });
  }, 120_000);
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the newest revision as JSON, exit 0', async () => {
    const { code, stdout, stderr } = await runHoist(
      ['check', server.url, 'app', '--json', '--username', 'ci', '--password-env', 'REPO_PASSWORD'],
      { REPO_PASSWORD: auth.password },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const revision = JSON.parse(stdout);
    expect(revision).toMatchObject({
      revision: 'app-1.1-1.noarch',
      user: 'Release Bot <bot@example.com>',
      trackbackUrl: 'https://ci.example.com/app/2',
      data: {
        NAME: 'app',
        EPOCH: '0',
        VERSION: '1.1',
        RELEASE: '1',
        ARCH: 'noarch',
        LOCATION: `${server.url}/app-1.1-1.noarch.rpm`,
      },
    });
    expect(stdout).not.toContain(auth.password);
    expect(stdout).not.toContain(encodeURIComponent(auth.password));
  });

  it('prints a readable summary without --json', async () => {
    const { code, stdout } = await runHoist([
      'check',
      fixtureUrl('librepo/repo_yum_03'),
      'flash-plugin',
    ]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^flash-plugin-7:[\d.]+-[\w.]+\.x86_64$/);
    expect(stdout).toContain('  location  file://');
  });

  it('refuses wrong credentials with exit 1 and one line', async () => {
    const { code, stdout, stderr } = await runHoist(
      ['check', server.url, 'app', '--username', 'ci', '--password-env', 'P'],
      { P: 'nope' },
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^hoist: Authentication refused for .*repomd\.xml \(HTTP 401\)/);
  });

  it('lists newer revisions with --since, exit 0 even when there are none', async () => {
    const env = { P: auth.password };
    const some = await runHoist(
      [
        'check',
        server.url,
        'app',
        '--since',
        'app-1.0-1.noarch',
        '--json',
        '--username',
        'ci',
        '--password-env',
        'P',
      ],
      env,
    );
    expect(some.code).toBe(0);
    expect(JSON.parse(some.stdout).map((r: { revision: string }) => r.revision)).toEqual([
      'app-1.1-1.noarch',
    ]);
    const none = await runHoist(
      [
        'check',
        server.url,
        'app',
        '--since',
        'app-1.1-1.noarch',
        '--json',
        '--username',
        'ci',
        '--password-env',
        'P',
      ],
      env,
    );
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it('exits 3 when nothing matches', async () => {
    const { code, stderr } = await runHoist([
      'check',
      fixtureUrl('osbuild/custom'),
      'no-such-package',
    ]);
    expect(code).toBe(3);
    expect(stderr).toBe("hoist: no package matches 'no-such-package'\n");
  });

  it('names the filters of a search that found nothing, and refuses a --since it cannot read', async () => {
    const arch = await runHoist(
      [
        'check',
        server.url,
        'app',
        '--arch',
        'x86_64',
        '--username',
        'ci',
        '--password-env',
        'REPO_PASSWORD',
      ],
      { REPO_PASSWORD: auth.password },
    );
    expect(arch.code).toBe(3);
    expect(arch.stderr).toBe(
      "hoist: no package matches 'app' with ARCH x86_64; without the filters it finds app-1.1-1.noarch\n",
    );
    const modular = await runHoist([
      'check',
      fixtureUrl('libdnf/modules_all_x86_64'),
      'httpd-2.2*',
    ]);
    expect(modular.code).toBe(3);
    expect(modular.stderr).toBe(
      "hoist: no package matches 'httpd-2.2*'; httpd-2.2.15-59.x86_64 is a modular package of a stream that is not enabled (INCLUDE_MODULAR=true takes it)\n",
    );
    const since = await runHoist(['check', server.url, 'app', '--since', 'garbage']);
    expect(since.code).toBe(2);
    expect(since.stderr).toBe(
      "hoist: --since takes a revision label, name-[epoch:]version-release.arch (e.g. app-1.2-1.noarch), got 'garbage'\n",
    );
  });

  it('suggests a fuller name when a glob matches several names of one arch', async () => {
    const two = tempRepoDir();
    try {
      await buildRpms(two, [
        { name: 'app-client', version: '1.0' },
        { name: 'app-server', version: '1.0' },
      ]);
      await createrepo(two);
      const { code, stderr } = await runHoist(['check', `file://${two}`, 'app-*']);
      expect(code).toBe(2);
      expect(stderr).toBe(
        "hoist: Package spec 'app-*' matches more than one package: app-client.noarch, app-server.noarch. Narrow it with a fuller name, e.g. 'app-client' (the names differ; ARCH cannot tell them apart).\n",
      );
    } finally {
      rmSync(two, { recursive: true, force: true });
    }
  });

  it('exits 2 on invalid configuration, listing every problem', async () => {
    const { code, stderr } = await runHoist([
      'check',
      '--plugin',
      'yum',
      '--repo',
      'REPO_URL=ftp://x',
      '--repo',
      'COLOUR=red',
      '--package',
      'PACKAGE_SPEC=a b',
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      [
        'hoist: the configuration is invalid (3 problems):',
        '  Unsupported key(s) found : COLOUR. Allowed key(s) are : REPO_URL, USERNAME, PASSWORD, MIRRORLIST, METALINK, CA_CERT, CLIENT_CERT, CLIENT_KEY, TLS_VERIFY, PROXY, TIMEOUT',
        "  REPO_URL: Invalid URL: Only 'file', 'http' and 'https' protocols are supported.",
        '  PACKAGE_SPEC: Package spec must not contain white space',
        '',
      ].join('\n'),
    );
  });

  it('exits 2 on an ambiguous spec, naming the streams', async () => {
    const { code, stderr } = await runHoist(['check', fixtureUrl('librepo/repo_yum_03'), '*']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^hoist: Package spec '\*' matches more than one package: .*Narrow it/);
  });

  it('exits 1 on an unreachable repository, a checksum mismatch and malformed metadata', async () => {
    const closed = await runHoist(['check', 'http://127.0.0.1:9/repo', 'app']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(
      /^hoist: Could not reach http:\/\/127\.0\.0\.1:9\/repo\/repodata\/repomd\.xml: .*ECONNREFUSED/,
    );
    const mismatch = await runHoist(['check', fixtureUrl('createrepo_c/repo_01'), '*']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/does not match its sha256 checksum/);
    const missing = await runHoist(['check', fixtureUrl('createrepo_c'), 'app']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/repomd\.xml: HTTP 404/);
  });

  it('exits 2 on usage errors and unknown plugins', async () => {
    expect((await runHoist(['check'])).code).toBe(2);
    expect((await runHoist(['check', 'https://r'])).code).toBe(2);
    expect((await runHoist(['check', '--bogus'])).code).toBe(2);
    const unknown = await runHoist([
      'check',
      '--plugin',
      'nope',
      '--repo',
      'A=1',
      '--package',
      'B=2',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("hoist: No plugin with id 'nope'. Known plugins: yum, apt\n");
  });

  it.each([[[]], [['check']], [['serve']], [['plugins']], [['plugins', 'list']], [['unlock']]])(
    'has help: %j',
    async (args) => {
      const { code, stdout } = await runHoist([...args, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: hoist/);
    },
  );

  it('lists the bundled plugins', async () => {
    const { code, stdout } = await runHoist(['plugins', 'list', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { id: 'yum', version: '1.0.0', name: 'Yum repository', source: 'bundled', state: 'loaded' },
      { id: 'apt', version: '1.0.0', name: 'Apt repository', source: 'bundled', state: 'loaded' },
    ]);
    const empty = mkdtempSync(join(tmpdir(), 'hoist-noplugins-'));
    try {
      const table = await runHoist(['--data', empty, 'plugins', 'list']);
      expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+VERSION\s+KIND\s+STATE\s+NAME$/);
      expect(table.stdout).toMatch(/^yum\s+1\.0\.0\s+bundled\s+loaded\s+Yum repository$/m);
      expect(table.stderr).toBe(
        `no installed plugins in ${join(empty, 'plugins')} (--data or HOIST_DATA names the data folder)\n`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
