import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Configuration } from 'hoist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DebSpec,
  makeSigningKey,
  PrivateApt,
  type SigningKey,
  writeDistRepo,
  writeFlatRepo,
} from './helpers/deb-repo.ts';
import { createMemoryState, testRuntime } from './helpers/host.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Repositories built with dpkg-deb, apt-ftparchive and gpg, served on loopback HTTP; for every
 * package the apt plugin must name the version apt's `apt-cache policy` names as candidate, at the
 * URI `apt-get download --print-uris` prints, with that file's SHA256.
 */
const DIST: DebSpec[] = [
  { name: 'app', version: '1.0-1', arch: 'amd64' },
  { name: 'app', version: '1.0-2', arch: 'amd64' },
  { name: 'app', version: '1:0.5-1', arch: 'amd64' },
  { name: 'app', version: '1.0-1', arch: 'arm64' },
  { name: 'app', version: '2.0-1', arch: 'arm64' },
  { name: 'snap', version: '2.0~beta2-1' },
  { name: 'snap', version: '2.0~beta10-1' },
  { name: 'snap', version: '1.9-1' },
  { name: 'tool', version: '1.0-1' },
  { name: 'tool', version: '1.1-1', component: 'contrib' },
  { name: 'dup', version: '3.0-1', payload: 'built in main' },
  { name: 'dup', version: '3.0-1', component: 'contrib', payload: 'built in contrib' },
  { name: 'mixed', version: '0.9-1' },
  { name: 'mixed', version: '1.0-1', arch: 'amd64', homepage: 'https://example.org/mixed' },
  { name: 'onlyarm', version: '1.0', arch: 'arm64' },
];
const GZ: DebSpec[] = [
  { name: 'gzonly', version: '1.0' },
  { name: 'gzonly', version: '1.0+b1' },
  { name: 'gzonly', version: '1.0~b1' },
];
const FLAT: DebSpec[] = [
  { name: 'flat', version: '1.0~rc1' },
  { name: 'flat', version: '1.0' },
  { name: 'flat', version: '1.0+git1' },
  { name: 'other', version: '0.1-1', arch: 'amd64' },
];

interface Served {
  dir: string;
  server: StaticServer;
}

