import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

describe('pipelines: fan-in, SIGKILL during a job, restart and re-run', () => {
  let dir: string;
  let repo: StaticServer;
  let flags: string;
  const servers: ServerProcess[] = [];
  let config: string;

  beforeAll(async () => {
    dir = tempRepoDir();
    flags = mkdtempSync(join(tmpdir(), 'hoist-flags-'));
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    config = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - name: verify
        jobs:
          - name: test
            tasks: [{ run: "if [ -f ${flags}/slow ]; then touch ${flags}/started; sleep 60; fi; echo tested $HOIST_PACKAGE_INTERNAL_APP_LABEL" }]
  - name: qa
    materials: [{ package: internal/app }, { pipeline: build, stage: verify }]
    stages:
      - name: check
        jobs: [{ name: c, tasks: [{ run: "echo qa $HOIST_PACKAGE_INTERNAL_APP_LABEL" }] }]
`);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(flags, { recursive: true, force: true });
  });

  it('runs fan-in pipelines once, with the revision the upstream ran with', async () => {
    const server = await startServer({ config });
    servers.push(server);
    const runs = async (p: string) =>
      (await server.api<Run[]>('GET', `/api/pipelines/${p}/runs`)).body;
    await eventually(
      async () => ((await runs('qa'))[0]?.status === 'passed' ? true : undefined),
      20_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const qa = await runs('qa');
    expect(qa).toHaveLength(1);
    expect(qa[0]?.trigger).toBe('upstream');
    expect(qa[0]?.cause.upstream).toEqual({ pipeline: 'build', counter: 1, stage: 'verify' });
    expect(qa[0]?.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');

    // SIGKILL while build #2's job runs.
    writeFileSync(join(flags, 'slow'), '');
    await buildRpms(dir, [{ name: 'app', version: '1.1' }]);
    await createrepo(dir);
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await eventually(async () => (existsSync(join(flags, 'started')) ? true : undefined), 20_000);
    // Once the job's process group is recorded (right after it starts: a kill in between is a
    // window no store write can close), the server is killed.
    await eventually(async () => {
      const runs = (await server.api<Run[]>('GET', '/api/pipelines/build/runs')).body;
      return runs.find((r) => r.counter === 2)?.stages[0]?.jobs[0]?.process ? true : undefined;
    }, 20_000);
    await server.kill9();
    rmSync(join(flags, 'slow'));

    const restarted = await startServer({ config, dataDir: server.dataDir });
    servers.push(restarted);
    const runsAfter = async (p: string) =>
      (await restarted.api<Run[]>('GET', `/api/pipelines/${p}/runs`)).body;
    const failed = await eventually(async () => {
      const r = (await runsAfter('build')).find((x) => x.counter === 2);
      return r?.status === 'failed' ? r : undefined;
    });
    expect(failed.stages[0]?.jobs[0]).toMatchObject({ status: 'failed', process: null });
    // Its processes, still running after the kill, were stopped before it was reported failed.
    expect(failed.stages[0]?.jobs[0]?.error).toMatch(
      /^the server stopped while this job was running; its processes \(process group \d+\) were stopped; re-run the stage$/,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect((await runsAfter('build')).map((r) => r.counter)).toEqual([2, 1]);
    expect(await runsAfter('qa')).toHaveLength(1);

    const rerun = await restarted.api<Run>('POST', '/api/pipelines/build/runs/2/stages/verify/run');
    expect(rerun.status).toBe(200);
    await eventually(
      async () =>
        (await runsAfter('build')).find((x) => x.counter === 2)?.status === 'passed'
          ? true
          : undefined,
      20_000,
    );
    const qa2 = await eventually(async () => {
      const list = await runsAfter('qa');
      return list.length === 2 && list[0]?.status === 'passed' ? list : undefined;
    }, 20_000);
    expect(qa2[0]?.cause.packages['internal/app']?.revision).toBe('app-1.1-1.noarch');
    expect(qa2[0]?.cause.upstream).toEqual({ pipeline: 'build', counter: 2, stage: 'verify' });
    await restarted.stop();
  }, 90_000);
});
