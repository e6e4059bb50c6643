import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from './helpers/fixtures.ts';
import { nevra, testRuntime } from './helpers/host.ts';
import { dnfLatest } from './helpers/rpm-repo.ts';

/**
 * Every readable fixture repository of shared/fixtures/repodata, against dnf: dnf's newest
 * package for each name.arch (all of them on small repositories, a deterministic sample on the
 * large ones) must be exactly what the yum plugin answers for the spec `name.arch`.
 */
const REPOS: { path: string; sample?: number; names?: string[]; dnf?: string[] }[] = [
  { path: 'createrepo_c/repo_02' },
  { path: 'createrepo_c/repo_04' },
  { path: 'createrepo_c/repo_koji_01' },
  { path: 'createrepo_c/repo_with_additional_metadata' },
  { path: 'createrepo_c/repo_with_duplicate_packages' },
  { path: 'librepo/repo_yum_01' },
  { path: 'librepo/repo_yum_02' },
  { path: 'librepo/repo_yum_03' },
  { path: 'libdnf/modules_all_x86_64' },
  // dnf enables only modules of its own architecture: ask it as a machine of that architecture.
  { path: 'libdnf/modules_all_i686', dnf: ['--forcearch=i686'] },
  { path: 'libdnf/modules_all_s390x', dnf: ['--forcearch=s390x'] },
  { path: 'libdnf/hawkey_yum' },
  { path: 'dnf5/repomd-repo1' },
  { path: 'ci-dnf-stack/zstd-compressed-repodata' },
  { path: 'osbuild/custom' },
  { path: 'derived/libdnf-modules_all_x86_64-gz' },
  { path: 'derived/libdnf-modules_all_x86_64-xz' },
  { path: 'derived/libdnf-modules_all_x86_64-bz2' },
  { path: 'derived/libdnf-modules_all_x86_64-zst' },
  { path: 'derived/libdnf-modules_all_x86_64-none' },
  { path: 'derived/libdnf-modules_all_x86_64-zst-sha512' },
  { path: 'osbuild/cs9-baseos-2022', sample: 12 },
  {
    path: 'osbuild/cs9-appstream-2025',
    sample: 12,
    // Names with module builds beside the default ones, tildes, carets and large epochs.
    names: [
      'postgresql.x86_64',
      'nodejs.x86_64',
      'mariadb.x86_64',
      'maven.noarch',
      'php.x86_64',
      'ruby.x86_64',
      'dotnet-sdk-9.0.x86_64',
      'passt.x86_64',
      'bind.x86_64',
      'qemu-kvm.x86_64',
      'tcpdump.x86_64',
    ],
  },
];

const runtime = testRuntime();
afterAll(() => runtime.close());

const latest = async (url: string, pkg: Record<string, string>) =>
  nevra(await runtime.host.latestRevision('yum', { REPO_URL: url }, pkg));

function streamOf(line: string): string {
  // name-epoch:version-release.arch → name.arch
  const arch = line.slice(line.lastIndexOf('.') + 1);
  const name = line.replace(/-\d+:[^-]+-[^-]+$/, '');
  return `${name}.${arch}`;
}

