import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, Run, ScheduledRun } from '../server/api/schemas/index.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Three `hoist serve` processes on one PostgreSQL database, sharing 300 materials: 30 yum
 * repositories (one rpmbuild/createrepo_c repository behind 30 URLs, two of them slow) of 10
 * packages each, polled every 4 s, with leases of 3 s.
 */
const NAMES = Array.from({ length: 10 }, (_, i) => `svc${i}`);
const FAST = 28;
const SLOW = 2;
const INTERVAL_MS = 4000;
const LEASE_MS = 3000;
const SLOW_MS = 1200;

function config(fastUrl: string, slowUrl: string): string {
  const repository = (name: string, url: string) => `
  - name: ${name}
    plugin: yum
    config: { REPO_URL: "${url}" }
    packages:
${NAMES.map((n) => `      - { name: ${n}, config: { PACKAGE_SPEC: ${n} }, pollInterval: ${INTERVAL_MS / 1000}s }`).join('\n')}`;
  const pipelines = [
    // One pipeline per package of the first repository, five on one package of the second.
    ...NAMES.map((n) => ({ name: `deploy-${n}`, material: `r0/${n}` })),
    ...Array.from({ length: 5 }, (_, i) => ({ name: `fan-${i}`, material: 'r1/svc0' })),
  ];
  return `
repositories:${Array.from({ length: FAST }, (_, i) => repository(`r${i}`, `${fastUrl}/r${i}/`)).join('')}${Array.from({ length: SLOW }, (_, i) => repository(`slow${i}`, `${slowUrl}/s${i}/`)).join('')}
pipelines:
${pipelines
  .map(
    (p) => `  - name: ${p.name}
    materials: [{ package: ${p.material} }]
    stages: [{ name: test, jobs: [{ name: j, tasks: [{ run: "echo $HOIST_PACKAGE_${p.material.replace('/', '_').toUpperCase()}_LABEL" }] }] }]`,
  )
  .join('\n')}
  - name: slow
    materials: [{ package: r3/svc2 }]
    stages: [{ name: work, jobs: [{ name: j, tasks: [{ run: "sleep 5" }] }] }]
  - name: gated
    materials: [{ package: r2/svc1 }]
    stages:
      - { name: build, jobs: [{ name: j, tasks: [{ run: "true" }] }] }
      - { name: release, approval: manual, jobs: [{ name: j, tasks: [{ run: "echo released" }] }] }
`;
}

interface CheckRow {
  fingerprint: string;
  started_at: string;
  instance: string;
  trigger: string;
}

