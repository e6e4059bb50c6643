import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuditEntry,
  ErrorBody,
  Material,
  QueuedChecks,
  Repository,
  StoredRevision,
} from '../server/api/schemas/index.ts';
import { databaseText } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';

function config(repoUrl: string, pollInterval = '1h', extra = ''): string {
  return `
auth:
  tokens:
    - { name: watcher, role: viewer, token: "${VIEWER}" }
    - { name: releaser, role: operator, token: "${OPERATOR}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repoUrl}", USERNAME: ci, PASSWORD: "\${env:REPO_PASSWORD}" }
    packages:
      - name: app
        config: { PACKAGE_SPEC: "app" }
        pollInterval: ${pollInterval}
${extra}`;
}

describe('hoist serve (as a process) against a real yum repository', () => {
  let dir: string;
  let repo: StaticServer;
  let down = false;
  let slowPrimary = false;
  const password = 'pa55:w/rd';
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir, {
      auth: { username: 'ci', password },
      intercept: (req, res) => {
        if (down) {
          res.writeHead(503, { 'retry-after': '1' }).end('down for maintenance');
          return true;
        }
        if (slowPrimary && req.url?.includes('primary')) return true; // never answers
        return false;
      },
    });
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(yaml: string, dataDir?: string) {
    const server = await startServer({
      config: writeConfig(yaml),
      env: { REPO_PASSWORD: password },
      ...(dataDir ? { dataDir } : {}),
    });
    servers.push(server);
    return server;
  }
  const material = async (server: ServerProcess) =>
    (await server.api<Material[]>('GET', '/api/materials')).body.find(
      (m) => m.package === 'app',
    ) as Material;

  it('checks at start-up, and stores a newly published package within a second of check-now', async () => {
    const server = await start(config(repo.url));
    const first = await eventually(
      async () => (await material(server)).latestRevision ?? undefined,
    );
    expect(first.revision).toBe('app-1.0-1.noarch');
    expect((await material(server)).lastCheck?.trigger).toBe('start');

    await buildRpms(dir, [{ name: 'app', version: '1.1' }]);
    await createrepo(dir);
    const started = Date.now();
    const hook = await server.api<QueuedChecks>(
      'POST',
      '/api/materials/check',
      { url: `${repo.url}/` },
      OPERATOR,
    );
    expect(hook.status).toBe(202);
    expect(hook.body.queued.map((q) => q.package)).toEqual(['app']);
    await eventually(
      async () =>
        (await material(server)).latestRevision?.revision === 'app-1.1-1.noarch' ? true : undefined,
      1000,
      10,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1000);
    const m = await material(server);
    expect(m.lastCheck).toMatchObject({
      outcome: 'new',
      trigger: 'manual',
      decision: 'stored 1 new revision: app-1.1-1.noarch',
    });
    await server.stop();
  });

  it('backs off while the repository is down, and recovers', async () => {
    const server = await start(config(repo.url, '1s'));
    await eventually(async () => (await material(server)).latestRevision ?? undefined);
    down = true;
    try {
      const failing = await eventually(async () => {
        const m = await material(server);
        return m.failures >= 2 ? m : undefined;
      }, 15_000);
      expect(failing.lastError).toMatch(/HTTP 503/);
      expect(failing.lastCheck?.decision).toMatch(
        /^failed \(ERR_REPOSITORY_UNREACHABLE\); retrying in [\d.]+s after \d+ failures in a row/,
      );
      // Exponential: the wait after the second failure is at least 4 intervals.
      const wait =
        Date.parse(failing.nextCheckAt as string) -
        Date.parse(failing.lastCheck?.startedAt as string);
      expect(wait).toBeGreaterThanOrEqual(3500);
    } finally {
      down = false;
    }
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    const recovered = await eventually(async () => {
      const m = await material(server);
      return m.failures === 0 && m.lastError === null ? m : undefined;
    });
    expect(recovered.lastCheck?.outcome).toMatch(/unchanged|new/);
    await server.stop();
  }, 40_000);

  it('refuses an invalid configuration with every field path, and changes nothing', async () => {
    const good = await start(config(repo.url));
    const dataDir = good.dataDir;
    await eventually(async () => (await material(good)).latestRevision ?? undefined);
    await good.stop();
    const broken = config(
      'ftp://nowhere',
      'sometimes',
      `pipelines:
  - name: deploy
    materials: [{ package: internal/missing }]
    stages: [{ name: go, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
`,
    );
    const error = await start(broken, dataDir).catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.output).toContain('repositories[0].packages[0].pollInterval: must look like');
    const semantic = config(
      'ftp://nowhere',
      '1h',
      `pipelines:
  - name: deploy
    materials: [{ package: internal/missing }]
    stages: [{ name: go, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
`,
    );
    const refused = await start(semantic, dataDir).catch((e) => e);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain(
      "repositories[0].config.REPO_URL: Invalid URL: Only 'file', 'http' and 'https' protocols are supported.",
    );
    expect(refused.output).toContain(
      "pipelines[0].materials[0].package: no package 'internal/missing'",
    );
    expect(refused.output).not.toMatch(/\n\s+at /);
    // The store still holds the good configuration and its history.
    const again = await start(config(repo.url), dataDir);
    const repos = await again.api<Repository[]>('GET', '/api/repositories');
    expect(repos.body[0]?.config.REPO_URL).toBe(repo.url);
    expect((await material(again)).latestRevision?.revision).toBe('app-1.1-1.noarch');
    await again.stop();
  }, 60_000);

  it('loses and duplicates nothing when killed with SIGKILL in the middle of a check', async () => {
    const server = await start(config(repo.url));
    const dataDir = server.dataDir;
    const before = await eventually(
      async () => (await material(server)).latestRevision ?? undefined,
    );
    await buildRpms(dir, [{ name: 'app', version: '1.2' }]);
    await createrepo(dir);
    slowPrimary = true;
    const seen = repo.requests.length;
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await eventually(async () =>
      repo.requests.slice(seen).some((r) => r.path.includes('primary')) ? true : undefined,
    );
    await server.kill9();
    slowPrimary = false;
    if (!server.database) expect(existsSync(join(dataDir, 'hoist.db'))).toBe(true);
    const restarted = await start(config(repo.url), dataDir);
    const after = await eventually(async () => {
      const m = await material(restarted);
      return m.latestRevision?.revision === 'app-1.2-1.noarch' ? m : undefined;
    });
    const revisions = await restarted.api<StoredRevision[]>(
      'GET',
      `/api/materials/${after.fingerprint}/revisions`,
    );
    const labels = revisions.body.map((r) => r.revision);
    // A new data folder records the newest at its first check (1.1), then 1.2: each exactly once.
    expect(labels).toEqual(['app-1.2-1.noarch', 'app-1.1-1.noarch']);
    expect(labels).toContain(before.revision);
    await restarted.stop();
  }, 60_000);

  it('guards every route by role and never shows the repository password', async () => {
    const server = await start(config(repo.url));
    const anonymous = await fetch(`${server.url}/api/materials`);
    expect(anonymous.status).toBe(401);
    expect((await server.api('GET', '/api/health', undefined, 'wrong')).status).toBe(200);
    expect(
      (await server.api('GET', '/api/repositories', undefined, 'wrong-token-0123456789')).status,
    ).toBe(401);
    expect((await server.api('GET', '/api/repositories', undefined, VIEWER)).status).toBe(200);
    expect(
      (await server.api('POST', '/api/materials/check', { repository: 'internal' }, VIEWER)).status,
    ).toBe(403);
    expect(
      (await server.api('POST', '/api/materials/check', { repository: 'internal' }, OPERATOR))
        .status,
    ).toBe(202);
    const forbidden = await server.api<ErrorBody>(
      'DELETE',
      '/api/repositories/internal',
      undefined,
      OPERATOR,
    );
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toEqual({
      code: 'ERR_FORBIDDEN',
      message: "This needs the admin role; the token 'releaser' is operator",
    });
    // The start-up check may still be running: the metric appears when it ends.
    const metrics = await eventually(async () => {
      const response = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${VIEWER}` },
      });
      const text = await response.text();
      return text.includes('hoist_material_checks_total{') ? text : undefined;
    });
    expect(metrics).toMatch(
      /hoist_material_checks_total\{repository="internal",outcome="(new|unchanged)"\} \d+/,
    );

    const repos = await server.api<Repository[]>('GET', '/api/repositories', undefined, VIEWER);
    expect(repos.body[0]?.secrets).toEqual({ PASSWORD: 'set' });
    for (const path of ['/api/repositories', '/api/packages', '/api/materials', '/api/plugins']) {
      const text = JSON.stringify((await server.api('GET', path)).body);
      expect(text, path).not.toContain(password);
    }
    await server.stop();
    expect(server.output()).not.toContain(password);
    // Nothing in the data folder holds the password in clear: database, WAL, keys, logs.
    const files: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(server.dataDir);
    if (server.database) {
      const stored = await databaseText(server.database);
      expect(stored).toContain('REPO_URL');
      expect(stored).not.toContain(password);
      expect(stored).not.toContain(encodeURIComponent(password));
    } else {
      expect(files.some((f) => f.endsWith('hoist.db'))).toBe(true);
    }
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(bytes.includes(password), file).toBe(false);
      expect(bytes.includes(encodeURIComponent(password)), file).toBe(false);
    }
    expect((statSync(join(server.dataDir, 'secret-key')).mode & 0o777).toString(8)).toBe('600');
  }, 30_000);

  it('answers 401 without a token and 403 below the role, on every route group, and audits changes', async () => {
    const server = await start(config(repo.url));
    const routes: [string, string, 'viewer' | 'operator' | 'admin', unknown?][] = [
      ['GET', '/api/plugins', 'viewer'],
      ['GET', '/api/repositories', 'viewer'],
      ['GET', '/api/packages', 'viewer'],
      ['GET', '/api/pipelines', 'viewer'],
      ['GET', '/api/materials', 'viewer'],
      ['GET', '/api/audit', 'viewer'],
      ['GET', '/metrics', 'viewer'],
      ['POST', '/api/materials/check', 'operator', { repository: 'internal' }],
      ['POST', '/api/pipelines/none/schedule', 'operator', {}],
      ['POST', '/api/pipelines/none/pause', 'operator'],
      ['POST', '/api/repositories', 'admin', { name: 'x', plugin: 'yum', config: {} }],
      ['DELETE', '/api/packages/internal/none', 'admin'],
      ['POST', '/api/config/apply', 'admin'],
    ];
    const tokens = {
      viewer: VIEWER,
      operator: OPERATOR,
      admin: 'admin-token-for-tests-0123456789',
    } as const;
    const rank = { viewer: 0, operator: 1, admin: 2 };
    for (const [method, path, needed, body] of routes) {
      const anonymous = await fetch(server.url + path, { method });
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const { status } = await server.api(method, path, body, tokens[role]);
        if (rank[role] < rank[needed]) expect(status, `${method} ${path} as ${role}`).toBe(403);
        else expect([401, 403], `${method} ${path} as ${role}`).not.toContain(status);
      }
    }
    const audit = await server.api<AuditEntry[]>('GET', '/api/audit');
    expect(audit.body).toContainEqual(
      expect.objectContaining({
        actor: 'releaser',
        action: 'POST /api/materials/check',
        outcome: 202,
      }),
    );
    expect(audit.body).toContainEqual(
      expect.objectContaining({ actor: 'watcher', action: 'POST /api/repositories', outcome: 403 }),
    );
    expect(JSON.stringify(audit.body)).not.toContain(password);
    await server.stop();
  }, 60_000);

  it('validates configuration changes over the API: 422 with every problem, 409 on conflicts', async () => {
    const server = await start(config(repo.url));
    const invalid = await server.api<ErrorBody>('POST', '/api/repositories', {
      name: 'other',
      plugin: 'yum',
      config: { REPO_URL: 'ftp://x', USERNAME: 'u', COLOUR: 'red' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.issues).toEqual([
      { key: 'config', message: expect.stringMatching(/^Unsupported key\(s\) found : COLOUR/) },
      {
        key: 'config.REPO_URL',
        message: "Invalid URL: Only 'file', 'http' and 'https' protocols are supported.",
      },
      { key: 'config.PASSWORD', message: 'Both Username and password are required.' },
    ]);
    const created = await server.api('POST', '/api/repositories', {
      name: 'mirror',
      plugin: 'yum',
      config: { REPO_URL: repo.url },
    });
    expect(created.status).toBe(201);
    // Same repository URL and spec as internal/app: the same material.
    const duplicate = await server.api<ErrorBody>('POST', '/api/packages', {
      repository: 'mirror',
      name: 'app',
      config: { PACKAGE_SPEC: 'app' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.message).toMatch(
      /same repository and package identity as 'internal\/app'/,
    );
    const pipeline = await server.api('POST', '/api/pipelines', {
      name: 'build',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 'verify', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    });
    expect(pipeline.status).toBe(201);
    const inUse = await server.api<ErrorBody>('DELETE', '/api/repositories/internal');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toBe("repository 'internal' is in use by pipeline(s) build");
    expect((await server.api('GET', '/api/repositories/nope')).status).toBe(404);
    expect((await fetch(`${server.url}/docs/json`)).status).toBe(401);
    const docs = await fetch(`${server.url}/docs/json`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(((await docs.json()) as { paths: Record<string, unknown> }).paths).toHaveProperty(
      '/api/materials/check',
    );
    await server.stop();
  }, 30_000);
});