describe('apt plugin against apt', () => {
  const runtime = testRuntime();
  const repos = new Map<
    'dist' | 'gz' | 'flat' | 'tampered' | 'detached' | 'xz' | 'zst' | 'bz2',
    Served
  >();
  const apts = new Map<string, PrivateApt>();
  let key: SigningKey;
  let stranger: SigningKey;
  let keyring: string;

  beforeAll(async () => {
    [key, stranger] = await Promise.all([makeSigningKey(), makeSigningKey('Someone Else')]);
    const serve = async (
      name: 'dist' | 'gz' | 'flat' | 'xz' | 'zst' | 'bz2',
      write: (dir: string) => Promise<unknown>,
    ) => {
      const dir = mkdtempSync(join(tmpdir(), `hoist-apt-${name}-`));
      await write(dir);
      repos.set(name, { dir, server: await serveDirectory(dir) });
    };
    await serve('dist', (dir) =>
      writeDistRepo(dir, DIST, {
        distribution: 'bookworm',
        architectures: ['amd64', 'arm64'],
        compressions: ['xz', 'gz'],
        key,
        acquireByHash: true,
      }),
    );
    await serve('gz', (dir) =>
      writeDistRepo(dir, GZ, {
        distribution: 'stable',
        architectures: ['amd64'],
        compressions: ['gz'],
        key,
      }),
    );
    await serve('flat', (dir) => writeFlatRepo(dir, FLAT, {}));
    for (const compression of ['xz', 'zst', 'bz2'] as const) {
      await serve(compression, (dir) =>
        writeDistRepo(dir, GZ, {
          distribution: 'stable',
          architectures: ['amd64'],
          compressions: [compression],
        }),
      );
    }
    // The gz repository with its Packages changed after the Release was signed.
    const tampered = mkdtempSync(join(tmpdir(), 'hoist-apt-tampered-'));
    cpSync(repos.get('gz')!.dir, tampered, { recursive: true });
    const index = join(tampered, 'dists/stable/main/binary-amd64/Packages.gz');
    const text = gunzipSync(readFileSync(index)).toString('utf8');
    writeFileSync(index, gzipSync(text.replace('Version: 1.0+b1', 'Version: 9.9')));
    repos.set('tampered', { dir: tampered, server: await serveDirectory(tampered) });
    // The gz repository with Release and Release.gpg only, as older archives publish.
    const detached = mkdtempSync(join(tmpdir(), 'hoist-apt-detached-'));
    cpSync(repos.get('gz')!.dir, detached, { recursive: true });
    rmSync(join(detached, 'dists/stable/InRelease'));
    repos.set('detached', { dir: detached, server: await serveDirectory(detached) });

    keyring = join(repos.get('dist')!.dir, 'archive-keyring.gpg');
    writeFileSync(keyring, execFileSync('gpg', ['--homedir', key.home, '--export']));
    writeFileSync(join(repos.get('dist')!.dir, 'archive-key.asc'), key.armored);
    const line = (name: string, options: string, suite: string) =>
      `deb [${options}] ${repos.get(name as 'dist')!.server.url} ${suite}`;
    const setUp = async (id: string, source: string, arches?: string[]) => {
      const apt = new PrivateApt(source, arches);
      apts.set(id, apt);
      await apt.update();
    };
    await setUp('dist', line('dist', `signed-by=${keyring}`, 'bookworm main contrib'), [
      'amd64',
      'arm64',
    ]);
    await setUp('dist-arm64', line('dist', `signed-by=${keyring}`, 'bookworm main contrib'), [
      'arm64',
      'amd64',
    ]);
    await setUp('gz', line('gz', `signed-by=${keyring}`, 'stable main'));
    await setUp('flat', line('flat', 'trusted=yes', './'));
    await setUp('xz', line('xz', 'trusted=yes', 'stable main'));
    await setUp('zst', line('zst', 'trusted=yes', 'stable main'));
    await setUp('bz2', line('bz2', 'trusted=yes', 'stable main'));
  }, 300_000);

  afterAll(async () => {
    for (const { dir, server } of repos.values()) {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    for (const apt of apts.values()) apt.close();
    await Promise.all([key?.close(), stranger?.close()]);
    await runtime.close();
  });

  const config = (
    name: 'dist' | 'gz' | 'flat' | 'tampered' | 'detached' | 'xz' | 'zst' | 'bz2',
    extra: Configuration = {},
  ) => {
    const served = repos.get(name)!;
    const base: Configuration =
      name === 'flat'
        ? { REPO_URL: served.server.url, DISTRIBUTION: './' }
        : name === 'dist'
          ? { REPO_URL: served.server.url, DISTRIBUTION: 'bookworm', COMPONENTS: 'main contrib' }
          : { REPO_URL: served.server.url, DISTRIBUTION: 'stable' };
    return { ...base, ...extra };
  };

  /** Hoist's answer and apt's for one package. */
  async function both(aptId: string, repo: Configuration, name: string, root: string) {
    const revision = await runtime.host.latestRevision('apt', repo, { PACKAGE: name });
    const apt = await apts.get(aptId)!.answer(name);
    // apt quotes ~ and + in the URIs it prints and keeps ./ in them; both name the same file.
    const uri = apt.uri && new URL(decodeURIComponent(apt.uri)).href;
    const file = uri ? join(root, new URL(uri).pathname) : undefined;
    const sha256 = file ? createHash('sha256').update(readFileSync(file)).digest('hex') : undefined;
    return {
      hoist: revision && {
        version: revision.data.VERSION,
        uri: revision.data.LOCATION,
        sha256: revision.data.SHA256,
      },
      apt: apt.candidate ? { version: apt.candidate, uri, sha256 } : null,
    };
  }

  it.each(['app', 'snap', 'tool', 'dup', 'mixed', 'onlyarm'])(
    '%s: same candidate, URI and SHA256 as apt (signed, xz and gz, by-hash, two components, amd64 native)',
    async (name) => {
      const { hoist, apt } = await both(
        'dist',
        config('dist', { SIGNED_BY: keyring }),
        name,
        repos.get('dist')!.dir,
      );
      expect(apt, `apt has no candidate for ${name}`).not.toBeNull();
      expect(hoist).toEqual(apt);
    },
  );

  it.each(['app', 'mixed', 'snap'])('%s: same as apt with arm64 native', async (name) => {
    const repo = config('dist', { SIGNED_BY: key.armored, ARCH: 'arm64,amd64,all' });
    const { hoist, apt } = await both('dist-arm64', repo, name, repos.get('dist')!.dir);
    expect(hoist).toEqual(apt);
  });

  it('gz-only indexes and a flat repository: same as apt', async () => {
    const gz = await both(
      'gz',
      config('gz', { SIGNED_BY: keyring }),
      'gzonly',
      repos.get('gz')!.dir,
    );
    expect(gz.hoist).toEqual(gz.apt);
    expect(gz.hoist?.version).toBe('1.0+b1');
    for (const name of ['flat', 'other']) {
      const flat = await both('flat', config('flat'), name, repos.get('flat')!.dir);
      expect(flat.hoist, name).toEqual(flat.apt);
    }
  });

  it.each(['xz', 'zst', 'bz2'] as const)('%s-only indexes: same as apt', async (compression) => {
    const { hoist, apt } = await both(
      compression,
      config(compression),
      'gzonly',
      repos.get(compression)!.dir,
    );
    expect(hoist).toEqual(apt);
    expect(hoist?.version).toBe('1.0+b1');
  });

  it('reports epochs, ~ and the fields of the revision', async () => {
    const repo = config('dist', { SIGNED_BY: keyring });
    const app = await runtime.host.latestRevision('apt', repo, { PACKAGE: 'app' });
    expect(app?.revision).toBe('app_1:0.5-1_amd64');
    expect(app?.data).toMatchObject({
      NAME: 'app',
      ARCH: 'amd64',
      SOURCE: 'app',
      SECTION: 'utils',
    });
    expect(app?.user).toBe('Test Maintainer <test@example.org>');
    expect(app?.comment).toBe('Test package app');
    const mixed = await runtime.host.latestRevision('apt', repo, { PACKAGE: 'mixed' });
    expect(mixed?.trackbackUrl).toBe('https://example.org/mixed');
    const constrained = await runtime.host.latestRevision('apt', repo, {
      PACKAGE: 'snap',
      VERSION_CONSTRAINT: '<< 2.0~beta10',
    });
    expect(constrained?.data.VERSION).toBe('2.0~beta2-1');
    const since = await runtime.host.latestRevisionsSince(
      'apt',
      repo,
      { PACKAGE: 'app' },
      {
        revision: 'app_1.0-1_amd64',
        timestamp: new Date(0).toISOString(),
        data: {},
      },
    );
    expect(since.map((r) => r.revision)).toEqual(['app_1.0-2_amd64', 'app_1:0.5-1_amd64']);
  });

  it('fetches indexes by hash, and reuses the answer while the Release is unchanged', async () => {
    const { server } = repos.get('dist')!;
    const state = createMemoryState();
    const repo = config('dist', { SIGNED_BY: keyring });
    const start = server.requests.length;
    await runtime.host.latestRevision('apt', repo, { PACKAGE: 'app' }, { state });
    const before = server.requests.length;
    // Acquire-By-Hash: indexes come from by-hash/ under their strongest hash, as apt asks for them.
    const indexes = server.requests
      .slice(start, before)
      .map((r) => r.path)
      .filter((p) => p !== '/dists/bookworm/InRelease');
    expect(indexes, indexes.join(' ')).toHaveLength(4);
    for (const path of indexes)
      expect(path).toMatch(
        /^\/dists\/bookworm\/(main|contrib)\/binary-(amd64|arm64)\/by-hash\/SHA512\/[0-9a-f]{128}$/,
      );
    const again = await runtime.host.latestRevision('apt', repo, { PACKAGE: 'app' }, { state });
    expect(again?.revision).toBe('app_1:0.5-1_amd64');
    const paths = server.requests.slice(before).map((r) => r.path);
    expect(paths).toEqual(['/dists/bookworm/InRelease']);
    expect(server.requests.at(-1)?.headers['if-none-match']).toBeDefined();
  });

  it('refuses a signature by another key, as apt does', async () => {
    const repo = config('dist', { SIGNED_BY: stranger.armored });
    await expect(runtime.host.latestRevision('apt', repo, { PACKAGE: 'app' })).rejects.toThrow(
      /InRelease is not signed by a key of SIGNED_BY/,
    );
    const apt = new PrivateApt(
      `deb [signed-by=${join(repos.get('dist')!.dir, 'archive-key.asc')}x] ${repos.get('dist')!.server.url} bookworm main`,
    );
    try {
      writeFileSync(`${join(repos.get('dist')!.dir, 'archive-key.asc')}x`, stranger.armored);
      const output = await apt
        .update()
        .catch((e: { stdout: string; stderr: string }) => `${e.stdout}${e.stderr}`);
      expect(output).toMatch(/NO_PUBKEY|not signed/);
    } finally {
      apt.close();
    }
  });

  it('refuses a tampered Packages index, as apt does', async () => {
    const repo = config('tampered', { SIGNED_BY: keyring });
    await expect(runtime.host.latestRevision('apt', repo, { PACKAGE: 'gzonly' })).rejects.toThrow(
      /Packages.gz does not match its sha(256|512) checksum/,
    );
    const apt = new PrivateApt(
      `deb [signed-by=${keyring}] ${repos.get('tampered')!.server.url} stable main`,
    );
    try {
      const output = await apt
        .update()
        .catch((e: { stdout: string; stderr: string }) => `${e.stdout}${e.stderr}`);
      expect(output).toMatch(/Hash Sum mismatch|File has unexpected size/);
    } finally {
      apt.close();
    }
  });

  it('verifies Release against Release.gpg when there is no InRelease', async () => {
    const { server } = repos.get('detached')!;
    const repo = { ...config('detached'), SIGNED_BY: keyring };
    expect((await runtime.host.latestRevision('apt', repo, { PACKAGE: 'gzonly' }))?.revision).toBe(
      'gzonly_1.0+b1_all',
    );
    expect(server.requests.map((r) => r.path).slice(0, 3)).toEqual([
      '/dists/stable/InRelease',
      '/dists/stable/Release',
      '/dists/stable/Release.gpg',
    ]);
    const other = { ...repo, SIGNED_BY: stranger.armored };
    await expect(runtime.host.latestRevision('apt', other, { PACKAGE: 'gzonly' })).rejects.toThrow(
      /Release is not signed by a key of SIGNED_BY/,
    );
  });

  it('refuses an unsigned repository when SIGNED_BY is set, and a missing keyring', async () => {
    await expect(
      runtime.host.latestRevision('apt', config('flat', { SIGNED_BY: keyring }), {
        PACKAGE: 'flat',
      }),
    ).rejects.toThrow(/Release is not signed \(no InRelease, no Release.gpg\)/);
    await expect(
      runtime.host.latestRevision('apt', config('dist', { SIGNED_BY: '/no/such/keyring.gpg' }), {
        PACKAGE: 'app',
      }),
    ).rejects.toThrow(/SIGNED_BY: cannot read the keyring file \/no\/such\/keyring.gpg/);
  });

  it('names the packages a glob matches when it matches several', async () => {
    await expect(
      runtime.host.latestRevision('apt', config('dist'), { PACKAGE: '*p*' }),
    ).rejects.toThrow(/matches more than one package: app, dup, snap/);
  });
});