describe('yum plugin on the shared repodata fixtures', () => {
  it.each(REPOS)(
    '$path: newest per name.arch equals dnf',
    async ({ path, sample, names, dnf }) => {
      const url = fixtureUrl(path);
      const oracle = (await dnfLatest(url, '*', dnf)).filter((l) => !l.endsWith('.src'));
      expect(oracle.length, `dnf lists nothing in ${path}`).toBeGreaterThan(0);
      const byStream = new Map(oracle.map((l) => [streamOf(l), l]));
      let streams = [...byStream.keys()].sort();
      if (sample) streams = streams.filter((_, i) => i % Math.ceil(streams.length / sample) === 0);
      for (const name of names ?? []) {
        expect(byStream.has(name), `${name} is in dnf's list`).toBe(true);
        streams.push(name);
      }
      for (const stream of streams) {
        expect(await latest(url, { PACKAGE_SPEC: stream }), stream).toBe(byStream.get(stream));
      }
    },
    120_000,
  );

  it('hides modular builds as dnf does, and shows them on request', async () => {
    const url = fixtureUrl('osbuild/cs9-appstream-2025');
    expect(await latest(url, { PACKAGE_SPEC: 'postgresql.x86_64' })).toBe(
      'postgresql-0:13.18-1.el9.x86_64',
    );
    // dnf with module filtering off (module_hotfixes) is the oracle for INCLUDE_MODULAR.
    for (const name of ['postgresql.x86_64', 'nodejs.x86_64', 'mariadb.x86_64']) {
      const [unfiltered] = await dnfLatest(url, name, ['--setopt=*.module_hotfixes=1']);
      expect(unfiltered, name).toMatch(/\.module_el9\+/);
      expect(await latest(url, { PACKAGE_SPEC: name, INCLUDE_MODULAR: 'true' }), name).toBe(
        unfiltered,
      );
    }
  }, 60_000);

  it('applies default module streams the way dnf does (libdnf modules fixture)', async () => {
    const url = fixtureUrl('libdnf/modules_all_x86_64');
    // httpd:2.4 is the default stream: its builds are visible, httpd 2.2 (another stream) is not.
    expect(await latest(url, { PACKAGE_SPEC: 'httpd.x86_64' })).toBe('httpd-0:2.4.25-8.x86_64');
    expect(await latest(url, { PACKAGE_SPEC: 'httpd-2.2*' })).toBeUndefined();
    expect(await latest(url, { PACKAGE_SPEC: 'httpd-2.2*', INCLUDE_MODULAR: 'true' })).toBe(
      'httpd-0:2.2.15-59.x86_64',
    );
  });

  it('reports a primary whose checksum does not match repomd.xml', async () => {
    const error = await runtime.host
      .latestRevision(
        'yum',
        { REPO_URL: fixtureUrl('createrepo_c/repo_01') },
        { PACKAGE_SPEC: '*' },
      )
      .catch((e) => e);
    expect(error.code).toBe('ERR_REPOSITORY_CHECKSUM');
    expect(error.message).toMatch(
      /primary\.xml\.gz does not match its sha256 checksum in repomd\.xml/,
    );
  });

  it('answers null for an empty repository (repo_03, zchunk records ignored)', async () => {
    expect(await latest(fixtureUrl('createrepo_c/repo_03'), { PACKAGE_SPEC: '*' })).toBeUndefined();
  });

  it('excludes source packages unless asked for them', async () => {
    const url = fixtureUrl('librepo/yum_mock_04_srpm');
    const [srpm] = await dnfLatest(url, '*');
    expect(srpm).toMatch(/\.src$/);
    const name = srpm!.replace(/-\d+:[^-]+-[^-]+$/, '');
    expect(await latest(url, { PACKAGE_SPEC: name })).toBeUndefined();
    expect(await latest(url, { PACKAGE_SPEC: `${name}.src` })).toBe(srpm);
    expect(await latest(url, { PACKAGE_SPEC: name, ARCH: 'src' })).toBe(srpm);
  });

  it('resolves package locations against xml:base, falling back when it is not a URL', async () => {
    const dnf5 = await runtime.host
      .latestRevisionsSince(
        'yum',
        { REPO_URL: fixtureUrl('dnf5/repomd-repo1') },
        { PACKAGE_SPEC: '*', ARCH: 'x86_64,noarch' },
        {
          revision: 'x',
          timestamp: new Date(0).toISOString(),
          data: { EPOCH: '0', VERSION: '0', RELEASE: '0' },
        },
      )
      .catch((e) => e);
    // Several packages: the spec is ambiguous, and says which.
    expect(dnf5.code).toBe('ERR_PACKAGE_AMBIGUOUS');
    const hawkey = await runtime.host.latestRevision(
      'yum',
      { REPO_URL: fixtureUrl('libdnf/hawkey_yum') },
      { PACKAGE_SPEC: 'tour' },
    );
    expect(hawkey?.data.LOCATION?.startsWith(`${fixtureUrl('libdnf/hawkey_yum')}/`)).toBe(true);
  });

  it('keeps the xml:base of a package that names another server', async () => {
    const url = fixtureUrl('dnf5/repomd-repo1');
    const oracle = await dnfLatest(url, '*');
    const located: string[] = [];
    for (const line of oracle) {
      const revision = await runtime.host.latestRevision(
        'yum',
        { REPO_URL: url },
        { PACKAGE_SPEC: streamOf(line) },
      );
      located.push(revision?.data.LOCATION ?? '');
    }
    expect(located.some((l) => l.startsWith('http://example.com/'))).toBe(true);
    expect(located.some((l) => l.startsWith(`${url}/`))).toBe(true);
  });

  it('finds every fixture it needs', () => {
    expect(fixturePath('osbuild/cs9-appstream-2025')).toContain('cs9');
  });
});
