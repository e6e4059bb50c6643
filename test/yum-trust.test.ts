import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Material } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { testRuntime } from './helpers/host.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';
import { requireTool } from './helpers/tools.ts';

// A repository that needs credentials (the configured origin) whose metadata points at a
// second loopback origin (another port) or at local files. Credentials must reach only the
// first; local files must never be read on the say-so of metadata from the network.

const USER = { username: 'ci', password: 'p4ss-w0rd' };
const BASIC = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
const runtime = testRuntime();
const cleanups: (() => Promise<void> | void)[] = [];
let template = '';

beforeAll(async () => {
  template = tempRepoDir('hoist-trust-template-');
  cleanups.push(() => rmSync(template, { recursive: true, force: true }));
  await buildRpms(join(template, 'Packages'), [{ name: 'app', version: '1.0' }]);
  await createrepo(template);
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await runtime.close();
});

/** A copy of the createrepo_c repository, removed after the suite. */
function repoCopy(): string {
  const dir = tempRepoDir('hoist-trust-');
  cpSync(template, dir, { recursive: true });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(dir: string, options: Parameters<typeof serveDirectory>[1] = {}) {
  const server = await serveDirectory(dir, options);
  cleanups.push(() => server.close());
  return server;
}

function repomdPath(dir: string) {
  return join(dir, 'repodata', 'repomd.xml');
}

function editRepomd(dir: string, edit: (xml: string) => string): void {
  const xml = readFileSync(repomdPath(dir), 'utf8');
  const edited = edit(xml);
  if (edited === xml) throw new Error('the repomd.xml edit changed nothing');
  writeFileSync(repomdPath(dir), edited);
}

function primaryHref(dir: string): string {
  const xml = readFileSync(repomdPath(dir), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location [^>]*href="([^"]+)"/.exec(xml)?.[1];
  if (!href) throw new Error('no primary record');
  return href;
}

/** Sets the primary record's `<location>` element. */
function setPrimaryLocation(dir: string, location: string): void {
  editRepomd(dir, (xml) =>
    xml.replace(
      /(<data type="primary">[\s\S]*?)<location [^>]*\/>/,
      (_all, head: string) => `${head}${location}`,
    ),
  );
}

/** Rewrites primary.xml and its checksums in repomd.xml, as a hostile repository would. */
function editPrimary(dir: string, edit: (xml: string) => string): void {
  const file = join(dir, primaryHref(dir));
  const xml = gunzipSync(readFileSync(file)).toString('utf8');
  const edited = edit(xml);
  if (edited === xml) throw new Error('the primary.xml edit changed nothing');
  const gz = gzipSync(edited);
  writeFileSync(file, gz);
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  editRepomd(dir, (repomd) =>
    repomd.replace(/<data type="primary">[\s\S]*?<\/data>/, (record) =>
      record
        .replace(/<checksum type="sha256">\w+</, `<checksum type="sha256">${sha(gz)}<`)
        .replace(
          /<open-checksum type="sha256">\w+</,
          `<open-checksum type="sha256">${sha(Buffer.from(edited))}<`,
        )
        .replace(/<size>\d+</, `<size>${gz.length}<`)
        .replace(/<open-size>\d+</, `<open-size>${Buffer.byteLength(edited)}<`),
    ),
  );
}

function addRecord(dir: string, record: string): void {
  editRepomd(dir, (xml) => xml.replace('</repomd>', `${record}\n</repomd>`));
}

const latest = (repo: Record<string, string>) =>
  runtime.host.latestRevision('yum', repo, { PACKAGE_SPEC: 'app' }).catch((e) => e);

const withAuth = (url: string) => ({ REPO_URL: url, ...userConfig });
const userConfig = { USERNAME: USER.username, PASSWORD: USER.password };

