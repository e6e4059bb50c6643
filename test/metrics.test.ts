import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import { createTestDatabase, testStoreKind } from './helpers/postgres.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { requireTool } from './helpers/tools.ts';

const SCRAPER = 'scraper-viewer-token-0123456789';
const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

/** One sample of the exposition text. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    return [{ name: match[1] as string, labels, value: Number(match[3]) }];
  });
}

/** The value of the one sample of `name` with these labels (undefined when there is none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/** A repository host that answers nothing until released (checks stay running meanwhile). */
async function hangingHost(): Promise<{ url: string; release(): Promise<void> }> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async release() {
      for (const res of held) res.writeHead(503).end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('metrics (server process): every family moves with what happens', () => {
  let repo: string;
  let slow: Awaited<ReturnType<typeof hangingHost>>;
  let server: ServerProcess;
  let text: string;
  let samples: Sample[];

  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${SCRAPER}` },
    });
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  beforeAll(async () => {
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    slow = await hangingHost();
    const slowPackages = [1, 2, 3, 4, 5]
      .map(
        (n) => `      - { name: app${n}, config: { PACKAGE_SPEC: "app${n}" }, pollInterval: 1h }`,
      )
      .join('\n');
    const config = `
auth:
  tokens:
    - { name: scraper, role: viewer, token: "${SCRAPER}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: "app" }, pollInterval: 1h }
  - name: broken
    plugin: yum
    config: { REPO_URL: "http://127.0.0.1:${await closedPort()}/el9" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: "app" }, pollInterval: 1h }
  # Four checks at once per host: five hanging ones leave one due and waiting.
  - name: slow
    plugin: yum
    config: { REPO_URL: "${slow.url}/el9", TIMEOUT: "600" }
    packages:
${slowPackages}
pipelines:
  - name: gated
    materials: [{ package: internal/app }]
    stages:
      - { name: build, jobs: [{ name: compile, tasks: [{ run: "true" }] }] }
      - { name: release, approval: manual, jobs: [{ name: ship, tasks: [{ run: "true" }] }] }
  - name: guarded
    lock: lockOnFailure
    materials: [{ package: internal/app }]
    stages:
      - { name: deploy, jobs: [{ name: install, tasks: [{ run: "exit 1" }] }] }
`;
    server = await startServer({ config: writeConfig(config) });
    // A failed run keeps a lockOnFailure pipeline locked: the next run waits for the lock.
    await eventually(async () => {
      const runs = (await server.api<{ status: string }[]>('GET', '/api/pipelines/guarded/runs'))
        .body;
      return Array.isArray(runs) && runs[0]?.status === 'failed' ? true : undefined;
    }, 30_000);
    expect((await server.api('POST', '/api/pipelines/guarded/schedule', {})).status).toBe(202);
    await server.api('GET', '/api/no-such-route');
    await fetch(`${server.url}/api/health`);
    text = await eventually(async () => {
      const scraped = await scrape();
      const parsed = parse(scraped);
      const ready =
        value(parsed, 'hoist_stages_awaiting_approval', { pipeline: 'gated' }) === 1 &&
        value(parsed, 'hoist_runs_waiting_for_lock', { pipeline: 'guarded' }) === 1 &&
        (value(parsed, 'hoist_material_checks_total', { repository: 'broken' }) ?? 0) > 0;
      return ready ? scraped : undefined;
    }, 30_000);
    samples = parse(text);
  }, 120_000);

  afterAll(async () => {
    // Let the hanging checks end, so that the server stops at once.
    await slow?.release();
    await server?.stop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('counts checks by repository and outcome, their durations by outcome, new revisions', () => {
    const checks = (repository: string, outcome: string) =>
      value(samples, 'hoist_material_checks_total', { repository, outcome });
    expect(checks('internal', 'new')).toBe(1);
    expect(checks('broken', 'error')).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'hoist_material_check_duration_seconds_count', { outcome: 'error' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'hoist_new_revisions_total', { repository: 'internal' })).toBe(1);
    expect(value(samples, 'hoist_materials')).toBe(7);
    expect(value(samples, 'hoist_materials_failing', { repository: 'broken' })).toBe(1);
    expect(value(samples, 'hoist_materials_failing', { repository: 'internal' })).toBe(0);
  });

  it('shows the poller falling behind: a due material waits while four checks of its host hang', () => {
    expect(value(samples, 'hoist_material_oldest_due_seconds')).toBeGreaterThan(0);
    // Due for less than a minute: not overdue yet.
    expect(value(samples, 'hoist_materials_overdue')).toBe(0);
  });

  it('counts runs by pipeline and status, stages awaiting approval, and how long they wait', () => {
    expect(value(samples, 'hoist_runs', { pipeline: 'gated', status: 'waiting' })).toBe(1);
    expect(value(samples, 'hoist_runs', { pipeline: 'gated', status: 'passed' })).toBe(0);
    expect(value(samples, 'hoist_runs', { pipeline: 'guarded', status: 'failed' })).toBe(1);
    expect(value(samples, 'hoist_runs', { pipeline: 'guarded', status: 'building' })).toBe(1);
    expect(value(samples, 'hoist_stages_awaiting_approval', { pipeline: 'gated' })).toBe(1);
    expect(
      value(samples, 'hoist_approval_oldest_wait_seconds', { pipeline: 'gated' }),
    ).toBeGreaterThan(0);
  });

  it('shows the pipeline locked by its failed run and the run waiting for the lock', () => {
    expect(value(samples, 'hoist_pipeline_locked', { pipeline: 'guarded' })).toBe(1);
    expect(value(samples, 'hoist_pipeline_locked', { pipeline: 'gated' })).toBeUndefined();
    expect(value(samples, 'hoist_runs_waiting_for_lock', { pipeline: 'guarded' })).toBe(1);
    expect(
      value(samples, 'hoist_lock_oldest_wait_seconds', { pipeline: 'guarded' }),
    ).toBeGreaterThanOrEqual(0);
  });

  it('counts jobs and their durations by pipeline and outcome', () => {
    expect(value(samples, 'hoist_jobs_total', { pipeline: 'gated', outcome: 'passed' })).toBe(1);
    expect(value(samples, 'hoist_jobs_total', { pipeline: 'guarded', outcome: 'failed' })).toBe(1);
    expect(
      value(samples, 'hoist_job_duration_seconds_count', { pipeline: 'gated', outcome: 'passed' }),
    ).toBe(1);
  });

  it('counts plugin calls, and their errors by plugin and error code', () => {
    expect(
      value(samples, 'hoist_plugin_calls_total', { plugin: 'yum', call: 'latestRevision' }),
    ).toBeGreaterThanOrEqual(2);
    const errors = samples.filter((s) => s.name === 'hoist_plugin_errors_total');
    expect(errors).toContainEqual({
      name: 'hoist_plugin_errors_total',
      labels: { plugin: 'yum', call: 'latestRevision', code: 'ERR_REPOSITORY_UNREACHABLE' },
      value: expect.any(Number),
    });
    expect(
      value(samples, 'hoist_plugin_call_duration_seconds_count', { plugin: 'yum' }),
    ).toBeGreaterThan(0);
  });

  it('counts HTTP requests by route pattern and status', () => {
    const requests = (labels: Record<string, string>) =>
      value(samples, 'hoist_http_requests_total', labels);
    expect(
      requests({ method: 'POST', route: '/api/pipelines/:name/schedule', status: '202' }),
    ).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const runs = '/api/pipelines/:name/runs';
    expect(requests({ method: 'GET', route: runs, status: '200' })).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'hoist_http_request_duration_seconds_count', { method: 'GET', route: runs }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts instances alive and gone, and the leases of each', async () => {
    const [self] = (await server.api<{ id: string }[]>('GET', '/api/instances')).body;
    expect(value(samples, 'hoist_instances', { state: 'alive' })).toBe(1);
    expect(value(samples, 'hoist_instances', { state: 'gone' })).toBe(0);
    for (const kind of ['material', 'run'])
      expect(value(samples, 'hoist_leases', { owner: self?.id ?? '', kind })).toBeTypeOf('number');
  });

  it('has help for every family, and no gauge named like a counter', () => {
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    for (const [name, type] of families) {
      expect(text, name).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      if (type !== 'counter') expect(name, type).not.toMatch(/_total$/);
    }
  });

  it('passes promtool check metrics', () => {
    requireTool('promtool', 'Debian package prometheus');
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
  });

  it('ships alert rules that promtool checks and whose unit tests pass', () => {
    requireTool('promtool', 'Debian package prometheus');
    const check = spawnSync('promtool', ['check', 'rules', 'prometheus-rules.yml'], {
      cwd: DOCS,
      encoding: 'utf8',
    });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', 'prometheus-rules.test.yml'], {
      cwd: DOCS,
      encoding: 'utf8',
    });
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('logs one line per request with its route, status and time; health at debug; no deprecation', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => typeof l.route === 'string');
    const schedule = requests.filter((l) => l.route === '/api/pipelines/:name/schedule');
    expect(schedule).toEqual([
      expect.objectContaining({
        level: 30,
        method: 'POST',
        path: '/api/pipelines/guarded/schedule',
        status: 202,
        ms: expect.any(Number),
        msg: 'POST /api/pipelines/:name/schedule 202',
      }),
    ]);
    for (const route of ['/metrics', '/api/health']) {
      const quiet = requests.filter((l) => l.route === route);
      expect(quiet.length, route).toBeGreaterThan(0);
      expect(
        quiet.every((l) => l.level === 20),
        route,
      ).toBe(true);
    }
    expect(lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toBe(
      false,
    );
    expect(server.output()).not.toMatch(/FSTDEP|DeprecationWarning|Warning:/);
  });
});

describe.skipIf(testStoreKind() !== 'postgres')('metrics of instances on one database', () => {
  let database: { url: string; drop(): Promise<void> };
  const servers: ServerProcess[] = [];

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await database?.drop();
  });

  it('counts an instance killed without retiring as gone once its lease passed', async () => {
    database = await createTestDatabase();
    const config = writeConfig(`
auth:
  tokens:
    - { name: scraper, role: viewer, token: "${SCRAPER}" }
repositories: []
pipelines: []
`);
    const env = { HOIST_LEASE_MS: '2000', HOIST_SECRET_KEY: 'metrics-test-secret-key' };
    for (let i = 0; i < 2; i++)
      servers.push(await startServer({ config, database: database.url, env }));
    const [survivor, victim] = servers as [ServerProcess, ServerProcess];
    const instances = async () => {
      const response = await fetch(`${survivor.url}/metrics`, {
        headers: { authorization: `Bearer ${SCRAPER}` },
      });
      const parsed = parse(await response.text());
      return {
        alive: value(parsed, 'hoist_instances', { state: 'alive' }),
        gone: value(parsed, 'hoist_instances', { state: 'gone' }),
        owners: new Set(parsed.filter((s) => s.name === 'hoist_leases').map((s) => s.labels.owner)),
      };
    };
    expect(await instances()).toMatchObject({ alive: 2, gone: 0 });
    expect((await instances()).owners.size).toBe(2);
    await victim.kill9();
    const after = await eventually(async () => {
      const now = await instances();
      return now.gone === 1 ? now : undefined;
    }, 15_000);
    expect(after).toMatchObject({ alive: 1, gone: 1 });
  }, 60_000);
});
