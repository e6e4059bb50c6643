import { cpSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Board, Run, ValueStream } from '../server/api/schemas/index.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

/** A fan-in: app and lib are built apart, release takes both builds' packages. */
describe('the board and the value stream over a fan-in', () => {
  let repo: string;
  let server: ServerProcess;
  const runs = async (p: string) =>
    (await server.api<Run[]>('GET', `/api/pipelines/${p}/runs`)).body;
  const passed = (p: string, n: number) =>
    eventually(async () => {
      const list = await runs(p);
      return list.length >= n && list.every((r) => r.status === 'passed') ? list : undefined;
    }, 30_000);

  beforeAll(async () => {
    repo = handmadeRepo([
      { name: 'app', version: '1.0' },
      { name: 'lib', version: '3.0' },
    ]);
    server = await startServer({
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }
      - { name: lib, config: { PACKAGE_SPEC: lib }, pollInterval: 1h }
pipelines:
  - name: release
    materials: [{ pipeline: build-app, stage: test }, { pipeline: build-lib, stage: test }]
    stages: [{ name: ship, jobs: [{ name: go, tasks: [{ run: "true" }] }] }]
  - name: build-app
    materials: [{ package: internal/app }]
    stages: [{ name: test, jobs: [{ name: unit, tasks: [{ run: "true" }] }] }]
  - name: build-lib
    materials: [{ package: internal/lib }]
    stages: [{ name: test, jobs: [{ name: unit, tasks: [{ run: "true" }] }] }]
  - name: docs
    materials: [{ package: internal/lib }]
    stages: [{ name: publish, jobs: [{ name: html, tasks: [{ run: "true" }] }] }]
`),
    });
    await passed('build-app', 1);
    await passed('build-lib', 1);
    await passed('release', 1);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  it('groups the pipelines by their dependencies, upstream first', async () => {
    const { body } = await server.api<Board>('GET', '/api/board');
    expect(body.groups.map((g) => g.pipelines.map((p) => p.pipeline.name))).toEqual([
      ['build-app', 'build-lib', 'release'],
      ['docs'],
    ]);
    const release = body.groups[0]?.pipelines[2];
    expect(release?.upstream).toEqual(['build-app', 'build-lib']);
    expect(body.groups[0]?.pipelines[0]?.downstream).toEqual(['release']);
    expect(release?.runs[0]?.cause.packages).toHaveProperty('internal/lib');
  });

  it("draws release's value stream with both packages and both builds coming in", async () => {
    const release = (await runs('release'))[0] as Run;
    const { status, body } = await server.api<ValueStream>(
      'GET',
      `/api/value-stream/release/${release.counter}`,
    );
    expect(status).toBe(200);
    expect(body.packages.map((p) => p.revision.revision).sort()).toEqual([
      'app-1.0-1.noarch',
      'lib-3.0-1.noarch',
    ]);
    const column = Object.fromEntries(body.runs.map((r) => [r.id, r.column]));
    // docs carried lib-3.0 too: every run with the same revision is in the stream.
    expect(column).toMatchObject({ 'run:build-app/1': 1, 'run:build-lib/1': 1, 'run:docs/1': 1 });
    expect(column[`run:release/${release.counter}`]).toBe(2);
    expect(body.edges).toEqual(
      expect.arrayContaining([
        { from: 'package:internal/app@app-1.0-1.noarch', to: 'run:build-app/1' },
        { from: 'package:internal/lib@lib-3.0-1.noarch', to: 'run:build-lib/1' },
        { from: 'package:internal/lib@lib-3.0-1.noarch', to: 'run:docs/1' },
        { from: 'run:build-app/1', to: `run:release/${release.counter}` },
        { from: 'run:build-lib/1', to: `run:release/${release.counter}` },
      ]),
    );
    expect(body.runs.filter((r) => r.current).map((r) => r.id)).toEqual([
      `run:release/${release.counter}`,
    ]);
  });

  it('marks a pinned run back to an older package as a rollback', async () => {
    cpSync(
      handmadeRepo([
        { name: 'app', version: '1.0' },
        { name: 'app', version: '1.1' },
        { name: 'lib', version: '3.0' },
      ]),
      repo,
      { recursive: true, force: true },
    );
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await passed('build-app', 2);
    const pinned = await server.api<{ counter: number }>(
      'POST',
      '/api/pipelines/build-app/schedule',
      {
        revisions: { 'internal/app': 'app-1.0-1.noarch' },
      },
    );
    expect(pinned.status).toBe(202);
    await passed('build-app', 3);
    const { body } = await server.api<Board>('GET', '/api/board');
    const app = body.groups[0]?.pipelines.find((p) => p.pipeline.name === 'build-app');
    expect(app?.rollbacks).toEqual([pinned.body.counter]);
    const stream = await server.api<ValueStream>('GET', '/api/value-stream/build-app/1');
    const flags = Object.fromEntries(stream.body.runs.map((r) => [r.id, r.rollback]));
    expect(flags['run:build-app/1']).toBe(false);
    expect(flags[`run:build-app/${pinned.body.counter}`]).toBe(true);
  });
});