/** The configured origin saw the credentials on every request; the other never did. */
function expectCredentialsOnlyAtOrigin(configured: StaticServer, other: StaticServer) {
  expect(configured.requests.length).toBeGreaterThan(0);
  expect(configured.requests.every((r) => r.headers.authorization === BASIC)).toBe(true);
  expect(other.requests.length).toBeGreaterThan(0);
  expect(other.requests.map((r) => r.headers.authorization)).toEqual(
    other.requests.map(() => undefined),
  );
}

/** A file outside every repository, standing for a secret on the server's disk. */
function secretFile(): { path: string; sha256: string } {
  const dir = tempRepoDir('hoist-trust-secret-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signing.key');
  const content = 'SECRET KEY MATERIAL\n';
  writeFileSync(path, content);
  return { path, sha256: createHash('sha256').update(content).digest('hex') };
}

describe('yum plugin: credentials go only to the configured origin', () => {
  it('fetches a primary.xml named at another origin by <location href> without them', async () => {
    const dir = repoCopy();
    const other = await serve(repoCopy());
    const href = primaryHref(dir);
    setPrimaryLocation(dir, `<location href="${other.url}/${href}"/>`);
    const origin = await serve(dir, { auth: USER });
    const revision = await latest(withAuth(origin.url));
    expect(revision.revision).toBe('app-1.0-1.noarch');
    expect(origin.requests.map((r) => r.path)).toEqual(['/repodata/repomd.xml']);
    expect(other.requests.map((r) => r.path)).toEqual([`/${href}`]);
    expectCredentialsOnlyAtOrigin(origin, other);
  });

  it('fetches a primary.xml under an xml:base at another origin without them', async () => {
    const dir = repoCopy();
    const other = await serve(repoCopy());
    const href = primaryHref(dir);
    setPrimaryLocation(dir, `<location xml:base="${other.url}/" href="${href}"/>`);
    const origin = await serve(dir, { auth: USER });
    expect((await latest(withAuth(origin.url))).revision).toBe('app-1.0-1.noarch');
    expect(other.requests.map((r) => r.path)).toEqual([`/${href}`]);
    expectCredentialsOnlyAtOrigin(origin, other);
  });

  it('follows a redirect to another origin without them', async () => {
    const dir = repoCopy();
    const other = await serve(repoCopy());
    const href = primaryHref(dir);
    const origin = await serve(dir, {
      auth: USER,
      intercept: (req, res) => {
        if (!req.url?.includes('primary')) return false;
        res.writeHead(302, { location: `${other.url}${req.url}` }).end();
        return true;
      },
    });
    expect((await latest(withAuth(origin.url))).revision).toBe('app-1.0-1.noarch');
    expect(origin.requests.map((r) => r.path)).toEqual(['/repodata/repomd.xml', `/${href}`]);
    expectCredentialsOnlyAtOrigin(origin, other);
  });

  it('reads a mirror list with them, and the mirrors it names without them', async () => {
    const other = await serve(repoCopy());
    const lists = tempRepoDir('hoist-trust-list-');
    cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
    writeFileSync(join(lists, 'mirrorlist'), `# mirrors\n${other.url}/\n`);
    const origin = await serve(lists, { auth: USER });
    const revision = await latest({ MIRRORLIST: `${origin.url}/mirrorlist`, ...userConfig });
    expect(revision.revision).toBe('app-1.0-1.noarch');
    expect(revision.data.LOCATION).toBe(`${other.url}/Packages/app-1.0-1.noarch.rpm`);
    expectCredentialsOnlyAtOrigin(origin, other);
  });
});

