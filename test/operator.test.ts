import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, ErrorBody, Promotion, Run } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789abc';
const CAROL = 'carol-token-0123456789';

describe('promotion governance and the operator commands (real server)', () => {
  let dir: string;
  let server: ServerProcess;
  const run = async (p: string, c: number) =>
    (await server.api<Run>('GET', `/api/pipelines/${p}/runs/${c}`)).body;
  const until = (p: string, c: number, check: (r: Run) => boolean) =>
    eventually(async () => {
      const r = await run(p, c).catch(() => undefined);
      return r?.stages && check(r) ? r : undefined;
    }, 20_000);

  beforeAll(async () => {
    dir = handmadeRepo([{ name: 'app', version: '1.0' }]);
    server = await startServer({
      config: writeConfig(`
auth:
  tokens:
    - { name: alice, role: operator, token: "${ALICE}", groups: [release-managers] }
    - { name: bob, role: operator, token: "${BOB}" }
    - { name: carol, role: operator, token: "${CAROL}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(dir).href}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - { name: verify, jobs: [{ name: record, tasks: [{ run: "echo verified $HOIST_PACKAGE_INTERNAL_APP_LABEL" }] }] }
      - name: production
        approval: manual
        approvers: [release-managers, carol]
        jobs: [{ name: install, tasks: [{ run: "echo installed" }] }]
  - name: strict
    materials: [{ package: internal/app }]
    stages:
      - { name: one, jobs: [{ name: j, tasks: [{ run: "exit 1" }] }] }
      - { name: two, approval: manual, allowOnlyOnSuccess: true, jobs: [{ name: j, tasks: [{ run: "true" }] }] }
  - name: lenient
    materials: [{ package: internal/app }]
    stages:
      - { name: one, jobs: [{ name: j, tasks: [{ run: "exit 1" }] }] }
      - { name: two, approval: manual, jobs: [{ name: j, tasks: [{ run: "echo promoted anyway" }] }] }
`),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets only the named approvers (or a group of theirs) open a gate, with a comment kept', async () => {
    await until('build', 1, (r) => r.stages[1]?.status === 'awaiting_approval');
    const refused = await server.api<ErrorBody>(
      'POST',
      '/api/pipelines/build/runs/1/stages/production/approve',
      {},
      BOB,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      "only release-managers, carol may approve stage 'production' of build",
    );
    const approved = await server.api(
      'POST',
      '/api/pipelines/build/runs/1/stages/production/approve',
      { comment: 'CAB-42 approved' },
      ALICE,
    );
    expect(approved.status).toBe(200);
    const passed = await until('build', 1, (r) => r.status === 'passed');
    expect(passed.stages[1]?.approvedBy).toBe('alice');
  });

  it('refuses to promote past a failed stage when allowOnlyOnSuccess is set, and allows it otherwise', async () => {
    await until('strict', 1, (r) => r.status === 'failed');
    const strict = await server.api<ErrorBody>(
      'POST',
      '/api/pipelines/strict/runs/1/stages/two/approve',
      {},
      CAROL,
    );
    expect(strict.status).toBe(409);
    expect(strict.body.error.message).toBe(
      "stage 'two' may be approved only when 'one' passed; it failed",
    );
    await until('lenient', 1, (r) => r.status === 'failed');
    expect(
      (
        await server.api(
          'POST',
          '/api/pipelines/lenient/runs/1/stages/two/approve',
          { comment: 'hotfix' },
          CAROL,
        )
      ).status,
    ).toBe(200);
    await until('lenient', 1, (r) => r.status === 'passed');
  });

  it('keeps the promotion history of each package revision: stages reached, who, when, why', async () => {
    const history = await server.api<Promotion[]>('GET', '/api/promotions?material=internal/app');
    expect(history.status).toBe(200);
    const entry = history.body.find((h) => h.revision === 'app-1.0-1.noarch');
    const build = entry?.runs.find((r) => r.pipeline === 'build');
    expect(build?.stages[1]).toMatchObject({
      name: 'production',
      status: 'passed',
      approvedBy: 'alice',
      comment: 'CAB-42 approved',
    });
    expect(Date.parse(build?.stages[1]?.approvedAt ?? '')).toBeGreaterThan(0);
    const audit = await server.api<AuditEntry[]>('GET', '/api/audit');
    expect(audit.body).toContainEqual(
      expect.objectContaining({ actor: 'alice', target: 'build/1/production' }),
    );
  });

  it('offers every operator command, as tables and as JSON', async () => {
    const env = { HOIST_TOKEN: ALICE, HOIST_SERVER: server.url, XDG_CONFIG_HOME: dir };
    const pipelines = await runHoist(['pipelines'], env);
    expect(pipelines.code).toBe(0);
    expect(pipelines.stdout).toMatch(/^PIPELINE\s+PAUSED\s+RUN\s+STATUS/);
    expect(pipelines.stdout).toMatch(/\nbuild\s+no\s+1\s+passed\s+app-1\.0-1\.noarch/);
    const pipelinesJson = JSON.parse((await runHoist(['pipelines', '--json'], env)).stdout);
    expect(pipelinesJson.map((p: { name: string }) => p.name).sort()).toEqual([
      'build',
      'lenient',
      'strict',
    ]);

    expect((await runHoist(['runs', 'build'], env)).stdout).toMatch(/\n1\s+passed\s+poll/);
    expect(JSON.parse((await runHoist(['runs', 'build', '--json'], env)).stdout)[0].counter).toBe(
      1,
    );

    const materials = await runHoist(['materials'], env);
    expect(materials.stdout).toMatch(/internal\/app\s+app-1\.0-1\.noarch/);
    expect(JSON.parse((await runHoist(['materials', '--json'], env)).stdout)[0].package).toBe(
      'app',
    );

    const instances = await runHoist(['instances'], env);
    expect(instances.stdout).toMatch(/^INSTANCE\s+URL\s+ALIVE\s+HEARTBEAT\s+CHECKING\s+RUNS\n/);
    expect(instances.stdout).toMatch(/\(this one\)\s+http:\/\/127\.0\.0\.1:\d+\s+yes\s/);
    const instancesJson = JSON.parse((await runHoist(['instances', '--json'], env)).stdout);
    expect(instancesJson).toHaveLength(1);
    expect(instancesJson[0]).toMatchObject({ alive: true, self: true, url: server.url });

    const checked = await runHoist(['check-now', 'internal'], env);
    expect(checked).toMatchObject({ code: 0, stdout: 'checking internal/app\n' });

    const triggered = await runHoist(
      ['trigger', 'build', '--revision', 'internal/app=app-1.0-1.noarch', '--follow'],
      env,
    );
    expect(triggered.code).toBe(0);
    expect(triggered.stdout).toBe('build/2 waiting\n');
    expect(triggered.stderr).toMatch(/build\/2 (building|waiting)\s+verify:/);
    const approved = await runHoist(
      ['approve', 'build', '2', 'production', '--comment', 'ship it', '--json'],
      env,
    );
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout).counter).toBe(2);

    const logs = await runHoist(['logs', 'build', '1', 'verify', 'record'], env);
    expect(logs.stdout).toContain('verified app-1.0-1.noarch');
    const followed = await runHoist(
      ['logs', 'build', '2', 'production', 'install', '--follow'],
      env,
    );
    expect(followed.stdout).toContain('installed');
  }, 60_000);

  it('cancels a run, and pauses and unpauses a pipeline, from the command line', async () => {
    const env = { HOIST_TOKEN: ALICE, HOIST_SERVER: server.url, XDG_CONFIG_HOME: dir };
    const triggered = await runHoist(['trigger', 'build', '--json'], env);
    const counter = JSON.parse(triggered.stdout).counter as number;
    await until('build', counter, (r) => r.status === 'waiting');
    const cancelled = await runHoist(['cancel', 'build', String(counter)], env);
    expect(cancelled).toMatchObject({ code: 0, stdout: `build/${counter} is cancelled\n` });
    expect((await run('build', counter)).status).toBe('cancelled');
    const again = await runHoist(['cancel', 'build', String(counter)], env);
    expect(again.code).toBe(5);
    expect(again.stderr).toBe(`hoist: run build/${counter} has already ended (cancelled)\n`);
    expect((await runHoist(['cancel', 'build', 'x'], env)).code).toBe(2);

    expect(await runHoist(['pause', 'lenient'], env)).toMatchObject({
      code: 0,
      stdout: 'lenient is paused\n',
    });
    const paused = await server.api<{ paused: boolean }>('GET', '/api/pipelines/lenient');
    expect(paused.body.paused).toBe(true);
    expect((await runHoist(['unpause', 'lenient', '--json'], env)).stdout).toContain(
      '"paused": false',
    );
    const viewer = await runHoist(['pause', 'lenient'], {
      ...env,
      HOIST_TOKEN: 'nobody-0123456789abc',
    });
    expect(viewer.code).toBe(4);
  }, 60_000);

  it('fails with one line and an exit code scripts can rely on', async () => {
    const env = { HOIST_SERVER: server.url, XDG_CONFIG_HOME: dir };
    const wrong = await runHoist(['pipelines'], { ...env, HOIST_TOKEN: 'wrong-token-0123456789' });
    expect(wrong).toMatchObject({ code: 4, stderr: 'hoist: A valid bearer token is required\n' });
    const unknown = await runHoist(['runs', 'nope'], { ...env, HOIST_TOKEN: ALICE });
    expect(unknown).toMatchObject({ code: 3, stderr: "hoist: no pipeline 'nope'\n" });
    const conflict = await runHoist(['approve', 'build', '1', 'verify'], {
      ...env,
      HOIST_TOKEN: ALICE,
    });
    expect(conflict.code).toBe(5);
    const down = await runHoist(['materials', '--server', 'http://127.0.0.1:59999'], {
      ...env,
      HOIST_TOKEN: ALICE,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^hoist: cannot reach http:\/\/127\.0\.0\.1:59999: ECONNREFUSED\n$/,
    );
    const none = await runHoist(['materials'], { ...env, HOIST_TOKEN: '' });
    expect(none.code).toBe(4);
  });
});
