import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, PipelineView, Run, ScheduledRun } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const PASSWORD = 's3cr3t:pa/ss';

describe('pipelines (server process, real yum repository)', () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;

  const runs = async (pipeline: string) =>
    (await server.api<Run[]>('GET', `/api/pipelines/${pipeline}/runs`)).body;
  const run = async (pipeline: string, counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/${pipeline}/runs/${counter}`)).body;
  const log = async (path: string) => {
    const response = await fetch(`${server.url}/api/pipelines/${path}/log`, {
      headers: { authorization: 'Bearer admin-token-for-tests-0123456789' },
    });
    return response.text();
  };
  const settled = (pipeline: string, counter: number, status: string) =>
    eventually(async () => {
      const r = await run(pipeline, counter).catch(() => undefined);
      return r?.status === status ? r : undefined;
    }, 20_000);
  const publish = async (...versions: string[]) => {
    await buildRpms(
      dir,
      versions.map((version) => ({ name: 'app', version })),
    );
    await createrepo(dir);
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
  };

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir, { auth: { username: 'ci', password: PASSWORD } });
    server = await startServer({
      env: { REPO_PASSWORD: PASSWORD },
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}", USERNAME: ci, PASSWORD: "\${env:REPO_PASSWORD}" }
    packages:
      - name: app
        config: { PACKAGE_SPEC: "app" }
        pollInterval: 1h
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - name: verify
        jobs:
          - name: record
            tasks:
              - run: echo "label=$HOIST_PACKAGE_INTERNAL_APP_LABEL location=$HOIST_PACKAGE_INTERNAL_APP_LOCATION"
              - run: echo "password=$HOIST_REPO_INTERNAL_APP_PASSWORD in $HOIST_PIPELINE_NAME/$HOIST_PIPELINE_COUNTER/$HOIST_STAGE_NAME/$HOIST_JOB_NAME"
  - name: deploy
    materials: [{ pipeline: build, stage: verify }]
    stages:
      - name: production
        approval: manual
        jobs:
          - name: install
            tasks: [{ exec: ["sh", "-c", "echo deploying $HOIST_PACKAGE_INTERNAL_APP_LABEL"] }]
  - name: every
    materials: [{ package: internal/app, trigger: every }]
    stages:
      - name: note
        jobs: [{ name: n, tasks: [{ run: "true" }] }]
  - name: slow
    materials: [{ package: internal/app }]
    stages:
      - name: wait
        approval: manual
        jobs: [{ name: sleeper, tasks: [{ run: "echo started; sleep 60" }] }]
  - name: fails
    materials: [{ package: internal/app }]
    stages:
      - name: one
        jobs: [{ name: bad, tasks: [{ run: "echo about to fail; exit 3" }] }]
      - name: two
        jobs: [{ name: never, tasks: [{ run: "true" }] }]
`),
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs build for the first revision, with the package in the job environment and secrets masked', async () => {
    const first = await settled('build', 1, 'passed');
    expect(first.trigger).toBe('poll');
    expect(first.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');
    const text = await log('build/runs/1/stages/verify/jobs/record');
    expect(text).toContain(`label=app-1.0-1.noarch location=${repo.url}/app-1.0-1.noarch.rpm`);
    expect(text).toContain('password=******** in build/1/verify/record');
    expect(text).not.toContain(PASSWORD);
  });

  it('stops deploy at its manual stage and runs it only after approval, with the same package', async () => {
    const waiting = await settled('deploy', 1, 'waiting');
    expect(waiting.stages[0]?.status).toBe('awaiting_approval');
    expect(waiting.cause.upstream).toEqual({ pipeline: 'build', counter: 1, stage: 'verify' });
    await publish('1.1');
    const build2 = await settled('build', 2, 'passed');
    expect(build2.cause.packages['internal/app']?.revision).toBe('app-1.1-1.noarch');
    const deploy2 = await settled('deploy', 2, 'waiting');
    expect(deploy2.cause.packages['internal/app']?.revision).toBe('app-1.1-1.noarch');
    const approved = await server.api<Run>(
      'POST',
      '/api/pipelines/deploy/runs/2/stages/production/approve',
    );
    expect(approved.status).toBe(200);
    const done = await settled('deploy', 2, 'passed');
    expect(done.stages[0]?.approvedBy).toBe('admin');
    expect(await log('deploy/runs/2/stages/production/jobs/install')).toContain(
      'deploying app-1.1-1.noarch',
    );
    const again = await server.api<ErrorBody>(
      'POST',
      '/api/pipelines/deploy/runs/2/stages/production/approve',
    );
    expect(again.status).toBe(409);
  });

  it('runs a trigger: every pipeline once per new revision, in version order', async () => {
    const before = (await runs('every')).length;
    await publish('1.3', '1.2');
    await eventually(
      async () => ((await runs('every')).length >= before + 2 ? true : undefined),
      20_000,
    );
    const latest = (await runs('every')).slice(0, 2).reverse();
    expect(latest.map((r) => r.cause.packages['internal/app']?.revision)).toEqual([
      'app-1.2-1.noarch',
      'app-1.3-1.noarch',
    ]);
  });

  it('never runs twice for the same revisions because of a poll', async () => {
    const count = (await runs('build')).length;
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await runs('build')).length).toBe(count);
  });

  it('runs a pinned revision on demand (rollback), recording who asked', async () => {
    const scheduled = await server.api<ScheduledRun>('POST', '/api/pipelines/build/schedule', {
      revisions: { 'internal/app': 'app-1.0-1.noarch' },
    });
    expect(scheduled.status).toBe(202);
    const pinned = await settled('build', scheduled.body.counter, 'passed');
    expect(pinned.trigger).toBe('manual');
    expect(pinned.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');
    const unknown = await server.api('POST', '/api/pipelines/build/schedule', {
      revisions: { 'internal/app': 'app-9.9-1.noarch' },
    });
    expect(unknown.status).toBe(404);
  });

  it('fails a run at its first failing stage and never starts the next', async () => {
    const failed = await settled('fails', 1, 'failed');
    expect(failed.stages.map((s) => s.status)).toEqual(['failed', 'scheduled']);
    expect(await log('fails/runs/1/stages/one/jobs/bad')).toContain(
      'hoist: task failed: exited with code 3',
    );
  });

  it('cancels a running run, killing its job', async () => {
    const scheduled = await server.api<ScheduledRun>('POST', '/api/pipelines/slow/schedule');
    const counter = scheduled.body.counter;
    await eventually(
      async () =>
        (await run('slow', counter)).stages[0]?.jobs[0]?.status === 'building' ? true : undefined,
      20_000,
    );
    const started = Date.now();
    const cancelled = await server.api<Run>('POST', `/api/pipelines/slow/runs/${counter}/cancel`);
    expect(cancelled.status).toBe(200);
    const done = await settled('slow', counter, 'cancelled');
    expect(done.stages[0]?.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await server.api('POST', `/api/pipelines/slow/runs/${counter}/cancel`)).status).toBe(
      409,
    );
  });

  it('does not schedule a paused pipeline, and does again once unpaused', async () => {
    expect((await server.api('POST', '/api/pipelines/every/pause')).status).toBe(200);
    const before = (await runs('every')).length;
    const buildBefore = (await runs('build')).length;
    await publish('1.4');
    await eventually(
      async () => ((await runs('build')).length > buildBefore ? true : undefined),
      20_000,
    );
    expect((await runs('every')).length).toBe(before);
    const listed = await server.api<PipelineView[]>('GET', '/api/pipelines');
    expect(listed.body.find((p) => p.name === 'every')?.paused).toBe(true);
    expect((await server.api('POST', '/api/pipelines/every/unpause')).status).toBe(200);
    await publish('1.5');
    await eventually(
      async () => ((await runs('every')).length > before ? true : undefined),
      20_000,
    );
  });
});