describe('yum plugin: metadata from the network never names a local file', () => {
  it('refuses a repomd.xml href to a local file, without reading or hashing it', async () => {
    const dir = repoCopy();
    const secret = secretFile();
    const url = pathToFileURL(secret.path).href;
    setPrimaryLocation(dir, `<location href="${url}"/>`);
    const origin = await serve(dir, { auth: USER });
    const error = await latest(withAuth(origin.url));
    expect(error).toMatchObject({ code: 'ERR_REPOSITORY_METADATA' });
    expect(error.message).toBe(
      `${origin.url}/repodata/repomd.xml names ${url}; metadata read over the network may name only http and https URLs`,
    );
    expect(error.message).not.toContain(secret.sha256);
  });

  it('refuses an xml:base that moves repodata to local files', async () => {
    const dir = repoCopy();
    const secret = secretFile();
    const folder = pathToFileURL(join(secret.path, '..')).href;
    setPrimaryLocation(dir, `<location xml:base="${folder}/" href="signing.key"/>`);
    const origin = await serve(dir);
    const error = await latest({ REPO_URL: origin.url });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${origin.url}/repodata/repomd.xml names signing.key under xml:base ${folder}/ (${folder}/signing.key); metadata read over the network may name only http and https URLs`,
    );
    expect(error.message).not.toContain(secret.sha256);
  });

  it('refuses a modules record at file:///proc/self/environ', async () => {
    const dir = repoCopy();
    addRecord(
      dir,
      '<data type="modules"><location href="file:///proc/self/environ"/><size>10</size></data>',
    );
    const origin = await serve(dir);
    const error = await latest({ REPO_URL: origin.url });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${origin.url}/repodata/repomd.xml names file:///proc/self/environ; metadata read over the network may name only http and https URLs`,
    );
  });

  it('refuses a package href to a local file as its LOCATION; another web origin is fine', async () => {
    const dir = repoCopy();
    const origin = await serve(dir);
    const primaryUrl = `${origin.url}/${primaryHref(dir)}`;
    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location href="https://cdn.example.test/app.rpm"'),
    );
    const elsewhere = await latest({ REPO_URL: origin.url });
    expect(elsewhere.data.LOCATION).toBe('https://cdn.example.test/app.rpm');

    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location href="file:///etc/passwd"'),
    );
    const error = await latest({ REPO_URL: origin.url });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${primaryUrl} names file:///etc/passwd; metadata read over the network may name only http and https URLs`,
    );
  });

  it('keeps a package href that is a path, or under a file: xml:base, on the web server', async () => {
    const dir = repoCopy();
    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location href="/etc/passwd"'),
    );
    const origin = await serve(dir);
    expect((await latest({ REPO_URL: origin.url })).data.LOCATION).toBe(`${origin.url}/etc/passwd`);
    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location xml:base="file:///etc/" href="passwd"'),
    );
    expect((await latest({ REPO_URL: origin.url })).data.LOCATION).toBe(`${origin.url}/passwd`);
  });

  it('refuses a mirror list read over the network that names local folders', async () => {
    const local = repoCopy();
    const lists = tempRepoDir('hoist-trust-list-');
    cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
    const localUrl = pathToFileURL(local).href;
    writeFileSync(join(lists, 'file-url'), `${localUrl}\n`);
    writeFileSync(join(lists, 'path'), `${local}\n`);
    const server = await serve(lists);
    for (const [name, named] of [
      ['file-url', localUrl],
      ['path', `file://${local}`],
    ]) {
      const error = await latest({ MIRRORLIST: `${server.url}/${name}` });
      expect(error.code, name).toBe('ERR_REPOSITORY_METADATA');
      expect(error.message).toBe(
        `${server.url}/${name} names ${named}; metadata read over the network may name only http and https URLs`,
      );
    }
    // The operator's own local list may name local repositories.
    const localList = join(lists, 'path');
    expect((await latest({ MIRRORLIST: pathToFileURL(localList).href })).revision).toBe(
      'app-1.0-1.noarch',
    );
  });

  it('refuses a metalink read over the network whose mirror is a local folder', async () => {
    const local = repoCopy();
    const lists = tempRepoDir('hoist-trust-metalink-');
    cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
    const sha = createHash('sha256')
      .update(readFileSync(repomdPath(local)))
      .digest('hex');
    const localUrl = pathToFileURL(local).href;
    writeFileSync(
      join(lists, 'metalink'),
      `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
 <files><file name="repomd.xml"><verification><hash type="sha256">${sha}</hash></verification>
  <resources><url protocol="http" type="http" preference="100">${localUrl}/repodata/repomd.xml</url></resources>
 </file></files>
</metalink>`,
    );
    const server = await serve(lists);
    const error = await latest({ METALINK: `${server.url}/metalink` });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${server.url}/metalink names ${localUrl}; metadata read over the network may name only http and https URLs`,
    );
  });
});

describe('yum plugin: a local repository names files only inside its folder', () => {
  it('refuses a repomd.xml href that climbs out with ..', async () => {
    const dir = repoCopy();
    const secret = secretFile();
    const href = `../${'../'.repeat(8)}${secret.path.slice(1)}`;
    setPrimaryLocation(dir, `<location href="${href}"/>`);
    const error = await latest({ REPO_URL: pathToFileURL(dir).href });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${pathToFileURL(repomdPath(dir)).href} names ${href} (${pathToFileURL(secret.path).href}), outside the repository folder ${dir}/; refused`,
    );
    expect(error.message).not.toContain(secret.sha256);
  });

  it('refuses a package located outside the folder, keeps one inside', async () => {
    const dir = repoCopy();
    mkdirSync(join(dir, 'pool'));
    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location href="pool/../Packages/app.rpm"'),
    );
    const inside = await latest({ REPO_URL: pathToFileURL(dir).href });
    expect(inside.data.LOCATION).toBe(`${pathToFileURL(dir).href}/Packages/app.rpm`);
    editPrimary(dir, (xml) =>
      xml.replace(/<location href="[^"]+"/, '<location href="file:///etc/passwd"'),
    );
    const error = await latest({ REPO_URL: pathToFileURL(dir).href });
    expect(error.code).toBe('ERR_REPOSITORY_METADATA');
    expect(error.message).toBe(
      `${pathToFileURL(join(dir, primaryHref(dir))).href} names file:///etc/passwd, outside the repository folder ${dir}/; refused`,
    );
  });
});

