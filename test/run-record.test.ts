import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduledRun } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { expectJobMatchesRecord, PRINT_APP, type Run, runOf, until } from './helpers/runs.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Every path that creates a run, on a real repository: what the jobs receive is what the run
 * records, and every description of the cause agrees with that record.
 */
describe('one truthful run record, on every path that creates a run', () => {
  let dir: string;
  let flags: string;
  let repo: StaticServer;
  let config: string;
  let server: ServerProcess;
  const servers: ServerProcess[] = [];
  const passed = (p: string, c: number) => until(server, p, c, (r) => r.status === 'passed');
  const schedule = async (pipeline: string, body: unknown) => {
    const answer = await server.api<ScheduledRun>(
      'POST',
      `/api/pipelines/${pipeline}/schedule`,
      body,
    );
    expect(answer.status).toBe(202);
    return answer.body.counter;
  };

  beforeAll(async () => {
    dir = tempRepoDir();
    flags = mkdtempSync(join(tmpdir(), 'hoist-flags-'));
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    // qa lists the package as well as build: the package must still be the one build tested.
    config = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages: [{ name: verify, jobs: [{ name: test, tasks: [{ run: '${PRINT_APP}' }] }] }]
  - name: qa
    materials: [{ pipeline: build, stage: verify }, { package: internal/app }]
    stages: [{ name: check, jobs: [{ name: c, tasks: [{ run: '${PRINT_APP}' }] }] }]
  - name: release
    materials: [{ package: internal/app }]
    stages:
      - name: ship
        jobs:
          - name: s
            tasks: [{ run: 'if [ -f ${flags}/slow ]; then touch ${flags}/started; sleep 60; fi; ${PRINT_APP}' }]
`);
    server = await startServer({ config });
    servers.push(server);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(flags, { recursive: true, force: true });
  });

  it('poll and upstream pass', async () => {
    const build = await passed('build', 1);
    expect(build.trigger).toBe('poll');
    await expectJobMatchesRecord(server, build, 'build', 'verify', 'test', 'app-1.0-1.noarch');
    const qa = await passed('qa', 1);
    expect(qa.trigger).toBe('upstream');
    expect(qa.cause.upstream).toEqual({ pipeline: 'build', counter: 1, stage: 'verify' });
    await expectJobMatchesRecord(server, qa, 'qa', 'check', 'c', 'app-1.0-1.noarch');
    await expectJobMatchesRecord(server, await passed('release', 1), 'release', 'ship', 's');
  });

  it('check-now, and restart recovery with a re-run of the stage', async () => {
    await buildRpms(dir, [{ name: 'app', version: '1.1' }]);
    await createrepo(dir);
    writeFileSync(join(flags, 'slow'), '');
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    const build = await passed('build', 2);
    expect(build.trigger).toBe('check-now');
    await expectJobMatchesRecord(server, build, 'build', 'verify', 'test', 'app-1.1-1.noarch');
    await expectJobMatchesRecord(
      server,
      await passed('qa', 2),
      'qa',
      'check',
      'c',
      'app-1.1-1.noarch',
    );
    await eventually(async () => (existsSync(join(flags, 'started')) ? true : undefined), 20_000);

    await server.kill9();
    rmSync(join(flags, 'slow'));
    server = await startServer({ config, dataDir: server.dataDir });
    servers.push(server);
    const failed = await until(server, 'release', 2, (r) => r.status === 'failed');
    // Its processes, still running after the kill, were stopped before it was reported failed.
    expect(failed.stages[0]?.jobs[0]?.error).toMatch(
      /^the server stopped while this job was running; its processes \(process group \d+\) were stopped; re-run the stage$/,
    );
    // Re-run from the CLI, as the error asks a person to.
    const again = await runHoist(['rerun', 'release', '2', 'ship'], {
      HOIST_SERVER: server.url,
      HOIST_TOKEN: ADMIN_TOKEN,
    });
    expect(again.stdout).toMatch(/^re-running release\/2 ship; run is building\n$/);
    const rerun = await passed('release', 2);
    expect(rerun.cause).toEqual(failed.cause);
    await expectJobMatchesRecord(server, rerun, 'release', 'ship', 's', 'app-1.1-1.noarch');
  });

  it('pinned schedule of a package pipeline, and the upstream pass it causes', async () => {
    const counter = await schedule('build', { revisions: { 'internal/app': 'app-1.0-1.noarch' } });
    const build = await passed('build', counter);
    expect(build.trigger).toBe('manual');
    await expectJobMatchesRecord(server, build, 'build', 'verify', 'test', 'app-1.0-1.noarch');
    const qa = await eventually(async () => {
      const run = await runOf(server, 'qa', 3).catch(() => undefined);
      return run?.status === 'passed' ? run : undefined;
    }, 20_000);
    expect(qa.cause.upstream?.counter).toBe(counter);
    await expectJobMatchesRecord(server, qa, 'qa', 'check', 'c', 'app-1.0-1.noarch');
  });

  it('pinned schedule of a downstream pipeline, by revision and by upstream run, and a re-run', async () => {
    const byRevision = await passed(
      'qa',
      await schedule('qa', { revisions: { 'internal/app': 'app-1.1-1.noarch' } }),
    );
    // The newest build run that passed with 1.1 is build #2.
    expect(materialsOf(byRevision)).toEqual({
      'build/verify': 'build/2/verify',
      'internal/app': 'app-1.1-1.noarch',
    });
    await expectJobMatchesRecord(server, byRevision, 'qa', 'check', 'c', 'app-1.1-1.noarch');

    const byRun = await passed('qa', await schedule('qa', { upstream: { build: 1 } }));
    expect(materialsOf(byRun)).toEqual({
      'build/verify': 'build/1/verify',
      'internal/app': 'app-1.0-1.noarch',
    });
    await expectJobMatchesRecord(server, byRun, 'qa', 'check', 'c', 'app-1.0-1.noarch');

    const path = `/api/pipelines/qa/runs/${byRun.counter}/stages/check/run`;
    // Only a failed or cancelled stage runs again: this one passed.
    expect((await server.api('POST', path)).status).toBe(409);
    rmSync(join(flags, 'started'), { force: true });
    writeFileSync(join(flags, 'slow'), '');
    const cancelled = await schedule('release', {});
    await eventually(async () => (existsSync(join(flags, 'started')) ? true : undefined), 20_000);
    rmSync(join(flags, 'slow'));
    await server.api('POST', `/api/pipelines/release/runs/${cancelled}/cancel`);
    await until(server, 'release', cancelled, (r) => r.status === 'cancelled');
    expect(
      (await server.api('POST', `/api/pipelines/release/runs/${cancelled}/stages/ship/run`)).status,
    ).toBe(200);
    await expectJobMatchesRecord(
      server,
      await passed('release', cancelled),
      'release',
      'ship',
      's',
    );
  });
});

function materialsOf(run: Run): Record<string, string> {
  return Object.fromEntries(run.cause.materials.map((m) => [m.material, m.revision]));
}
