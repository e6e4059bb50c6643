import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, Run } from '../server/api/schemas/index.ts';
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
 * Two `hoist serve` on one PostgreSQL database: a cancel sent to the instance that does not run
 * the job is carried out by the one that does, which runs the task's onCancel before the run is
 * shown cancelled.
 */
describe('onCancel when the cancel reaches another instance (PostgreSQL)', () => {
  let dir: string;
  let out: string;
  let repo: StaticServer;
  let database: { url: string; drop(): Promise<void> };
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    dir = tempRepoDir();
    out = mkdtempSync(join(tmpdir(), 'hoist-cancel-out-'));
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
    materials: [{ package: internal/app }]
    variables: { OUT: "${out}" }
    stages:
      - name: roll-out
        jobs:
          - name: j
            tasks:
              - run: touch "$OUT/started"; sleep 60
                onCancel: { run: 'sleep 1; echo "$HOIST_PIPELINE_NAME" > "$OUT/undone"' }
      - name: after
        jobs: [{ name: j, tasks: [{ run: 'touch "$OUT/after"' }] }]
`);
    const env = { HOIST_SECRET_KEY: 'cancel-cluster-key', HOIST_LEASE_MS: '3000' };
    servers.push(
      ...(await Promise.all(
        [0, 1].map(() => startServer({ config: file, database: database.url, env: { ...env } })),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    await database?.drop().catch(() => {});
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('runs the onCancel on the instance running the job before either shows the run cancelled', async () => {
    await eventually(async () => (existsSync(join(out, 'started')) ? true : undefined), 30_000);
    const holder = await eventually(async () => {
      for (const s of servers) {
        const listed = await s.api<Instance[]>('GET', '/api/instances');
        const self = listed.body.find((i) => i.self);
        if (self?.runs.includes('deploy/1')) return s;
      }
      return undefined;
    });
    const other = servers.find((s) => s !== holder) as ServerProcess;
    const started = Date.now();
    const cancelling = other.api<Run>('POST', '/api/pipelines/deploy/runs/1/cancel');
    // Until the holder has run the onCancel task (it notices within a heartbeat, 1 s here, and
    // the task sleeps 1 s), both instances show the run building.
    await new Promise((r) => setTimeout(r, 500));
    for (const s of servers)
      expect((await s.api<Run>('GET', '/api/pipelines/deploy/runs/1')).body.status).toBe(
        'building',
      );
    expect(existsSync(join(out, 'undone'))).toBe(false);
    const answer = await cancelling;
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('cancelled');
    expect(readFileSync(join(out, 'undone'), 'utf8')).toBe('deploy\n');
    const took = Date.now() - started;
    console.info(`cancel through the other instance answered after ${took} ms (onCancel: 1 s)`);
    expect(took).toBeLessThan(15_000);
    const run = (await holder.api<Run>('GET', '/api/pipelines/deploy/runs/1')).body;
    expect(run.stages.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(run.stages[0]?.jobs[0]?.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(join(out, 'after'))).toBe(false);
  }, 60_000);
});
