import { cpSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryState, nevra, testRuntime } from './helpers/host.ts';
import {
  buildRpms,
  createrepo,
  dnfLatest,
  type RepoCompression,
  tempRepoDir,
} from './helpers/rpm-repo.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Repositories built with rpmbuild + createrepo_c, served on loopback HTTP; for every spec the
 * yum plugin must name exactly the package `dnf repoquery --latest-limit=1` names.
 */
const PACKAGES = [
  { name: 'app', version: '1.0' },
  { name: 'app', version: '1.1~rc1' },
  { name: 'app', version: '1.1' },
  { name: 'app', version: '1.1^git1' },
  { name: 'app', version: '1.0', release: '10' },
  { name: 'libfoo', version: '2.0' },
  { name: 'libfoo', version: '0.5', epoch: 1 },
  { name: 'tool', version: '1.0', release: '9' },
  { name: 'tool', version: '1.0', release: '10' },
  { name: 'tool', version: '1.0', release: '1.1' },
  { name: 'snap', version: '2.0~beta2' },
  { name: 'snap', version: '2.0~beta10' },
  { name: 'rc-thing', version: '3.0', release: '0.rc1' },
  { name: 'rc-thing', version: '3.0', release: '1' },
];

const SPECS = [
  'app',
  'app.noarch',
  'app-1.1',
  'app-1.0',
  'app-1.0-1',
  'app-1.1~rc1-1.noarch',
  'ap*',
  'app-1.1*',
  'libfoo',
  'libfoo-1:0.5-1.noarch',
  'libfoo-2.0',
  'tool',
  'tool-1.0-?',
  'snap',
  'rc-thing',
  'rc-thing-3.0-0*',
  'r[a-c]-thing',
];

describe('yum plugin against dnf repoquery', () => {
  const repos = new Map<RepoCompression, { dir: string; server: StaticServer }>();
  const runtime = testRuntime();

  beforeAll(async () => {
    const base = tempRepoDir();
    await buildRpms(base, PACKAGES);
    for (const compression of ['gz', 'zstd', 'xz', 'bz2'] as const) {
      const dir = tempRepoDir();
      cpSync(base, dir, { recursive: true });
      await createrepo(dir, compression);
      repos.set(compression, { dir, server: await serveDirectory(dir) });
    }
  }, 240_000);

  afterAll(async () => {
    for (const { dir, server } of repos.values()) {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await runtime.close();
  });

  const latest = async (url: string, spec: string) =>
    nevra(await runtime.host.latestRevision('yum', { REPO_URL: url }, { PACKAGE_SPEC: spec }));

  it.each(SPECS)('spec %s: same package as dnf (gz over http)', async (spec) => {
    const { server } = repos.get('gz')!;
    const [expected] = await dnfLatest(server.url, spec);
    expect(expected, `dnf found nothing for ${spec}`).toBeDefined();
    expect(await latest(server.url, spec)).toBe(expected);
  });

  it.each(['zstd', 'xz', 'bz2'] as const)(
    '%s-compressed primary: same answers as dnf',
    async (compression) => {
      const { server } = repos.get(compression)!;
      for (const spec of ['app', 'libfoo', 'tool', 'snap']) {
        const [expected] = await dnfLatest(server.url, spec);
        expect(await latest(server.url, spec), spec).toBe(expected);
      }
    },
  );

  it('accepts the epoch:name-ver-rel.arch spec form of GoCD, which dnf does not', async () => {
    const { server } = repos.get('gz')!;
    expect(await dnfLatest(server.url, '1:libfoo-0.5-1.noarch')).toEqual([]);
    expect(await latest(server.url, '1:libfoo-0.5-1.noarch')).toBe('libfoo-1:0.5-1.noarch');
  });

  it('reads file:// repositories too', async () => {
    const { dir } = repos.get('gz')!;
    expect(await latest(`file://${dir}`, 'app')).toBe('app-0:1.1^git1-1.noarch');
  });

  it('lists every newer version oldest first, so none published between polls is lost', async () => {
    const { server } = repos.get('gz')!;
    const since = await runtime.host.latestRevisionsSince(
      'yum',
      { REPO_URL: server.url },
      { PACKAGE_SPEC: 'app' },
      { revision: 'app-1.0-1.noarch', timestamp: new Date(0).toISOString(), data: {} },
    );
    expect(since.map((r) => r.revision)).toEqual([
      'app-1.0-10.noarch',
      'app-1.1~rc1-1.noarch',
      'app-1.1-1.noarch',
      'app-1.1^git1-1.noarch',
    ]);
  });

  it('sees a package published after the first poll, and reuses unchanged metadata', async () => {
    const dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'pub', version: '1.0' }]);
    await createrepo(dir);
    const server = await serveDirectory(dir);
    try {
      const state = createMemoryState();
      const repo = { REPO_URL: server.url };
      const pkg = { PACKAGE_SPEC: 'pub' };
      const first = await runtime.host.latestRevision('yum', repo, pkg, { state });
      expect(first?.revision).toBe('pub-1.0-1.noarch');

      // Unchanged repository: a conditional GET of repomd.xml only, answered 304.
      server.requests.length = 0;
      const again = await runtime.host.latestRevisionsSince('yum', repo, pkg, first!, { state });
      expect(again).toEqual([]);
      expect(server.requests.map((r) => r.path)).toEqual(['/repodata/repomd.xml']);
      expect(server.requests[0]?.headers['if-none-match']).toBeDefined();

      await buildRpms(dir, [
        { name: 'pub', version: '1.1' },
        { name: 'pub', version: '1.2' },
      ]);
      await createrepo(dir);
      const newer = await runtime.host.latestRevisionsSince('yum', repo, pkg, first!, { state });
      expect(newer.map((r) => r.revision)).toEqual(['pub-1.1-1.noarch', 'pub-1.2-1.noarch']);
      expect(newer[1]?.data.LOCATION).toBe(`${server.url}/pub-1.2-1.noarch.rpm`);
      const [expected] = await dnfLatest(server.url, 'pub');
      expect(nevra(newer[1] ?? null)).toBe(expected);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
