import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, ErrorBody } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { until } from './helpers/runs.ts';
import {
  ADMIN_TOKEN,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const PASSWORD = 'pa:ss/w0rd-split-me';
const VIEWER = 'viewer-token-0123456789abcdef';

/** Every folder and file under `dir` with a mode that others or the group may use. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) found.push(`${path} ${mode.toString(8)}`);
    if (entry.isDirectory()) found.push(...openToOthers(path));
  }
  return found;
}

describe('trust fixes (server process, real yum repository)', () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir, { auth: { username: 'ci', password: PASSWORD } });
    // The password straddles a 64 KiB write, then is split between stdout and stderr.
    const script = join(dir, 'split.sh');
    writeFileSync(
      script,
      [
        'P="$HOIST_REPO_INTERNAL_APP_PASSWORD"',
        `head -c 65530 /dev/zero | tr '\\0' x; printf '%.9s' "$P"; sleep 0.2`,
        `printf '%s\\n' "\${P#?????????}"; sleep 0.2`,
        `printf '%.5s' "$P"; sleep 0.2; printf '%s\\n' "\${P#?????}" >&2`,
        'echo end',
      ].join('\n'),
    );
    server = await startServer({
      env: { REPO_PASSWORD: PASSWORD, VIEWER_TOKEN: VIEWER },
      config: writeConfig(`
auth:
  tokens: [{ name: vera, role: viewer, token: "\${env:VIEWER_TOKEN}" }]
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}", USERNAME: ci, PASSWORD: "\${env:REPO_PASSWORD}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ exec: [sh, "${script}"] }] }] }]
`),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('masks a secret cut by a 64 KiB write or split between stdout and stderr', async () => {
    const run = await until(server, 'build', 1, (r) => r.status !== 'building', 30_000);
    expect(run.status).toBe('passed');
    const log = String(
      (await server.api('GET', '/api/pipelines/build/runs/1/stages/s/jobs/j/log')).body,
    );
    expect(log).toContain('end');
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain(encodeURIComponent(PASSWORD));
    expect(log.match(/\*{8}/g)).toHaveLength(2);
  });

  it('keeps the data folder for its owner: database, keys, logs and work folders', async () => {
    await until(server, 'build', 1, (r) => r.status !== 'building', 30_000);
    const files = readdirSync(server.dataDir);
    expect(files).toEqual(
      expect.arrayContaining(['hoist.db', 'secret-key', 'instance-id', 'logs', 'work']),
    );
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    expect(openToOthers(server.dataDir)).toEqual([]);
  });

  it('serves /docs and the OpenAPI description to token holders only', async () => {
    for (const path of ['/docs', '/docs/json', '/docs/yaml']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
      const allowed = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${VIEWER}` },
      });
      expect(allowed.status, path).toBe(200);
    }
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it('refuses unbounded durations and alias bombs as configuration errors', async () => {
    const interval = await server.api<ErrorBody>('PUT', '/api/packages/internal/app', {
      config: { PACKAGE_SPEC: 'app' },
      pollInterval: '99999999999999999999h',
    });
    expect(interval.status).toBe(422);
    expect(interval.body.error.issues).toEqual([
      { key: 'pollInterval', message: 'must be at most 168h (7 days)' },
    ]);
    const timeout = await server.api<ErrorBody>('POST', '/api/pipelines', {
      name: 'slow',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 's', jobs: [{ name: 'j', timeout: '600h', tasks: [{ run: 'true' }] }] }],
    });
    expect(timeout.status).toBe(422);
    expect(JSON.stringify(timeout.body.error.issues)).toContain('must be at most 168h (7 days)');
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const [prev, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const bomb = await server.api<ErrorBody>('POST', '/api/config/apply', levels.join('\n'));
    expect(bomb.status).toBe(422);
    expect(bomb.body.error.issues).toHaveLength(1);
    expect(bomb.body.error.issues?.[0]?.message).toMatch(/YAML: Excessive alias count/);
    const file = join(server.dataDir, 'bomb.yaml');
    writeFileSync(file, levels.join('\n'));
    const cli = await runHoist(['apply', '--config', file], {
      HOIST_SERVER: server.url,
      HOIST_TOKEN: ADMIN_TOKEN,
      XDG_CONFIG_HOME: server.dataDir,
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/YAML: Excessive alias count/);
    expect((await server.api('GET', '/api/health')).status).toBe(200);
  });

  it('audits a creation with what it created', async () => {
    const created = await server.api('POST', '/api/pipelines', {
      name: 'made',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 's', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    });
    expect(created.status).toBe(201);
    const audit = await server.api<AuditEntry[]>('GET', '/api/audit');
    expect(audit.body).toContainEqual(
      expect.objectContaining({ action: 'POST /api/pipelines', target: 'made', outcome: 201 }),
    );
  });
});