interface TlsSeen {
  path: string;
  clientCert: boolean;
}

/** An https server over a folder that asks for (but does not demand) a client certificate. */
async function serveTls(
  dir: string,
  pem: { key: Buffer; cert: Buffer },
  redirect?: (path: string) => string | undefined,
) {
  const seen: TlsSeen[] = [];
  const server = createHttpsServer(
    { ...pem, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname);
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({ path, clientCert: Boolean(peer && Object.keys(peer).length > 0) });
      const target = redirect?.(path);
      if (target) {
        res.writeHead(302, { location: target }).end();
        return;
      }
      try {
        res.end(readFileSync(join(dir, path)));
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
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function selfSigned(dir: string, name: string, subject: string, san?: string) {
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
      subject,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.pem`),
    ],
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(join(dir, `${name}.key`)),
    cert: readFileSync(join(dir, `${name}.pem`)),
  };
}

describe('yum plugin: the client certificate goes only to the configured origin', () => {
  it('is not presented to another origin named by xml:base or reached by a redirect', async () => {
    requireTool('openssl', 'Debian package openssl');
    const pki = tempRepoDir('hoist-trust-pki-');
    cleanups.push(() => rmSync(pki, { recursive: true, force: true }));
    const serverPem = selfSigned(pki, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1');
    selfSigned(pki, 'client', '/CN=hoist-client');
    const other = await serveTls(repoCopy(), serverPem);
    const dir = repoCopy();
    const href = primaryHref(dir);
    setPrimaryLocation(dir, `<location xml:base="${other.url}/" href="${href}"/>`);
    const redirected = repoCopy();
    const origin = await serveTls(dir, serverPem);
    const bouncing = await serveTls(redirected, serverPem, (path) =>
      path.includes('primary') ? `${other.url}${path}` : undefined,
    );
    const tls = {
      TLS_VERIFY: 'false',
      CLIENT_CERT: join(pki, 'client.pem'),
      CLIENT_KEY: join(pki, 'client.key'),
    };
    expect((await latest({ REPO_URL: origin.url, ...tls })).revision).toBe('app-1.0-1.noarch');
    expect((await latest({ REPO_URL: bouncing.url, ...tls })).revision).toBe('app-1.0-1.noarch');
    expect(origin.seen).toEqual([{ path: '/repodata/repomd.xml', clientCert: true }]);
    expect(bouncing.seen).toEqual([
      { path: '/repodata/repomd.xml', clientCert: true },
      { path: `/${href}`, clientCert: true },
    ]);
    expect(other.seen).toEqual([
      { path: `/${href}`, clientCert: false },
      { path: `/${href}`, clientCert: false },
    ]);
  });
});

describe('hoist check: the same rules in the command', () => {
  it('sends --username credentials to the repository only, and refuses a local href', async () => {
    const dir = repoCopy();
    const other = await serve(repoCopy());
    const href = primaryHref(dir);
    setPrimaryLocation(dir, `<location xml:base="${other.url}/" href="${href}"/>`);
    const origin = await serve(dir, { auth: USER });
    const env = { TRUST_PASSWORD: USER.password };
    const args = ['--username', USER.username, '--password-env', 'TRUST_PASSWORD'];
    const ok = await runHoist(['check', origin.url, 'app', ...args], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('app-1.0-1.noarch');
    expectCredentialsOnlyAtOrigin(origin, other);

    setPrimaryLocation(dir, '<location href="file:///etc/passwd"/>');
    const refused = await runHoist(['check', origin.url, 'app', ...args], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(
        `${origin.url}/repodata/repomd.xml names file:///etc/passwd; metadata read over the network may name only http and https URLs`,
      ),
    ]);
  });
});

