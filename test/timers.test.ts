import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineView } from '../server/api/schemas/index.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { runsOf, until } from './helpers/runs.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Two `hoist serve` processes on one PostgreSQL database, with timers every 5 s (a seconds
 * field): each firing makes one run across both, and `onlyOnChanges` skips what is not new.
 */
describe('timers on two instances sharing a PostgreSQL database', () => {
  let dir: string;
  let repo: StaticServer;
  let database: { url: string; drop(): Promise<void> };
  let db: pg.Client;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    database = await createTestDatabase();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const file = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: tick
    timer: { cron: '*/5 * * * * *' }
    materials: [{ package: internal/app }]
    stages:
      - name: nightly
        approval: manual
        jobs: [{ name: j, tasks: [{ run: 'echo "LABEL=$HOIST_PACKAGE_INTERNAL_APP_LABEL"' }] }]
  - name: changes
    timer: { cron: '*/5 * * * * *', timezone: Europe/Berlin, onlyOnChanges: true }
    materials: [{ package: internal/app }]
    stages:
      - name: staging
        approval: manual
        jobs: [{ name: j, tasks: [{ run: 'echo "LABEL=$HOIST_PACKAGE_INTERNAL_APP_LABEL"' }] }]
`);
    const env = { HOIST_SECRET_KEY: 'timer-test-secret-key', HOIST_LOG_LEVEL: 'info' };
    servers.push(
      ...(await Promise.all(
        [0, 1].map(() => startServer({ config: file, database: database.url, env })),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.end();
    await database?.drop();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const view = async (server: ServerProcess, name: string) =>
    (await server.api<PipelineView>('GET', `/api/pipelines/${name}`)).body;

  it('fires once per firing across both instances, 20 s long', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const next = await view(a, 'tick');
    expect(next.timer).toEqual({ cron: '*/5 * * * * *', timezone: 'UTC', onlyOnChanges: false });
    expect(new Date(next.nextTimer as string).getUTCSeconds() % 5).toBe(0);
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 21_000));
    const rows = (
      await db.query<{ trigger_key: string; counter: number; trigger: string }>(
        "SELECT trigger_key, counter, trigger FROM runs WHERE pipeline = 'tick' ORDER BY counter",
      )
    ).rows;
    const times = rows.map((r) => Date.parse(r.trigger_key.slice('timer:'.length)));
    // Every 5 s: the 20 s after `from` hold four firings, one run each.
    expect(times.filter((t) => t > from && t <= from + 20_000)).toHaveLength(4);
    expect(rows.every((r) => r.trigger === 'timer' && r.trigger_key.startsWith('timer:'))).toBe(
      true,
    );
    expect(new Set(rows.map((r) => r.trigger_key)).size).toBe(rows.length);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBe(5000);
    // Both instances fired each time; one of them made the run.
    for (const t of times.filter((t) => t > from && t <= from + 20_000)) {
      const fired = `"pipeline":"tick","at":"${new Date(t).toISOString()}"`;
      for (const server of [a, b]) expect(server.output()).toContain(fired);
    }
    expect(a.output() + b.output()).toContain('another instance scheduled this firing');
    // A timer's run opens its manual first stage and carries the newest revision.
    const first = await until(a, 'tick', 1, (r) => r.status === 'passed');
    expect(first.trigger).toBe('timer');
    expect(first.stages[0]?.approvedBy).toBe('timer');
    expect(first.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');
    const last = (await view(b, 'tick')).lastTimer;
    expect(last?.outcome).toBe('scheduled');
  }, 60_000);

  it('with onlyOnChanges skips when nothing is new, and runs when a revision was published', async () => {
    const [a] = servers as [ServerProcess, ServerProcess];
    expect((await view(a, 'changes')).timer?.timezone).toBe('Europe/Berlin');
    // The first firing ran app-1.0; the ones since found nothing new.
    const runs = await runsOf(a, 'changes');
    expect(runs.map((r) => r.counter)).toEqual([1]);
    expect(runs[0]?.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');
    const skipped = await eventually(async () => {
      const last = (await view(a, 'changes')).lastTimer;
      return last?.outcome.startsWith('skipped') ? last : undefined;
    });
    expect(skipped.outcome).toBe('skipped: nothing new since run 1');
    await buildRpms(dir, [{ name: 'app', version: '1.1' }]);
    await createrepo(dir);
    await a.api('POST', '/api/materials/check', { repository: 'internal' });
    const second = await until(a, 'changes', 2, (r) => r.status === 'passed', 15_000);
    expect(second.trigger).toBe('timer');
    expect(second.cause.packages['internal/app']?.revision).toBe('app-1.1-1.noarch');
    // And nothing more until the next revision.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect((await runsOf(a, 'changes')).map((r) => r.counter)).toEqual([2, 1]);
  }, 60_000);

  it('arms a timer given over the API at once, and on the other instance within its refresh', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const definition = {
      name: 'yearly',
      timer: { cron: '0 0 1 1 *', timezone: 'America/New_York' },
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 's', approval: 'manual', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    };
    expect((await a.api('POST', '/api/pipelines', definition)).status).toBe(201);
    const here = await view(a, 'yearly');
    expect(here.timer).toEqual({
      cron: '0 0 1 1 *',
      timezone: 'America/New_York',
      onlyOnChanges: false,
    });
    // Midnight of 1 January in New York is 05:00 UTC.
    expect(here.nextTimer).toMatch(/-01-01T05:00:00\.000Z$/);
    const there = await eventually(
      async () => (await view(b, 'yearly')).nextTimer ?? undefined,
      15_000,
    );
    expect(there).toBe(here.nextTimer);
    const { timer: _timer, ...withoutTimer } = definition;
    expect((await a.api('PUT', '/api/pipelines/yearly', withoutTimer)).status).toBe(200);
    expect((await view(a, 'yearly')).nextTimer).toBeUndefined();
  }, 30_000);
});
