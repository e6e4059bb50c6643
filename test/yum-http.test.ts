import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath } from './helpers/fixtures.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import { testRuntime } from './helpers/host.ts';
import { serveDirectory } from './helpers/static-server.ts';
import { requireTool } from './helpers/tools.ts';

const runtime = testRuntime();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await runtime.close();
});

async function serve(dir: string, options: Parameters<typeof serveDirectory>[1] = {}) {
  const server = await serveDirectory(dir, options);
  cleanups.push(
    () => server.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return server;
}

const check = (repo: Record<string, string>, spec = 'app') =>
  runtime.host.latestRevision('yum', repo, { PACKAGE_SPEC: spec }).catch((e) => e);

describe('yum plugin over HTTP: failures are clear and contained', () => {
  it('uses basic auth, and keeps the password out of every revision field', async () => {
    const password = 's3cr3t/p@ss';
    const server = await serve(handmadeRepo([{ name: 'app', version: '1.0' }]), {
      auth: { username: 'ci', password },
    });
    const refused = await check({ REPO_URL: server.url });
    expect(refused.code).toBe('ERR_REPOSITORY_AUTH');
    expect(refused.message).toBe(
      `Authentication refused for ${server.url}/repodata/repomd.xml (HTTP 401); check USERNAME and PASSWORD`,
    );
    const revision = await check({ REPO_URL: server.url, USERNAME: 'ci', PASSWORD: password });
    expect(revision.revision).toBe('app-1.0-1.noarch');
    const text = JSON.stringify(revision);
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
    expect(revision.data.LOCATION).toBe(`${server.url}/Packages/app-1.0-1.noarch.rpm`);
  });

  it('reports error statuses with the Retry-After the repository asked for', async () => {
    const server = await serve(handmadeRepo([]), {
      intercept: (_req, res) => {
        res.writeHead(503, { 'retry-after': '120' }).end('busy');
        return true;
      },
    });
    const error = await check({ REPO_URL: server.url });
    expect(error).toMatchObject({
      code: 'ERR_REPOSITORY_UNREACHABLE',
      reason: 'status',
      status: 503,
      retryAfterMs: 120_000,
    });
    expect(error.message).toBe(`Could not fetch ${server.url}/repodata/repomd.xml: HTTP 503`);
  });

  it('refuses redirects to file: and redirect loops', async () => {
    const toFile = await serve(handmadeRepo([]), {
      intercept: (_req, res) => {
        res.writeHead(302, { location: 'file:///etc/passwd' }).end();
        return true;
      },
    });
    expect((await check({ REPO_URL: toFile.url })).message).toBe(
      `Refused a redirect from ${toFile.url}/repodata/repomd.xml to a file: URL`,
    );
    const loop = await serve(handmadeRepo([]), {
      intercept: (req, res) => {
        res.writeHead(301, { location: req.url ?? '/' }).end();
        return true;
      },
    });
    expect((await check({ REPO_URL: loop.url })).message).toMatch(
      /^Too many redirects \(more than 5\)/,
    );
  });

  it('follows redirects but never sends credentials to another origin', async () => {
    const target = await serve(handmadeRepo([{ name: 'app', version: '2.0' }]));
    const front = await serve(handmadeRepo([]), {
      intercept: (req, res) => {
        res.writeHead(302, { location: `${target.url}${req.url}` }).end();
        return true;
      },
    });
    const revision = await check({ REPO_URL: front.url, USERNAME: 'ci', PASSWORD: 'pw' });
    expect(revision.revision).toBe('app-2.0-1.noarch');
    expect(front.requests[0]?.headers.authorization).toMatch(/^Basic /);
    expect(target.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('gives up on a repository that stops answering, within its TIMEOUT', async () => {
    const server = await serve(handmadeRepo([]), { intercept: () => true });
    const started = Date.now();
    const error = await check({ REPO_URL: server.url, TIMEOUT: '1' });
    expect(error).toMatchObject({ code: 'ERR_REPOSITORY_UNREACHABLE', reason: 'timeout' });
    expect(error.message).toMatch(
      /^Timed out reaching http:\/\/127\.0\.0\.1:\d+\/repodata\/repomd\.xml/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops a gzip bomb at the declared open-size, in bounded memory', async () => {
    const bomb = gzipSync(Buffer.alloc(256 << 20, 0x20), { level: 9 });
    const server = await serve(handmadeRepo([], { primaryBytes: bomb, openSize: 4096 }));
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const error = await check({ REPO_URL: server.url });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toMatch(
      /inflates past \d+ bytes \(declared open-size 4096\); refused as a decompression bomb/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('refuses a primary that does not match its checksum, and garbage', async () => {
    const tampered = await serve(
      handmadeRepo([{ name: 'app', version: '1.0' }], { checksum: 'a'.repeat(64) }),
    );
    const mismatch = await check({ REPO_URL: tampered.url });
    expect(mismatch.code).toBe('ERR_REPOSITORY_CHECKSUM');
    const garbage = await serve(
      handmadeRepo([], { primaryBytes: Buffer.from('<<<<not xml at all') }),
    );
    const bad = await check({ REPO_URL: garbage.url });
    expect(bad.code).toBe('ERR_REPOSITORY_METADATA');
    expect(bad.message).toMatch(/primary\.xml\.gz is malformed: /);
    const badGzip = await serve(
      handmadeRepo([], {
        primaryBytes: Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(64, 7)]),
      }),
    );
    expect((await check({ REPO_URL: badGzip.url })).message).toMatch(
      /could not be decompressed as gzip/,
    );
  });

  it('answers a repomd.xml that is not one with a metadata error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-html-'));
    cpSync(handmadeRepo([]), dir, { recursive: true });
    writeFileSync(
      join(dir, 'repodata', 'repomd.xml'),
      '<html><body>Welcome to nginx!</body></html>',
    );
    const server = await serve(dir);
    const error = await check({ REPO_URL: server.url });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${server.url}/repodata/repomd.xml is malformed: Root element is <html>, expected <repomd> at byte 6`,
    );
  });

  it('verifies repomd.xml against a metalink, with mirror fallback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-metalink-'));
    cpSync(fixturePath('librepo/repo_yum_01'), dir, { recursive: true });
    const server = await serve(dir);
    // The first mirror has no repository; the second has the one the metalink's hashes describe.
    const metalink = readFileSync(join(dir, 'metalink.xml'), 'utf8').replace(
      /<url protocol="http"([^>]*)>[^<]+<\/url>/,
      `<url protocol="http" preference="100">${server.url}/missing/repodata/repomd.xml</url>` +
        `<url protocol="http" preference="50">${server.url}/repodata/repomd.xml</url>`,
    );
    writeFileSync(join(dir, 'good-metalink.xml'), metalink);
    const revision = await check({ METALINK: `${server.url}/good-metalink.xml` }, 'filesystem');
    expect(revision.revision).toBe('filesystem-2.4.44-1.fc16.i686');
    expect(server.requests.map((r) => r.path)).toContain('/missing/repodata/repomd.xml');
    const tampered = metalink
      .replace(/<hash type="sha256">[0-9a-f]+/, `<hash type="sha256">${'0'.repeat(64)}`)
      .replace(/<hash type="sha512">[0-9a-f]+/, `<hash type="sha512">${'0'.repeat(128)}`);
    writeFileSync(join(dir, 'bad-metalink.xml'), tampered);
    const refused = await check({ METALINK: `${server.url}/bad-metalink.xml` }, 'filesystem');
    expect(refused.code).toBe('ERR_REPOSITORY_CHECKSUM');
    expect(refused.message).toMatch(/repomd\.xml does not match its sha512 checksum/);
  });

  it('falls back along a mirror list', async () => {
    const good = await serve(handmadeRepo([{ name: 'app', version: '3.0' }]));
    const dir = mkdtempSync(join(tmpdir(), 'hoist-mirrorlist-'));
    writeFileSync(join(dir, 'mirrorlist'), `# mirrors\nhttp://127.0.0.1:9/dead/\n  ${good.url}/\n`);
    const list = await serve(dir);
    expect((await check({ MIRRORLIST: `${list.url}/mirrorlist` })).revision).toBe(
      'app-3.0-1.noarch',
    );
  });

  it('speaks TLS: refuses an unknown certificate, accepts it with CA_CERT or TLS_VERIFY=false', async () => {
    requireTool('openssl', 'Debian package openssl');
    const dir = mkdtempSync(join(tmpdir(), 'hoist-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const repo = handmadeRepo([{ name: 'app', version: '4.0' }]);
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        try {
          res.end(readFileSync(join(repo, decodeURIComponent(req.url ?? '/'))));
        } catch {
          res.writeHead(404).end();
        }
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const refused = await check({ REPO_URL: url });
    expect(refused).toMatchObject({ code: 'ERR_REPOSITORY_UNREACHABLE', reason: 'tls' });
    expect(refused.message).toMatch(
      /^TLS failure reaching https:\/\/127\.0\.0\.1:\d+\/repodata\/repomd\.xml: /,
    );
    expect((await check({ REPO_URL: url, CA_CERT: join(dir, 'cert.pem') })).revision).toBe(
      'app-4.0-1.noarch',
    );
    expect(
      (await check({ REPO_URL: url, CA_CERT: readFileSync(join(dir, 'cert.pem'), 'utf8') }))
        .revision,
    ).toBe('app-4.0-1.noarch');
    expect((await check({ REPO_URL: url, TLS_VERIFY: 'false' })).revision).toBe('app-4.0-1.noarch');
  });
});