describe('hoist serve: what viewers see of a refused repository', () => {
  it('records the refusal of a local href, never the local file checksum, and sends no credentials away', async () => {
    const dir = repoCopy();
    const other = await serve(repoCopy());
    const secret = secretFile();
    const secretUrl = pathToFileURL(secret.path).href;
    setPrimaryLocation(dir, `<location href="${secretUrl}"/>`);
    addRecord(
      dir,
      `<data type="modules"><location xml:base="${other.url}/" href="modules.yaml"/></data>`,
    );
    const origin = await serve(dir, { auth: USER });
    const viewer = 'viewer-token-for-trust-0123456789';
    const server = await startServer({
      config: writeConfig(`
auth:
  tokens: [{ name: watcher, role: viewer, token: "${viewer}" }]
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${origin.url}", USERNAME: ci, PASSWORD: "\${env:TRUST_PASSWORD}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
`),
      env: { TRUST_PASSWORD: USER.password },
    });
    cleanups.push(() => server.kill9().catch(() => {}));
    const material = await eventually(async () => {
      const list = await server.api<Material[]>('GET', '/api/materials', undefined, viewer);
      return list.body[0]?.lastError ? list.body[0] : undefined;
    }, 30_000);
    expect(material.lastError).toContain(
      `${origin.url}/repodata/repomd.xml names ${secretUrl}; metadata read over the network may name only http and https URLs`,
    );
    const everything = JSON.stringify(
      (await server.api('GET', '/api/materials', undefined, viewer)).body,
    );
    expect(everything).not.toContain(secret.sha256);
    expect(server.output()).not.toContain(secret.sha256);
    expect(origin.requests.length).toBeGreaterThan(0);
    expect(origin.requests.every((r) => r.headers.authorization === BASIC)).toBe(true);
    // The refusal comes before anything else is fetched: the other origin is never asked.
    expect(other.requests).toEqual([]);
  }, 60_000);
});
