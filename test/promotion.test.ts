import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, ErrorBody, ScheduledRun } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { expectJobMatchesRecord, PRINT_APP, runsOf, until } from './helpers/runs.ts';
import { type ServerProcess, startServer, writeConfig } from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789abc';

/**
 * build -> deploy on a real repository (rpmbuild + createrepo_c over loopback): deploy gets the
 * package through build and has a manual production stage that only release managers open.
 */
describe('promotion: approvers on every path, rollback of a downstream pipeline', () => {
  let dir: string;
  let repo: StaticServer;
  let config: string;
  let server: ServerProcess;
  const servers: ServerProcess[] = [];
  const publish = async (version: string) => {
    await buildRpms(dir, [{ name: 'app', version, packager: 'Release Team <rt@example.com>' }]);
    await createrepo(dir);
  };
  const checkNow = () => server.api('POST', '/api/materials/check', { repository: 'internal' });
  const schedule = (pipeline: string, body: unknown, token = ALICE) =>
    server.api<ScheduledRun & Partial<ErrorBody>>(
      'POST',
      `/api/pipelines/${pipeline}/schedule`,
      body,
      token,
    );
  const approve = (counter: number, token: string) =>
    server.api<ErrorBody>(
      'POST',
      `/api/pipelines/deploy/runs/${counter}/stages/production/approve`,
      { comment: 'CAB-7' },
      token,
    );

  beforeAll(async () => {
    dir = tempRepoDir();
    await publish('1.0');
    repo = await serveDirectory(dir);
    config = writeConfig(`
auth:
  tokens:
    - { name: alice, role: operator, token: "${ALICE}", groups: [release-managers] }
    - { name: bob, role: operator, token: "${BOB}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - name: verify
        jobs:
          - name: test
            tasks: [{ run: '${PRINT_APP}; test "$HOIST_PACKAGE_INTERNAL_APP_VERSION" != 1.2' }]
  - name: deploy
    materials: [{ pipeline: build, stage: verify }]
    stages:
      - name: production
        approval: manual
        approvers: [release-managers]
        jobs: [{ name: install, tasks: [{ run: '${PRINT_APP}' }] }]
`);
    server = await startServer({ config });
    servers.push(server);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets only the approvers open production: approve and schedule alike, refusals audited', async () => {
    await until(server, 'build', 1, (r) => r.status === 'passed');
    const waiting = await until(server, 'deploy', 1, (r) => r.status === 'waiting');
    expect(waiting.trigger).toBe('upstream');

    const refusedApproval = await approve(1, BOB);
    expect(refusedApproval.status).toBe(403);
    expect(refusedApproval.body.error?.message).toBe(
      "only release-managers may approve stage 'production' of deploy",
    );
    // Triggering a pipeline whose first stage is manual opens that stage: the same people only.
    const refusedRun = await schedule('deploy', {}, BOB);
    expect(refusedRun.status).toBe(403);
    expect(refusedRun.body.error?.message).toBe(
      "only release-managers may run stage 'production' of deploy",
    );
    const cli = await runHoist(['trigger', 'deploy', '--server', server.url], { HOIST_TOKEN: BOB });
    expect(cli.code).toBe(4);
    expect(cli.stderr).toContain('only release-managers may run');
    expect((await runsOf(server, 'deploy')).map((r) => r.counter)).toEqual([1]);

    const audit = (await server.api<AuditEntry[]>('GET', '/api/audit')).body;
    const bobs = audit.filter((e) => e.actor === 'bob').map((e) => `${e.action} ${e.outcome}`);
    expect(bobs).toContain('POST /api/pipelines/:name/runs/:counter/stages/:stage/approve 403');
    expect(bobs).toContain('POST /api/pipelines/:name/schedule 403');

    expect((await approve(1, ALICE)).status).toBe(200);
    const passed = await until(server, 'deploy', 1, (r) => r.status === 'passed');
    expect(passed.stages[0]?.approvedBy).toBe('alice');
    await expectJobMatchesRecord(
      server,
      passed,
      'deploy',
      'production',
      'install',
      'app-1.0-1.noarch',
    );
  });

  it('deploys 1.1 after it passed build, started by a check-now', async () => {
    await publish('1.1');
    expect((await checkNow()).status).toBe(202);
    const build = await until(server, 'build', 2, (r) => r.status === 'passed');
    expect(build.trigger).toBe('check-now');
    await expectJobMatchesRecord(server, build, 'build', 'verify', 'test', 'app-1.1-1.noarch');
    await until(server, 'deploy', 2, (r) => r.status === 'waiting');
    expect((await approve(2, ALICE)).status).toBe(200);
    const deployed = await until(server, 'deploy', 2, (r) => r.status === 'passed');
    await expectJobMatchesRecord(
      server,
      deployed,
      'deploy',
      'production',
      'install',
      'app-1.1-1.noarch',
    );
  });

  it('rolls deploy back to 1.0 by package revision: the run of build that passed with it', async () => {
    const rolled = await schedule('deploy', {
      revisions: { 'internal/app': 'app-1.0-1.noarch' },
      comment: 'INC-12: roll back',
    });
    expect(rolled.status).toBe(202);
    const run = await until(server, 'deploy', rolled.body.counter, (r) => r.status === 'passed');
    expect(run.trigger).toBe('manual');
    expect(run.triggeredBy).toBe('alice');
    // Scheduling it was the approval, and it is recorded as such.
    expect(run.stages[0]?.approvedBy).toBe('alice');
    expect(run.stages[0]?.approvalComment).toBe('INC-12: roll back');
    expect(run.cause.materials).toEqual([
      { material: 'build/verify', type: 'pipeline', revision: 'build/1/verify', changed: true },
    ]);
    await expectJobMatchesRecord(
      server,
      run,
      'deploy',
      'production',
      'install',
      'app-1.0-1.noarch',
    );
    // An operator outside the approvers cannot roll back either.
    expect(
      (await schedule('deploy', { revisions: { 'internal/app': 'app-1.0-1.noarch' } }, BOB)).status,
    ).toBe(403);
  });

  it('refuses to deploy a revision that never passed build', async () => {
    await publish('1.2');
    await checkNow();
    await until(server, 'build', 3, (r) => r.status === 'failed');
    const before = (await runsOf(server, 'deploy')).length;
    const refused = await schedule('deploy', { revisions: { 'internal/app': 'app-1.2-1.noarch' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error?.message).toBe(
      "no run of 'build' passed stage 'verify' with internal/app app-1.2-1.noarch: only a tested package can be promoted",
    );
    const byFailedRun = await schedule('deploy', { upstream: { build: 3 } });
    expect(byFailedRun.status).toBe(409);
    const typo = await schedule('deploy', { revision: { 'internal/app': 'app-1.0-1.noarch' } });
    expect(typo.status).toBe(400);
    const unnamed = await schedule('deploy', { revisions: { app: 'app-1.0-1.noarch' } });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error?.message).toContain("a package is named 'repository/package'");
    expect((await runsOf(server, 'deploy')).length).toBe(before);
  });

  it('pins deploy by upstream run, from the CLI', async () => {
    const cli = await runHoist(
      ['trigger', 'deploy', '--upstream', 'build=1', '--follow', '--json', '--server', server.url],
      { HOIST_TOKEN: ALICE },
    );
    expect(cli.stderr).not.toContain('error');
    expect(cli.code).toBe(0);
    const run = JSON.parse(cli.stdout) as { counter: number; status: string };
    expect(run.status).toBe('passed');
    const recorded = await until(server, 'deploy', run.counter, (r) => r.status === 'passed');
    expect(recorded.cause.materials[0]?.revision).toBe('build/1/verify');
    await expectJobMatchesRecord(
      server,
      recorded,
      'deploy',
      'production',
      'install',
      'app-1.0-1.noarch',
    );
    const bad = await runHoist(
      ['trigger', 'deploy', '--upstream', 'build', '--server', server.url],
      {
        HOIST_TOKEN: ALICE,
      },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("hoist: --upstream takes PIPELINE=COUNTER, got 'build'");
    // Two pins of one package that disagree are refused, not settled by the last one.
    const twice = await runHoist(
      [
        'trigger',
        'deploy',
        '--revision',
        'internal/app=app-1.0-1.noarch',
        '--revision',
        'internal/app=app-1.1-1.noarch',
        '--server',
        server.url,
      ],
      { HOIST_TOKEN: ALICE },
    );
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe(
      "hoist: --revision pins 'internal/app' twice: app-1.0-1.noarch and app-1.1-1.noarch",
    );
    const notANumber = await runHoist(
      ['approve', 'deploy', 'x', 'production', '--server', server.url],
      {
        HOIST_TOKEN: ALICE,
      },
    );
    expect(notANumber.code).toBe(2);
    expect(notANumber.stderr).toContain('must be a run number, e.g. 12');
  });

  it('on a fresh server, rolls back to a revision the repository has but the server never saw', async () => {
    const fresh = await startServer({ config });
    servers.push(fresh);
    // Its first poll sees only the newest, 1.2, which fails build.
    await until(fresh, 'build', 1, (r) => r.status === 'failed');
    const never = await fresh.api<ScheduledRun>(
      'POST',
      '/api/pipelines/build/schedule',
      { revisions: { 'internal/app': 'app-1.0-1.noarch' } },
      ALICE,
    );
    expect(never.status).toBe(202);
    const build = await until(fresh, 'build', never.body.counter, (r) => r.status === 'passed');
    await expectJobMatchesRecord(fresh, build, 'build', 'verify', 'test', 'app-1.0-1.noarch');
    expect(build.cause.packages['internal/app']?.data.LOCATION).toBe(
      `${repo.url}/app-1.0-1.noarch.rpm`,
    );
    const missing = await fresh.api<ErrorBody>(
      'POST',
      '/api/pipelines/build/schedule',
      { revisions: { 'internal/app': 'app-0.1-1.noarch' } },
      ALICE,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe(
      "no revision 'app-0.1-1.noarch' of 'internal/app' in its history or in the repository",
    );
    // The downstream pipeline then gets that tested package, once an approver opens it.
    const deploy = await until(fresh, 'deploy', 1, (r) => r.status === 'waiting');
    expect(deploy.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');
  });
});
