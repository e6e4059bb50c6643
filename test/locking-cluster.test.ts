import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run, ScheduledRun } from '../server/api/schemas/index.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/** Two `hoist serve` processes on one PostgreSQL database, runs of a locked pipeline on both. */
describe('a pipeline lock across two instances on one PostgreSQL database', () => {
  let dir: string;
  let repo: StaticServer;
  let database: { url: string; drop(): Promise<void> };
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    database = await createTestDatabase();
    const file = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: deploy
    lock: unlockWhenFinished
    materials: [{ package: internal/app }]
    stages:
      - { name: prepare, jobs: [{ name: j, tasks: [{ run: "sleep 0.6" }] }] }
      - { name: roll-out, jobs: [{ name: j, tasks: [{ run: "sleep 0.6" }] }] }
`);
    const env = { HOIST_SECRET_KEY: 'lock-cluster-test-key', HOIST_LEASE_MS: '3000' };
    servers.push(
      ...(await Promise.all(
        [0, 1].map(() => startServer({ config: file, database: database.url, env: { ...env } })),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await database?.drop().catch(() => {});
    await repo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('never lets two runs overlap, whichever instance created them, and starts them oldest first', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const run = async (server: ServerProcess, counter: number) =>
      (await server.api<Run>('GET', `/api/pipelines/deploy/runs/${counter}`)).body;
    await eventually(async () => {
      const first = await run(a, 1).catch(() => undefined);
      return first?.stages?.[0]?.status === 'building' ? true : undefined;
    }, 30_000);
    // Five more runs, asked of both instances at once while run 1 holds the lock.
    const scheduled = await Promise.all(
      [a, b, a, b, b].map((server) =>
        server.api<ScheduledRun>('POST', '/api/pipelines/deploy/schedule', {}),
      ),
    );
    expect(scheduled.map((s) => s.status)).toEqual([202, 202, 202, 202, 202]);
    const waiting = await run(b, scheduled[0]!.body.counter);
    expect(waiting.waitingFor).toMatch(
      /^the lock of pipeline 'deploy', held by run \d+ \(building\)$/,
    );

    const runs = await eventually(
      async () => {
        const list = (await b.api<Run[]>('GET', '/api/pipelines/deploy/runs?limit=10')).body;
        return list.length === 6 && list.every((r) => r.status === 'passed') ? list : undefined;
      },
      60_000,
      200,
    );
    const spans = runs
      .map((r) => ({
        counter: r.counter,
        start: Date.parse(r.stages[0]?.startedAt ?? ''),
        end: Date.parse(r.finishedAt ?? ''),
      }))
      .sort((x, y) => x.start - y.start);
    for (const [i, span] of spans.entries()) {
      if (i === 0) continue;
      const previous = spans[i - 1]!;
      expect(
        span.start,
        `run ${span.counter} after run ${previous.counter}`,
      ).toBeGreaterThanOrEqual(previous.end);
    }
    expect(spans.map((s) => s.counter)).toEqual([1, 2, 3, 4, 5, 6]);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const byInstance = await db.query(
      `SELECT j.instance, COUNT(*) AS n FROM jobs j GROUP BY j.instance ORDER BY j.instance`,
    );
    const gaps = spans.slice(1).map((s, i) => s.start - (spans[i]?.end ?? 0));
    console.info(
      `jobs per instance: ${byInstance.rows.map((r) => r.n).join(', ')}; gaps between runs (ms): ${gaps.join(', ')}`,
    );
    expect(await db.query('SELECT * FROM pipeline_locks')).toMatchObject({ rowCount: 0 });
    await db.end();
  }, 90_000);

  it('keeps the lock of a run whose instance died until the run taken over ends; then the next starts elsewhere', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const run = async (counter: number) =>
      (await b.api<Run>('GET', `/api/pipelines/deploy/runs/${counter}`)).body;
    const seven = (await a.api<ScheduledRun>('POST', '/api/pipelines/deploy/schedule', {})).body
      .counter;
    await eventually(async () =>
      (await run(seven)).stages[0]?.status === 'building' ? true : undefined,
    );
    const eight = (await b.api<ScheduledRun>('POST', '/api/pipelines/deploy/schedule', {})).body
      .counter;
    await a.kill9();
    const killed = Date.now();
    // Its instance is gone, its lease not yet expired: run 7 still holds the lock.
    expect((await run(eight)).waitingFor).toBe(
      `the lock of pipeline 'deploy', held by run ${seven} (building)`,
    );
    const passed = await eventually(
      async () => {
        const r = await run(eight);
        return r.status === 'passed' ? r : undefined;
      },
      30_000,
      100,
    );
    const taken = await run(seven);
    expect(taken.status).toBe('failed');
    console.info(
      `run ${seven} failed ${Date.parse(taken.finishedAt ?? '') - killed} ms after its instance died (leases of 3 s); run ${eight} started ${Date.parse(passed.stages[0]?.startedAt ?? '') - Date.parse(taken.finishedAt ?? '')} ms later`,
    );
    expect(Date.parse(passed.stages[0]?.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(taken.finishedAt ?? ''),
    );
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const instances = await db.query(
      `SELECT DISTINCT j.instance FROM jobs j JOIN stages s ON s.id = j.stage_id JOIN runs r ON r.id = s.run_id
       WHERE r.counter IN ($1, $2) AND j.instance IS NOT NULL`,
      [seven, eight],
    );
    await db.end();
    expect(instances.rowCount).toBe(2);
  }, 60_000);
});