describe('several instances on one PostgreSQL database', () => {
  let dir: string;
  let root: string;
  let fast: StaticServer;
  let slow: StaticServer;
  let database: { url: string; drop(): Promise<void> };
  let db: pg.Client;
  const servers: ServerProcess[] = [];

  const query = async <T>(sql: string, params: unknown[] = []) =>
    (await db.query(sql, params)).rows as T[];
  const instanceOf = async (server: ServerProcess) =>
    (await server.api<Instance[]>('GET', '/api/instances')).body.find((i) => i.self)?.id as string;

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(
      dir,
      NAMES.map((name) => ({ name, version: '1.0' })),
    );
    await createrepo(dir);
    // Thirty repository URLs over the one repository.
    root = tempRepoDir('hoist-cluster-');
    for (let i = 0; i < FAST; i++) symlinkSync(dir, join(root, `r${i}`));
    for (let i = 0; i < SLOW; i++) symlinkSync(dir, join(root, `s${i}`));
    fast = await serveDirectory(root);
    // Every answer of this one takes a while: its checks hold their leases for longer.
    slow = await serveDirectory(root, { delayMs: SLOW_MS });
    database = await createTestDatabase();
    db = new pg.Client({ connectionString: database.url });
    const file = writeConfig(config(fast.url, slow.url));
    const env = {
      HOIST_SECRET_KEY: 'cluster-test-secret-key',
      HOIST_LEASE_MS: String(LEASE_MS),
      HOIST_LOG_LEVEL: 'info',
    };
    // All three start at once, as an orchestrator would start them.
    servers.push(
      ...(await Promise.all(
        [0, 1, 2].map(() => startServer({ config: file, database: database.url, env: { ...env } })),
      )),
    );
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await db?.end().catch(() => {});
    await database?.drop().catch(() => {});
    await fast?.close();
    await slow?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('lists the three instances on each of them, and checks every material once per interval', async () => {
    for (const server of servers) {
      const listed = await server.api<Instance[]>('GET', '/api/instances');
      expect(listed.status).toBe(200);
      expect(listed.body.filter((i) => i.alive)).toHaveLength(3);
      expect(listed.body.filter((i) => i.self)).toHaveLength(1);
    }
    const materials = await query<{ n: string }>('SELECT COUNT(*) AS n FROM packages');
    expect(Number(materials[0]?.n)).toBe(300);
    // Every material has its first check.
    await eventually(async () => {
      const [row] = await query<{ n: string }>(
        'SELECT COUNT(DISTINCT fingerprint) AS n FROM checks',
      );
      return Number(row?.n) === 300 ? true : undefined;
    }, 30_000);
    const from = new Date().toISOString();
    const windowMs = 3 * INTERVAL_MS;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const checks = await query<CheckRow>(
      'SELECT fingerprint, started_at, instance, trigger FROM checks WHERE started_at >= $1 ORDER BY started_at',
      [from],
    );
    const perMaterial = new Map<string, number>();
    for (const c of checks)
      perMaterial.set(c.fingerprint, (perMaterial.get(c.fingerprint) ?? 0) + 1);
    // Once per interval (±10 % jitter), not once per interval per instance.
    const most = Math.max(...perMaterial.values());
    expect(most).toBeLessThanOrEqual(Math.ceil(windowMs / (INTERVAL_MS * 0.9)) + 1);
    expect(perMaterial.size).toBe(300);
    expect(checks.length).toBeLessThanOrEqual(300 * (windowMs / (INTERVAL_MS * 0.9) + 1));
    expect(checks.length).toBeGreaterThanOrEqual(300 * (windowMs / (INTERVAL_MS * 1.1) - 1));
    // Two checks of one material never overlap: each starts at least ~an interval after the last.
    const last = new Map<string, number>();
    for (const c of checks) {
      const at = Date.parse(c.started_at);
      const previous = last.get(c.fingerprint);
      if (previous !== undefined) expect(at - previous).toBeGreaterThan(INTERVAL_MS * 0.8);
      last.set(c.fingerprint, at);
    }
    // The work is shared: every instance takes part (each claims as many as it has free slots,
    // so the shares follow how busy each one is rather than being equal).
    const byInstance = new Map<string, number>();
    for (const c of checks) byInstance.set(c.instance, (byInstance.get(c.instance) ?? 0) + 1);
    console.info(`checks per instance in ${windowMs} ms: ${[...byInstance.values()].join(', ')}`);
    expect(byInstance.size).toBe(3);
    for (const n of byInstance.values()) expect(n).toBeGreaterThan(checks.length * 0.03);
  }, 90_000);

  it('schedules each pipeline exactly once for a new revision, and approvals work on any instance', async () => {
    const runsOf = async () =>
      query<{ pipeline: string; counter: number; revision_key: string; status: string }>(
        'SELECT pipeline, counter, revision_key, status FROM runs ORDER BY pipeline, counter',
      );
    // The first revisions (1.0) gave one run per pipeline.
    await eventually(async () => ((await runsOf()).length === 17 ? true : undefined), 30_000);
    await buildRpms(
      dir,
      NAMES.map((name) => ({ name, version: '1.1' })),
    );
    await createrepo(dir);
    // A publisher's hook reaches one instance; the checks go wherever the leases fall.
    const hook = await servers[2]!.api('POST', '/api/materials/check', { repository: 'r0' });
    expect(hook.status).toBe(202);
    await eventually(async () => ((await runsOf()).length === 34 ? true : undefined), 40_000);
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
    const runs = await runsOf();
    expect(runs).toHaveLength(34);
    const pipelines = new Map<string, string[]>();
    for (const r of runs)
      pipelines.set(r.pipeline, [...(pipelines.get(r.pipeline) ?? []), r.revision_key]);
    for (const [name, keys] of pipelines) {
      expect(keys, name).toHaveLength(2);
      expect(new Set(keys).size, name).toBe(2);
    }
    const revisions = await query<{ fingerprint: string; revision: string; n: string }>(
      'SELECT fingerprint, revision, COUNT(*) AS n FROM revisions GROUP BY fingerprint, revision HAVING COUNT(*) > 1',
    );
    expect(revisions).toEqual([]);
    // The gate of `gated` 2 opens through an instance that did not create the run.
    const gated = await eventually(async () => {
      const r = await servers[0]!.api<Run>('GET', '/api/pipelines/gated/runs/2');
      return r.body.stages?.[1]?.status === 'awaiting_approval' ? r.body : undefined;
    }, 20_000);
    expect(gated.status).toBe('waiting');
    for (const server of servers) {
      const approved = await server.api(
        'POST',
        '/api/pipelines/gated/runs/2/stages/release/approve',
        {},
      );
      if (approved.status === 200) break;
    }
    const done = await eventually(async () => {
      const r = await servers[1]!.api<Run>('GET', '/api/pipelines/gated/runs/2');
      return r.body.status === 'passed' ? r.body : undefined;
    }, 20_000);
    expect(done.status).toBe('passed');
    // Job logs are read through any instance, wherever the job ran.
    for (const server of servers) {
      const log = await server.api<string>(
        'GET',
        '/api/pipelines/gated/runs/2/stages/release/jobs/j/log',
      );
      expect(log.status).toBe(200);
      expect(log.body).toContain('released');
    }
  }, 120_000);

  it('moves the leased work of an instance killed with kill -9 to the others within the lease time', async () => {
    const victim = servers[0] as ServerProcess;
    const victimId = await instanceOf(victim);
    // A run the victim is advancing, its job running there.
    const scheduled = await victim.api<ScheduledRun>('POST', '/api/pipelines/slow/schedule', {});
    expect(scheduled.status).toBe(202);
    const counter = scheduled.body.counter;
    await eventually(async () => {
      const [row] = await query<{ lease_owner: string; status: string }>(
        `SELECT r.lease_owner, j.status FROM runs r JOIN stages s ON s.run_id = r.id JOIN jobs j ON j.stage_id = s.id
         WHERE r.pipeline = 'slow' AND r.counter = $1`,
        [counter],
      );
      return row?.lease_owner === victimId && row.status === 'building' ? true : undefined;
    }, 20_000);
    // Kill it while it holds leases (the slow repositories make them last).
    const held = await eventually(
      async () => {
        const rows = await query<{ fingerprint: string }>(
          'SELECT fingerprint FROM materials WHERE lease_owner = $1',
          [victimId],
        );
        return rows.length >= 3 ? rows.map((r) => r.fingerprint) : undefined;
      },
      20_000,
      5,
    );
    await victim.kill9();
    const killedAt = Date.now();
    // Every material it held is checked by another instance, within the lease time (plus a
    // claim round and the slow repository's answer).
    await eventually(
      async () => {
        const rows = await query<{ fingerprint: string }>(
          `SELECT DISTINCT fingerprint FROM checks WHERE instance <> $1 AND started_at >= $2 AND fingerprint = ANY($3)`,
          [victimId, new Date(killedAt).toISOString(), held],
        );
        return rows.length === held.length ? true : undefined;
      },
      LEASE_MS + 1000 + SLOW_MS + 3000,
    );
    const takenOver = Date.now() - killedAt;
    expect(takenOver).toBeLessThan(LEASE_MS + 1000 + SLOW_MS + 3000);
    // The survivors list it as not alive once its heartbeat is older than the lease.
    await eventually(async () => {
      const listed = await servers[1]!.api<Instance[]>('GET', '/api/instances');
      return listed.body.find((i) => i.id === victimId)?.alive === false ? true : undefined;
    }, LEASE_MS + 2000);
    // No lease is left with the dead instance.
    await eventually(async () => {
      const [row] = await query<{ n: string }>(
        `SELECT (SELECT COUNT(*) FROM materials WHERE lease_owner = $1) + (SELECT COUNT(*) FROM runs WHERE lease_owner = $1) AS n`,
        [victimId],
      );
      return Number(row?.n) === 0 ? true : undefined;
    }, 2 * INTERVAL_MS);
    // The two survivors go on checking everything, once per interval.
    const from = new Date().toISOString();
    // (Slack for the slow repositories, which a per-host limit lets only a few instances check at once.)
    await new Promise((resolve) => setTimeout(resolve, 2.5 * INTERVAL_MS));
    const [after] = await query<{ n: string; most: string }>(
      `SELECT COUNT(DISTINCT fingerprint) AS n, MAX(c) AS most FROM (
        SELECT fingerprint, COUNT(*) AS c FROM checks WHERE started_at >= $1 GROUP BY fingerprint) x`,
      [from],
    );
    expect(Number(after?.n)).toBe(300);
    expect(Number(after?.most)).toBeLessThanOrEqual(4);
    // Nothing lost, nothing duplicated: every revision once, every pipeline still one run per revision.
    const duplicates = await query(
      `SELECT pipeline, revision_key FROM runs WHERE trigger = 'poll' GROUP BY pipeline, revision_key HAVING COUNT(*) > 1`,
    );
    expect(duplicates).toEqual([]);
    // Its run is taken over: the job that died with it is failed with the reason (never re-run
    // behind anyone's back), and the stage runs again through another instance on request.
    const taken = await eventually(async () => {
      const r = await servers[1]!.api<Run>('GET', `/api/pipelines/slow/runs/${counter}`);
      return r.body.status === 'failed' ? r.body : undefined;
    }, LEASE_MS + 4000);
    expect(taken.stages[0]?.jobs[0]?.error).toContain('stopped while this job was running');
    const rerun = await servers[2]!.api(
      'POST',
      `/api/pipelines/slow/runs/${counter}/stages/work/run`,
      {},
    );
    expect(rerun.status).toBe(200);
    await eventually(async () => {
      const r = await servers[1]!.api<Run>('GET', `/api/pipelines/slow/runs/${counter}`);
      return r.body.status === 'passed' ? true : undefined;
    }, 20_000);
    // Runs the dead instance was advancing are finished by the others: none stays building.
    const building = await eventually(async () => {
      const rows = await query<{ pipeline: string; counter: number }>(
        `SELECT pipeline, counter FROM runs WHERE status = 'building'`,
      );
      return rows.length === 0 ? rows : undefined;
    }, 20_000);
    expect(building).toEqual([]);
  }, 90_000);
});

