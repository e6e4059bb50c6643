import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoistEvent } from '../server/api/schemas/index.ts';
import { HOIST_BIN } from './helpers/cli.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { subscribe } from './helpers/sse.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const VIEWER = 'viewer-token-for-events-tests';

/** The events of one run, as `type stage/job`. */
const shape = (events: HoistEvent[]) =>
  events.map((e) => [e.type, e.stage, e.job].filter(Boolean).join(' '));

describe('the event stream (server process, real yum repository)', () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;

  const publish = async (version: string) => {
    await buildRpms(dir, [{ name: 'app', version }]);
    await createrepo(dir);
  };

  beforeAll(async () => {
    dir = tempRepoDir();
    await publish('1.0');
    repo = await serveDirectory(dir);
    server = await startServer({
      env: { VIEWER_TOKEN: VIEWER },
      config: writeConfig(`
auth:
  tokens: [{ name: watcher, role: viewer, token: "\${env:VIEWER_TOKEN}" }]
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: never }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - { name: verify, jobs: [{ name: test, tasks: [{ run: "true" }] }] }
      - { name: release, approval: manual, jobs: [{ name: ship, tasks: [{ run: "exit 3" }] }] }
`),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 without a token and 400 for an unknown type', async () => {
    expect((await subscribe(server.url, { token: 'nope-nope-nope-nope' })).status).toBe(401);
    expect((await subscribe(server.url, { query: 'types=stage.nothing' })).status).toBe(400);
  });

  it('streams the check, the run and its stages in order after a check-now', async () => {
    const viewer = await subscribe(server.url, { token: VIEWER });
    expect(viewer.status).toBe(200);
    const stages = await subscribe(server.url, { query: 'types=stage.*' });
    const checked = await server.api('POST', '/api/materials/check', { repository: 'internal' });
    expect(checked.status).toBe(202);
    const events = await viewer.until((list) => list.some((e) => e.type === 'stage.awaiting'));
    expect(shape(events)).toEqual([
      'material.checked',
      'material.revision',
      'run.created',
      'stage.started verify',
      'job.started verify test',
      'job.finished verify test',
      'stage.passed verify',
      'stage.awaiting release',
    ]);
    expect(events[0]).toMatchObject({
      material: { repository: 'internal', package: 'app' },
      outcome: 'new',
      label: 'app-1.0-1.noarch',
    });
    expect(events[2]).toMatchObject({
      pipeline: 'build',
      counter: 1,
      label: 'app-1.0-1.noarch',
      trigger: 'check-now',
    });
    expect(events[5]).toMatchObject({ outcome: 'passed', exitCode: 0 });
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(viewer.fields[0]).toEqual({ id: events[0]?.id, event: 'material.checked' });
    // The filtered subscriber got the stage events only.
    await stages.until((list) => list.length === 3);
    expect(shape(stages.events)).toEqual([
      'stage.started verify',
      'stage.passed verify',
      'stage.awaiting release',
    ]);
    viewer.close();
    stages.close();
  }, 60_000);

  it('resumes after Last-Event-ID with exactly the missed events', async () => {
    const live = await subscribe(server.url);
    const first = (await live.until((list) => list.length === 0, 100)).length;
    expect(first).toBe(0);
    const approved = await server.api('POST', '/api/pipelines/build/runs/1/stages/release/approve');
    expect(approved.status).toBe(200);
    const events = await live.until((list) => list.some((e) => e.type === 'run.finished'));
    expect(shape(events)).toEqual([
      'approval.given release',
      'stage.started release',
      'job.started release ship',
      'job.finished release ship',
      'stage.failed release',
      'run.finished',
    ]);
    expect(events[0]?.actor).toBe('admin');
    expect(events[3]).toMatchObject({ outcome: 'failed', exitCode: 3 });
    live.close();
    // A client that saw only the approval resumes after it and gets the rest, nothing else.
    const resumed = await subscribe(server.url, { lastEventId: events[0]?.id });
    await resumed.until((list) => list.length >= 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.events).toEqual(events.slice(1));
    resumed.close();
    const since = await subscribe(server.url, { query: `since=${events[3]?.id}` });
    await since.until((list) => list.length >= 2);
    expect(shape(since.events)).toEqual(['stage.failed release', 'run.finished']);
    since.close();
  }, 60_000);

  it('hoist watch prints each event live, as JSON or as a line', async () => {
    const watch = (...args: string[]) => {
      const child = spawn(process.execPath, [HOIST_BIN, 'watch', '--server', server.url, ...args], {
        env: { ...process.env, HOIST_TOKEN: ADMIN_TOKEN, TZ: 'UTC' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      return { child, out: () => out };
    };
    // Both start after the newest event so far, however long they take to connect.
    const past = await subscribe(server.url, { query: 'since=0' });
    await past.until((list) => list.some((e) => e.type === 'run.finished'));
    await new Promise((r) => setTimeout(r, 300));
    past.close();
    const since = past.events.at(-1)?.id as string;
    const json = watch('--json', '--type', 'run.*', 'stage.started', '--since', since);
    const lines = watch('--pipeline', 'build', '--since', since);
    try {
      await publish('1.1');
      await server.api('POST', '/api/materials/check', { repository: 'internal' });
      const printed = await eventually(async () => {
        const got = json.out().trim().split('\n').filter(Boolean);
        return got.length >= 2 ? got : undefined;
      }, 20_000);
      const events = printed.map((l) => JSON.parse(l) as HoistEvent);
      expect(shape(events)).toEqual(['run.created', 'stage.started verify']);
      expect(events[0]).toMatchObject({ pipeline: 'build', counter: 2, label: 'app-1.1-1.noarch' });
      const text = await eventually(async () =>
        lines.out().includes('awaiting approval') ? lines.out() : undefined,
      );
      expect(text).toMatch(
        /^\d\d:\d\d:\d\d {2}build #2 {2}run created with app-1\.1-1\.noarch \(check-now\)$/m,
      );
      expect(text).toMatch(/^\d\d:\d\d:\d\d {2}build #2 {2}job verify\/test passed \(exit 0\)$/m);
      expect(text).toMatch(/^\d\d:\d\d:\d\d {2}build #2 {2}stage release awaiting approval$/m);
      // --pipeline leaves the material's events out.
      expect(text).not.toContain('internal/app');
    } finally {
      json.child.kill();
      lines.child.kill();
    }
  }, 60_000);

  it('hoist watch refuses a bad token with exit 4', async () => {
    const child = spawn(process.execPath, [HOIST_BIN, 'watch', '--server', server.url], {
      env: { ...process.env, HOIST_TOKEN: 'not-a-valid-token-at-all' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(4);
    expect(err.trim()).toBe('hoist: A valid bearer token is required');
  });
});
