import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, PipelineView, Run } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const OLGA = 'olga-operator-token-0123456789';
const VIC = 'vic-viewer-token-0123456789ab';

describe('pipeline locks (server process, real yum repository)', () => {
  let dir: string;
  let gates: string;
  let home: string;
  let repo: StaticServer;
  let server: ServerProcess;
  let config: string;

  const run = async (pipeline: string, counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/${pipeline}/runs/${counter}`)).body;
  const settled = (pipeline: string, counter: number, test: (r: Run) => boolean, ms = 30_000) =>
    eventually(async () => {
      const r = await run(pipeline, counter).catch(() => undefined);
      return r && typeof r === 'object' && 'status' in r && test(r) ? r : undefined;
    }, ms);
  const publish = async (version: string) => {
    await buildRpms(dir, [{ name: 'app', version }]);
    await createrepo(dir);
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
  };
  const hoist = (args: string[], token: string) =>
    runHoist(args, { HOIST_TOKEN: token, HOIST_SERVER: server.url, XDG_CONFIG_HOME: home });

  beforeAll(async () => {
    dir = tempRepoDir();
    gates = mkdtempSync(join(tmpdir(), 'hoist-gates-'));
    home = mkdtempSync(join(tmpdir(), 'hoist-home-'));
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    config = `
auth:
  tokens:
    - { name: olga, role: operator, token: "${OLGA}" }
    - { name: vic, role: viewer, token: "${VIC}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages:
      - name: app
        config: { PACKAGE_SPEC: "app" }
        pollInterval: 1h
pipelines:
  - name: deploy
    lock: unlockWhenFinished
    materials: [{ package: internal/app }]
    stages:
      - name: roll-out
        jobs:
          - name: install
            # A slow deploy: the first one goes on when the test lets it, then takes a second.
            tasks:
              - run: 'while [ ! -e "${gates}/$HOIST_PIPELINE_COUNTER" ]; do sleep 0.05; done; sleep 1'
  - name: guarded
    lock: lockOnFailure
    materials: [{ package: internal/app }]
    stages:
      - name: roll-out
        jobs:
          - name: install
            tasks: [{ run: 'test "$HOIST_PACKAGE_INTERNAL_APP_LABEL" != app-1.0-1.noarch' }]
`;
    // Heartbeats every second: what a heartbeat does shows within the test's patience.
    server = await startServer({ config: writeConfig(config), env: { HOIST_LEASE_MS: '3000' } });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    for (const d of [dir, gates, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('unlockWhenFinished: a new revision waits, visibly, until the running deploy finished', async () => {
    const first = await settled('deploy', 1, (r) => r.stages[0]?.status === 'building');
    expect(first.waitingFor).toBeUndefined();
    await publish('1.1');
    const waiting = await settled('deploy', 2, (r) => r.waitingFor !== undefined);
    expect(waiting.cause.packages['internal/app']?.revision).toBe('app-1.1-1.noarch');
    expect(waiting.status).toBe('building');
    expect(waiting.stages[0]?.status).toBe('scheduled');
    expect(waiting.waitingFor).toBe("the lock of pipeline 'deploy', held by run 1 (building)");
    const listed = (await server.api<Run[]>('GET', '/api/pipelines/deploy/runs')).body;
    expect(listed.find((r) => r.counter === 2)?.waitingFor).toBe(waiting.waitingFor);
    const pipeline = await server.api<PipelineView>('GET', '/api/pipelines/deploy');
    expect(pipeline.body).toMatchObject({
      lock: 'unlockWhenFinished',
      locked: { heldBy: 1, state: 'running' },
    });
    const overview = (await server.api<PipelineView[]>('GET', '/api/pipelines')).body;
    expect(overview.find((p) => p.name === 'deploy')?.locked).toEqual({
      heldBy: 1,
      state: 'running',
    });
    // Still waiting a while later: nothing starts it but the end of run 1.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await run('deploy', 2)).stages[0]?.status).toBe('scheduled');
    writeFileSync(join(gates, '2'), '');
    writeFileSync(join(gates, '1'), '');
    const done1 = await settled('deploy', 1, (r) => r.status === 'passed');
    const done2 = await settled('deploy', 2, (r) => r.status === 'passed');
    expect(done2.waitingFor).toBeUndefined();
    const started2 = Date.parse(done2.stages[0]?.startedAt ?? '');
    const finished1 = Date.parse(done1.finishedAt ?? '');
    console.info(`deploy/2 started ${started2 - finished1} ms after deploy/1 finished`);
    expect(started2).toBeGreaterThanOrEqual(finished1);
    expect((await server.api<PipelineView>('GET', '/api/pipelines/deploy')).body.locked).toBe(
      undefined,
    );
  });

  it('lockOnFailure: a failed run keeps the pipeline locked until an operator unlocks it, audited', async () => {
    const failed = await settled('guarded', 1, (r) => r.status === 'failed');
    // Run 2 (app 1.1, published above) waits for the lock that failed run 1 keeps.
    const waiting = await settled('guarded', 2, (r) => r.waitingFor !== undefined);
    expect(waiting.waitingFor).toBe(
      "the lock of pipeline 'guarded', held by run 1 (failed); it stays locked until unlocked or that run passes",
    );
    expect((await server.api('GET', '/api/pipelines/guarded')).body).toMatchObject({
      locked: { heldBy: 1, state: 'failed' },
    });
    // `hoist pipelines` shows who holds the lock.
    const listed = await hoist(['pipelines'], VIC);
    expect(listed.stdout).toMatch(/^PIPELINE\s+PAUSED\s+LOCKED BY\s+RUN/);
    expect(listed.stdout).toMatch(/^guarded\s+no\s+#1 \(failed\)\s+2\s+waiting for the lock/m);
    // Unlocking a pipeline that is not locked, or as a viewer, is refused.
    const notLocked = await hoist(['unlock', 'deploy'], OLGA);
    expect(notLocked).toMatchObject({
      code: 5,
      stderr: "hoist: pipeline 'deploy' is not locked\n",
    });
    expect((await hoist(['unlock', 'guarded'], VIC)).code).toBe(4);
    expect((await run('guarded', 2)).stages[0]?.status).toBe('scheduled');
    // The holder may run its failed stage again (the others wait); failing again, it keeps it.
    const rerun = await server.api<Run>(
      'POST',
      '/api/pipelines/guarded/runs/1/stages/roll-out/run',
    );
    expect(rerun.status).toBe(200);
    const again = await settled(
      'guarded',
      1,
      (r) => r.status === 'failed' && r.stages[0]?.startedAt !== failed.stages[0]?.startedAt,
    );
    expect(again.stages[0]?.status).toBe('failed');
    expect((await run('guarded', 2)).waitingFor).toContain('held by run 1 (failed)');

    const before = Date.now();
    const unlocked = await hoist(['unlock', 'guarded'], OLGA);
    expect(unlocked).toMatchObject({
      code: 0,
      stdout: 'unlocked guarded (it was held by run 1)\n',
    });
    const passed = await settled('guarded', 2, (r) => r.status === 'passed');
    expect(Date.parse(passed.stages[0]?.startedAt ?? '')).toBeGreaterThanOrEqual(
      Math.max(before - 5, Date.parse(again.finishedAt ?? '')),
    );
    const audit = await server.api<AuditEntry[]>('GET', '/api/audit');
    expect(audit.body).toContainEqual(
      expect.objectContaining({
        actor: 'olga',
        action: 'POST /api/pipelines/:name/unlock',
        target: 'guarded',
        outcome: 200,
      }),
    );
    expect(audit.body).toContainEqual(
      expect.objectContaining({ actor: 'olga', target: 'deploy', outcome: 409 }),
    );
    // Unlocked, and the run that passed gave it back.
    expect((await hoist(['unlock', 'guarded'], OLGA)).code).toBe(5);
  });

  it('lets the waiting runs go on when the pipeline no longer locks', async () => {
    await publish('1.2');
    const third = await settled('deploy', 3, (r) => r.stages[0]?.status === 'building');
    await publish('1.3');
    const fourth = await settled('deploy', 4, (r) => r.waitingFor !== undefined);
    expect(fourth.waitingFor).toBe(
      `the lock of pipeline 'deploy', held by run ${third.counter} (building)`,
    );
    const applied = await server.api(
      'POST',
      '/api/config/apply',
      config.replace('lock: unlockWhenFinished', 'lock: none'),
    );
    expect(applied.status).toBe(200);
    // Within a heartbeat, run 4 starts beside run 3, which still runs.
    const started = await settled('deploy', 4, (r) => r.stages[0]?.status === 'building', 10_000);
    expect(started.waitingFor).toBeUndefined();
    expect((await run('deploy', 3)).stages[0]?.status).toBe('building');
    expect((await server.api<PipelineView>('GET', '/api/pipelines/deploy')).body.locked).toBe(
      undefined,
    );
    writeFileSync(join(gates, '3'), '');
    writeFileSync(join(gates, '4'), '');
    await settled('deploy', 3, (r) => r.status === 'passed');
    await settled('deploy', 4, (r) => r.status === 'passed');
  });
});