describe('starting on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  afterAll(async () => {
    await database?.drop().catch(() => {});
  });

  it('refuses, in one line, a database it cannot reach, a URL that is not PostgreSQL, and another secret key', async () => {
    const unreachable = await startServer({
      database: 'postgres://hoist:s3cret@127.0.0.1:1/hoist',
    }).catch((e: { code: number; output: string }) => e);
    expect(unreachable).toMatchObject({ code: 1 });
    const line = (unreachable as { output: string }).output;
    expect(line).toMatch(
      /cannot open the database postgres:\/\/hoist:\*\*\*@127\.0\.0\.1:1\/hoist: .*ECONNREFUSED/,
    );
    expect(line).not.toContain('s3cret');
    expect(line).not.toMatch(/\n\s+at /);

    const mysql = await startServer({ database: 'mysql://x@y/z' }).catch(
      (e: { code: number; output: string }) => e,
    );
    expect(mysql).toMatchObject({ code: 2 });
    expect((mysql as { output: string }).output).toContain('--database must be a postgres:// URL');

    database = await createTestDatabase();
    const first = await startServer({
      database: database.url,
      env: { HOIST_SECRET_KEY: 'the-first-key' },
    });
    await first.stop();
    const other = await startServer({
      database: database.url,
      env: { HOIST_SECRET_KEY: 'another-key' },
    }).catch((e: { code: number; output: string }) => e);
    expect(other).toMatchObject({ code: 2 });
    expect((other as { output: string }).output).toContain(
      'the secret key differs from the one this database was written with',
    );
    const again = await startServer({
      database: database.url,
      env: { HOIST_SECRET_KEY: 'the-first-key' },
    });
    expect((await again.api('GET', '/api/health')).status).toBe(200);
    await again.stop();
  }, 60_000);
});
