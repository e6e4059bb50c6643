import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/postgres.ts';
import { sampleRevision } from '../../test/helpers/sample-plugin.ts';
import { MIGRATIONS } from './migrations.ts';
import { POSTGRES_MIGRATIONS } from './migrations-postgres.ts';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { CheckResult, ConfigurationPlan, JobRow, NewRun, Store } from './store.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One database, and a way to open more stores on it (as more instances would). */
interface Backend {
  kind: 'sqlite' | 'postgres';
  /** A fresh database; `open` may be called several times, each a separate connection. */
  database(): Promise<{ open(): Promise<Store>; location: string }>;
}

const track = (store: Store) => {
  cleanups.push(() => store.close().catch(() => {}));
  return store;
};

const sqlite: Backend = {
  kind: 'sqlite',
  async database() {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-store-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'hoist.db');
    return { location: file, open: async () => track(openSqliteStore(file)) };
  },
};

const postgres: Backend = {
  kind: 'postgres',
  async database() {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    return { location: db.url, open: async () => track(await openPostgresStore(db.url)) };
  },
};

const plan = (specs: string[]): ConfigurationPlan => ({
  repositories: [
    {
      name: 'internal',
      plugin: 'yum',
      config: { REPO_URL: 'https://r' },
      secrets: { PASSWORD: 'v1:sealed' },
      source: 'config',
    },
  ],
  packages: specs.map((spec, i) => ({
    repository: 'internal',
    name: spec,
    config: { PACKAGE_SPEC: spec },
    secrets: {},
    pollIntervalMs: 60_000,
    fingerprint: `fp-${spec}-${i}`,
    source: 'config' as const,
  })),
  pipelines: [],
});

function check(fingerprint: string, revisions = [sampleRevision(1)], owner = 'i1'): CheckResult {
  return {
    fingerprint,
    plugin: 'yum',
    revisions,
    state: { etag: 'x' },
    check: {
      startedAt: new Date().toISOString(),
      durationMs: 5,
      outcome: 'new',
      newRevisions: [],
      errorCode: null,
      error: null,
      decision: 'stored',
      trigger: 'schedule',
      instance: owner,
    },
    nextCheckAt: new Date(Date.now() + 60_000).toISOString(),
    failures: 0,
    lastError: null,
    lastErrorCode: null,
    owner,
  };
}

const newRun = (key: string, trigger: NewRun['trigger'] = 'poll'): NewRun => ({
  pipeline: 'build',
  cause: { materials: [], packages: {} },
  revisionKey: key,
  dedupe: true,
  trigger,
  triggeredBy: null,
  stages: [{ name: 'test', approval: 'auto', jobs: ['unit', 'lint'] }],
});

/** A store with `n` due materials of polled packages. */
async function withDueMaterials(store: Store, n: number) {
  const specs = Array.from({ length: n }, (_, i) => `p${i}`);
  await store.applyConfiguration(plan(specs));
  const past = new Date(Date.now() - 1000).toISOString();
  for (const [i, spec] of specs.entries())
    await store.ensureMaterial(`fp-${spec}-${i}`, 'yum', past);
  return specs.map((spec, i) => `fp-${spec}-${i}`);
}

describe.each([sqlite, postgres])('server/store ($kind)', (backend) => {
  it('applies a configuration idempotently and removes only config-made objects', async () => {
    const store = await (await backend.database()).open();
    expect(await store.applyConfiguration(plan(['app', 'tool']))).toEqual({
      added: 3,
      changed: 0,
      removed: 0,
    });
    expect(await store.applyConfiguration(plan(['app', 'tool']))).toEqual({
      added: 0,
      changed: 0,
      removed: 0,
    });
    await store.savePackage({
      repository: 'internal',
      name: 'manual',
      config: {},
      secrets: {},
      pollIntervalMs: null,
      fingerprint: 'fp-manual',
      source: 'api',
    });
    expect(await store.applyConfiguration(plan(['app']))).toEqual({
      added: 0,
      changed: 0,
      removed: 1,
    });
    expect((await store.listPackages()).map((p) => p.name)).toEqual(['app', 'manual']);
    const changed = plan(['app']);
    (changed.packages[0] as { pollIntervalMs: number }).pollIntervalMs = 30_000;
    expect(await store.applyConfiguration(changed)).toEqual({ added: 0, changed: 1, removed: 0 });
    expect((await store.getPackage('internal', 'app'))?.pollIntervalMs).toBe(30_000);
  });

  it('stores a check in one transaction and never duplicates a revision', async () => {
    const store = await (await backend.database()).open();
    await store.ensureMaterial('fp', 'yum', null);
    const first = await store.recordCheck(check('fp', [sampleRevision(1), sampleRevision(2)]));
    expect(first.inserted.map((r) => r.revision)).toEqual(['app-1', 'app-2']);
    const again = await store.recordCheck(check('fp', [sampleRevision(2), sampleRevision(3)]));
    expect(again.inserted.map((r) => r.revision)).toEqual(['app-3']);
    expect((await store.listRevisions('fp', 10)).map((r) => r.revision)).toEqual([
      'app-3',
      'app-2',
      'app-1',
    ]);
    const latest = await store.latestRevision('fp');
    expect(latest?.revision).toBe('app-3');
    expect(latest?.data).toEqual(sampleRevision(3).data);
    expect((await store.getMaterial('fp'))?.state).toEqual({ etag: 'x' });
    const checks = await store.listChecks('fp', 10);
    expect(checks.map((c) => c.newRevisions)).toEqual([['app-3'], ['app-1', 'app-2']]);
    expect(checks[0]?.instance).toBe('i1');
    // The overview queries give the same, for every material at once.
    await store.ensureMaterial('fp-other', 'yum', null);
    await store.recordCheck(check('fp-other', [sampleRevision(7)]));
    const latestAll = await store.latestRevisions();
    expect(latestAll.map((r) => `${r.fingerprint}:${r.revision}`).sort()).toEqual([
      'fp-other:app-7',
      'fp:app-3',
    ]);
    const recent = await store.recentChecks(1);
    expect(recent.map((c) => `${c.fingerprint}:${c.newRevisions.join(',')}`).sort()).toEqual([
      'fp-other:app-7',
      'fp:app-3',
    ]);
    expect((await store.recentChecks(5)).filter((c) => c.fingerprint === 'fp')).toEqual(checks);
    // A check that left the state unchanged keeps the stored one.
    await store.recordCheck({ ...check('fp', []), state: undefined });
    expect((await store.getMaterial('fp'))?.state).toEqual({ etag: 'x' });
  });

  it('rolls a failed check back whole', async () => {
    const store = await (await backend.database()).open();
    await store.ensureMaterial('fp', 'yum', null);
    // A revision for a material that does not exist violates the foreign key: nothing is kept.
    await expect(store.recordCheck(check('missing'))).rejects.toThrow();
    expect(await store.listRevisions('missing', 10)).toEqual([]);
    expect(await store.listChecks('missing', 10)).toEqual([]);
  });

  it('keeps everything across a reopen', async () => {
    const db = await backend.database();
    const a = await db.open();
    await a.applyConfiguration(plan(['app']));
    await a.ensureMaterial('fp-app-0', 'yum', null);
    await a.recordCheck(check('fp-app-0'));
    await a.close();
    const b = await db.open();
    expect((await b.latestRevision('fp-app-0'))?.revision).toBe('app-1');
    expect((await b.getRepository('internal'))?.secrets).toEqual({ PASSWORD: 'v1:sealed' });
  });

  it('creates runs with their stages and jobs, numbers them, and refuses a duplicate', async () => {
    const store = await (await backend.database()).open();
    const run = await store.createRun(newRun('k1'));
    expect(run).toMatchObject({ pipeline: 'build', counter: 1, status: 'building' });
    expect(run?.stages[0]?.jobs.map((j) => j.name)).toEqual(['unit', 'lint']);
    expect(await store.createRun(newRun('k1'))).toBeUndefined();
    expect((await store.createRun(newRun('k2')))?.counter).toBe(2);
    await store.changeRun(run!.id, {
      run: { status: 'passed', finishedAt: 'now' },
      stages: [{ id: run!.stages[0]!.id, patch: { status: 'passed', approvedBy: 'ann' } }],
      jobs: [
        {
          id: run!.stages[0]!.jobs[0]!.id,
          patch: { status: 'passed', exitCode: 0, instance: 'i1' },
        },
      ],
    });
    expect(await store.jobInstance(run!.stages[0]!.jobs[0]!.id)).toBe('i1');
    const again = await store.getRun('build', 1);
    expect(again?.status).toBe('passed');
    expect(again?.stages[0]).toMatchObject({ status: 'passed', approvedBy: 'ann' });
    expect(again?.stages[0]?.jobs[0]).toMatchObject({ status: 'passed', exitCode: 0 });
    expect((await store.listRuns('build', 10)).map((r) => r.counter)).toEqual([2, 1]);
    expect((await store.listActiveRuns()).map((r) => r.counter)).toEqual([2]);
    expect(await store.runCounts()).toEqual([
      { pipeline: 'build', status: 'building', count: 1 },
      { pipeline: 'build', status: 'passed', count: 1 },
    ]);
  });

  it('writes a run transition whole or not at all', async () => {
    const store = await (await backend.database()).open();
    const run = (await store.createRun(newRun('t1')))!;
    const stage = run.stages[0]!;
    // The job patch breaks a NOT NULL column: the run's and the stage's patches go with it.
    await expect(
      store.changeRun(run.id, {
        run: { status: 'passed', finishedAt: 'now' },
        stages: [{ id: stage.id, patch: { status: 'passed' } }],
        jobs: [{ id: stage.jobs[0]!.id, patch: { status: null as never } }],
      }),
    ).rejects.toThrow();
    const after = await store.getRun('build', run.counter);
    expect(after?.status).toBe('building');
    expect(after?.stages[0]?.status).toBe('scheduled');
    expect(after?.stages[0]?.jobs[0]?.status).toBe('scheduled');
  });

  it('records events with their change, rolls them back with it, and reads them in order', async () => {
    const store = await (await backend.database()).open();
    const [fingerprint] = await withDueMaterials(store, 1);
    await store.recordCheck(check(fingerprint as string));
    const run = (await store.createRun(newRun('e1')))!;
    const stage = run.stages[0]!;
    await expect(
      store.changeRun(run.id, {
        stages: [{ id: stage.id, patch: { status: 'building' } }],
        jobs: [{ id: stage.jobs[0]!.id, patch: { status: null as never } }],
      }),
    ).rejects.toThrow();
    await store.changeRun(run.id, {
      stages: [{ id: stage.id, patch: { status: 'building', startedAt: 'now' } }],
    });
    const events = await store.eventsAfter(0, 100);
    expect(events.map((e) => e.type)).toEqual([
      'material.checked',
      'material.revision',
      'run.created',
      'stage.started',
    ]);
    expect(events[0]).toMatchObject({ material: { repository: 'internal', package: 'p0' } });
    expect(events[3]).toMatchObject({ pipeline: 'build', counter: 1, stage: 'test' });
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(await store.lastEventId()).toBe(ids.at(-1));
    expect(await store.eventsAfter(ids[1] as number, 1)).toEqual([events[2]]);
    expect(await store.pruneEvents(new Date(0).toISOString(), 2)).toBe(2);
    expect((await store.eventsAfter(0, 100)).map((e) => e.type)).toEqual([
      'run.created',
      'stage.started',
    ]);
  });

  it("wakes every store's listeners on the database when events are committed", async () => {
    const database = await backend.database();
    const writer = await database.open();
    // On SQLite one instance serves the database: its own store wakes; on PostgreSQL, every one.
    const reader = backend.kind === 'postgres' ? await database.open() : writer;
    let woken = 0;
    const stop = reader.onEvents(() => woken++);
    await new Promise((r) => setTimeout(r, 300));
    const before = woken;
    const [event] = await writer.appendEvents([{ type: 'agent.changed', agent: 'a1' }]);
    await expect.poll(() => woken, { timeout: 5000 }).toBeGreaterThan(before);
    expect(await reader.eventsAfter(Number(event?.id) - 1, 10)).toEqual([event]);
    stop();
  });

  it('gates a manual first stage unless the person who scheduled the run opened it', async () => {
    const store = await (await backend.database()).open();
    const gate = [{ name: 'production', approval: 'manual' as const, jobs: ['install'] }];
    const waiting = await store.createRun({ ...newRun('g1', 'upstream'), stages: gate });
    expect(waiting).toMatchObject({ status: 'waiting' });
    expect(waiting?.stages[0]).toMatchObject({ status: 'awaiting_approval', approvedBy: null });
    // A manual run without a named opener waits too: triggering alone is no approval.
    const unnamed = await store.createRun({ ...newRun('g2', 'manual'), stages: gate });
    expect(unnamed?.stages[0]?.status).toBe('awaiting_approval');
    const opened = await store.createRun({
      ...newRun('g3', 'manual'),
      stages: gate,
      openedBy: { name: 'carol', comment: 'CAB-9' },
    });
    expect(opened).toMatchObject({ status: 'building' });
    expect(opened?.stages[0]).toMatchObject({
      status: 'scheduled',
      approvedBy: 'carol',
      approvalComment: 'CAB-9',
    });
    expect(opened?.stages[0]?.approvedAt).toBe(opened?.createdAt);
  });

  it('creates exactly one run when instances see the same revision at once', async () => {
    const db = await backend.database();
    const instances = await Promise.all([db.open(), db.open(), db.open()]);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (instances[i % 3] as Store).createRun(newRun('same-revision')),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    // Different revisions at once get different counters, none lost.
    const distinct = await Promise.all(
      Array.from({ length: 9 }, (_, i) => (instances[i % 3] as Store).createRun(newRun(`r${i}`))),
    );
    expect(distinct.map((r) => r?.counter).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
  });

  it('leases each due material to one instance only, and hands over expired leases', async () => {
    const db = await backend.database();
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const fingerprints = await withDueMaterials(a as Store, 40);
    const now = Date.now();
    const [fromA, fromB] = await Promise.all([
      (a as Store).claimDueMaterials('a', now, now + 10_000, 25),
      (b as Store).claimDueMaterials('b', now, now + 10_000, 25),
    ]);
    const claimed = [...(fromA ?? []), ...(fromB ?? [])].map((m) => m.fingerprint);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...fingerprints].sort());
    // Nothing left while the leases live.
    expect(await (b as Store).claimDueMaterials('b', now + 5_000, now + 15_000, 100)).toEqual([]);
    // `b` renews its leases; `a` stops renewing: after expiry, its materials go to `b`.
    await (b as Store).renewMaterialLeases(
      'b',
      (fromB ?? []).map((m) => m.fingerprint),
      now + 60_000,
    );
    const taken = await (b as Store).claimDueMaterials('b', now + 11_000, now + 21_000, 100);
    expect(taken.map((m) => m.fingerprint).sort()).toEqual(
      (fromA ?? []).map((m) => m.fingerprint).sort(),
    );
    const instances = await (a as Store).listInstances(0);
    expect(instances).toEqual([]);
  });

  it('renews leases on heartbeat, lists instances with them, and releases them on retire', async () => {
    const db = await backend.database();
    const store = await db.open();
    const [first] = await withDueMaterials(store, 3);
    const now = Date.now();
    const info = { id: 'i1', host: 'h', pid: 1, url: 'http://127.0.0.1:1', version: '0' };
    await store.registerInstance(info, now);
    const claimed = await store.claimDueMaterials('i1', now, now + 1_000, 1);
    expect(claimed).toEqual([{ fingerprint: first, trigger: 'schedule' }]);
    await store.heartbeat('i1', now + 500);
    await store.renewMaterialLeases('i1', [first as string], now + 60_000);
    // Without the renewal this lease would have expired.
    expect(await store.claimDueMaterials('i2', now + 2_000, now + 3_000, 1)).not.toContainEqual(
      expect.objectContaining({ fingerprint: first }),
    );
    const listed = await store.listInstances(now);
    expect(listed).toMatchObject([{ id: 'i1', url: info.url, materials: [first] }]);
    expect(listed[0]?.heartbeatAt).toBe(new Date(now + 500).toISOString());
    // An instance silent for more than a day is forgotten at the next heartbeat of another.
    await store.registerInstance({ ...info, id: 'gone' }, now - 90_000_000);
    expect((await store.listInstances(0)).map((i) => i.id)).toEqual(['gone', 'i1']);
    await store.heartbeat('i1', now + 600);
    expect((await store.listInstances(0)).map((i) => i.id)).toEqual(['i1']);
    await store.retireInstance('i1');
    expect(await store.listInstances(0)).toEqual([]);
    expect((await store.getMaterial(first as string))?.leaseOwner).toBeNull();
  });

  it('ends the leases an instance no longer works on when it renews the others', async () => {
    const store = await (await backend.database()).open();
    const fingerprints = await withDueMaterials(store, 3);
    const now = Date.now();
    expect(await store.claimDueMaterials('i1', now, now + 60_000, 3)).toHaveLength(3);
    await store.renewMaterialLeases('i1', [fingerprints[0] as string], now + 90_000);
    const owners = await Promise.all(fingerprints.map((f) => store.getMaterial(f)));
    expect(owners.map((m) => m?.leaseOwner)).toEqual(['i1', null, null]);
    const run = await store.createRun({
      ...newRun('k'),
      lease: { owner: 'i1', until: now + 60_000 },
    });
    const other = await store.createRun({
      ...newRun('k2'),
      lease: { owner: 'i1', until: now + 60_000 },
    });
    await store.renewRunLeases('i1', [run!.id], now + 90_000);
    expect(await store.claimRun(other!.id, 'i2', now, now + 1_000)).toBe(true);
    expect(await store.claimRun(run!.id, 'i2', now + 70_000, now + 80_000)).toBe(false);
  });

  it('ends the lease with the check, and keeps a check-now that arrived meanwhile', async () => {
    const store = await (await backend.database()).open();
    const [fp] = await withDueMaterials(store, 1);
    const now = Date.now();
    expect(await store.claimDueMaterials('i1', now, now + 60_000, 10)).toHaveLength(1);
    expect((await store.getMaterial(fp as string))?.leaseOwner).toBe('i1');
    const nowIso = new Date().toISOString();
    await store.scheduleMaterial(fp as string, nowIso, 'manual');
    await store.recordCheck(check(fp as string));
    const material = await store.getMaterial(fp as string);
    expect(material?.leaseOwner).toBeNull();
    expect(material?.nextCheckAt).toBe(nowIso);
    const again = await store.claimDueMaterials('i2', Date.now(), Date.now() + 60_000, 10);
    expect(again).toEqual([{ fingerprint: fp, trigger: 'manual' }]);
    await store.recordCheck(check(fp as string, [], 'i2'));
    expect(Date.parse((await store.getMaterial(fp as string))?.nextCheckAt ?? '')).toBeGreaterThan(
      Date.now(),
    );
  });

  it('leases runs: one advancer at a time, orphans taken over after expiry', async () => {
    const db = await backend.database();
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const now = Date.now();
    const run = await (a as Store).createRun({
      ...newRun('k'),
      lease: { owner: 'a', until: now + 1_000 },
    });
    expect(await (b as Store).claimRun(run!.id, 'b', now, now + 1_000)).toBe(false);
    expect(await (b as Store).claimOrphanRuns('b', now, now + 1_000, 10)).toEqual([]);
    expect(await (a as Store).claimRun(run!.id, 'a', now, now + 1_000)).toBe(true);
    expect(await (b as Store).claimOrphanRuns('b', now + 2_000, now + 3_000, 10)).toEqual([
      { id: run!.id, pipeline: 'build', counter: 1 },
    ]);
    await (b as Store).releaseRun(run!.id, 'b');
    expect(await (a as Store).claimRun(run!.id, 'a', now + 2_500, now + 4_000)).toBe(true);
    await (a as Store).releaseLeases('a');
    expect(await (b as Store).claimRun(run!.id, 'b', now + 2_600, now + 4_000)).toBe(true);
  });

  it("takes a pipeline's lock with the start of a stage, queues the others in counter order, and releases it with the end", async () => {
    const store = await (await backend.database()).open();
    const [one, two, three] = [
      (await store.createRun(newRun('l1')))!,
      (await store.createRun(newRun('l2')))!,
      (await store.createRun(newRun('l3')))!,
    ];
    const start = (run: typeof one) => ({
      stages: [{ id: run.stages[0]!.id, patch: { status: 'building' as const, startedAt: 'now' } }],
    });
    expect(await store.startLocked(one.id, start(one))).toEqual({ taken: true });
    expect(await store.getLock('build')).toMatchObject({
      runId: one.id,
      counter: 1,
      status: 'building',
    });
    // Another run finds it held: nothing of its change is written, and it waits.
    const refused = await store.startLocked(three.id, start(three));
    expect(refused).toMatchObject({ taken: false, holder: { counter: 1 } });
    expect((await store.getRun('build', 3))?.stages[0]?.status).toBe('scheduled');
    expect((await store.startLocked(two.id, start(two))).taken).toBe(false);
    expect((await store.lockWaiters()).map((w) => w.counter)).toEqual([2, 3]);
    // The holder may start its next stage; a waiting run is no orphan to take over.
    expect(await store.startLocked(one.id, {})).toEqual({ taken: true });
    expect(await store.claimOrphanRuns('x', Date.now(), Date.now() + 1000, 10)).toEqual([
      { id: one.id, pipeline: 'build', counter: 1 },
    ]);
    // It ends: the lock goes with the end, in the same transaction.
    await store.changeRun(one.id, {
      run: { status: 'passed', finishedAt: 'now' },
      lock: 'release',
    });
    expect(await store.getLock('build')).toBeUndefined();
    // Free, but run 2 waits longer than run 3: 3 waits on, 2 takes it.
    expect(await store.startLocked(three.id, start(three))).toEqual({
      taken: false,
      holder: undefined,
    });
    expect(await store.startLocked(two.id, start(two))).toEqual({ taken: true });
    expect((await store.lockWaiters('build')).map((w) => w.counter)).toEqual([3]);
    // A failed holder keeps it; an unlock that names another status or run releases nothing.
    await store.changeRun(two.id, { run: { status: 'failed', finishedAt: 'now' } });
    expect((await store.startLocked(three.id, start(three))).taken).toBe(false);
    expect(await store.releaseLock('build', two.id, 'building')).toBe(false);
    expect(await store.releaseLock('build', one.id, 'failed')).toBe(false);
    expect(await store.listLocks()).toMatchObject([
      { pipeline: 'build', counter: 2, status: 'failed' },
    ]);
    expect(await store.releaseLock('build', two.id, 'failed')).toBe(true);
    expect(await store.startLocked(three.id, start(three))).toEqual({ taken: true });
    expect(await store.lockWaiters()).toEqual([]);
    // A holder that was cancelled without a release (no such write path) holds nothing.
    await store.changeRun(three.id, { run: { status: 'cancelled', finishedAt: 'now' } });
    const four = (await store.createRun(newRun('l4')))!;
    expect(await store.startLocked(four.id, start(four))).toEqual({ taken: true });
  });

  it('releases a lock only with the end it goes with: a transition that fails keeps both', async () => {
    const store = await (await backend.database()).open();
    const run = (await store.createRun(newRun('r1')))!;
    const stage = run.stages[0]!;
    await store.startLocked(run.id, { stages: [{ id: stage.id, patch: { status: 'building' } }] });
    await expect(
      store.changeRun(run.id, {
        run: { status: 'passed', finishedAt: 'now' },
        jobs: [{ id: stage.jobs[0]!.id, patch: { status: null as never } }],
        lock: 'release',
      }),
    ).rejects.toThrow();
    expect((await store.getRun('build', 1))?.status).toBe('building');
    expect(await store.getLock('build')).toMatchObject({ counter: 1, status: 'building' });
    // A release by a run that does not hold the lock leaves it alone.
    const other = (await store.createRun(newRun('r2')))!;
    await store.changeRun(other.id, { run: { status: 'cancelled' }, lock: 'release' });
    expect(await store.getLock('build')).toMatchObject({ counter: 1 });
  });

  it('gives a lock to one run only when instances start runs of the pipeline at once', async () => {
    const db = await backend.database();
    const stores = await Promise.all([db.open(), db.open(), db.open()]);
    const runs = [];
    for (const key of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
      runs.push((await stores[0]!.createRun(newRun(key)))!);
    const results = await Promise.all(
      runs.map((run, i) =>
        stores[i % 3]!.startLocked(run.id, {
          stages: [{ id: run.stages[0]!.id, patch: { status: 'building' } }],
        }),
      ),
    );
    expect(results.filter((r) => r.taken)).toHaveLength(1);
    const building = (await stores[1]!.listActiveRuns()).filter(
      (r) => r.stages[0]?.status === 'building',
    );
    expect(building).toHaveLength(1);
    expect((await stores[2]!.lockWaiters()).length).toBe(5);
  });

  it('records the scheduling new revisions owe with them, leased to the checking instance', async () => {
    const db = await backend.database();
    const [a, b] = [await db.open(), await db.open()];
    await a.ensureMaterial('fp', 'yum', null);
    const now = Date.now();
    const stored = await a.recordCheck({
      ...check('fp', [sampleRevision(1), sampleRevision(2)], 'a'),
      leaseUntil: now + 10_000,
    });
    expect(stored.pending).toBeTypeOf('number');
    // Nothing new, nothing owed.
    expect((await a.recordCheck(check('fp', [sampleRevision(2)], 'a'))).pending).toBeUndefined();
    // Held by its instance: nobody else takes it while the lease runs.
    expect(await b.claimPendingTriggers('b', now, now + 10_000, 10)).toEqual([]);
    // The instance stopped: once the lease expires, another completes it, with the revisions.
    const [taken, ...none] = await b.claimPendingTriggers('b', now + 20_000, now + 30_000, 10);
    expect(none).toEqual([]);
    expect(taken).toMatchObject({ id: stored.pending, kind: 'revisions', fingerprint: 'fp' });
    expect(taken?.kind === 'revisions' && taken.revisions.map((r) => r.revision)).toEqual([
      'app-1',
      'app-2',
    ]);
    expect(await a.claimPendingTriggers('a', now + 20_000, now + 30_000, 10)).toEqual([]);
    // Given back after a failure: counted, and claimable again at once.
    await b.retryPendingTrigger(taken!.id);
    const again = await a.claimPendingTriggers('a', now + 20_000, now + 30_000, 10);
    expect(again.map((t) => t.attempts)).toEqual([1]);
    // A restarted instance releases its leases: its owed scheduling is claimable again.
    await a.releaseLeases('a');
    expect(await b.claimPendingTriggers('b', now + 20_000, now + 30_000, 10)).toHaveLength(1);
    await b.renewPendingTriggers('b', [taken!.id], now + 90_000);
    expect(await a.claimPendingTriggers('a', now + 60_000, now + 70_000, 10)).toEqual([]);
    await b.completePendingTrigger(taken!.id);
    expect(await a.claimPendingTriggers('a', now + 100_000, now + 110_000, 10)).toEqual([]);
  });

  it("records a passed stage's downstream scheduling with the transition, once", async () => {
    const store = await (await backend.database()).open();
    const run = (await store.createRun(newRun('d1')))!;
    const stage = run.stages[0]!;
    const lease = { owner: 'a', until: Date.now() - 1 };
    const passed = { stages: [{ id: stage.id, patch: { status: 'passed' as const } }] };
    const id = await store.changeRun(run.id, { ...passed, downstream: { stage: 'test' } }, lease);
    expect(id).toBeTypeOf('number');
    expect(await store.changeRun(run.id, { downstream: { stage: 'test' } }, lease)).toBeUndefined();
    expect(await store.changeRun(run.id, passed)).toBeUndefined();
    const claimed = await store.claimPendingTriggers('b', Date.now(), Date.now() + 1000, 10);
    expect(claimed).toEqual([
      {
        id,
        kind: 'stage',
        runId: run.id,
        pipeline: 'build',
        counter: 1,
        stage: 'test',
        attempts: 0,
      },
    ]);
    // A failing write records nothing owed.
    await expect(
      store.changeRun(run.id, {
        jobs: [{ id: stage.jobs[0]!.id, patch: { status: null as never } }],
        downstream: { stage: 'other' },
      }),
    ).rejects.toThrow();
    await store.completePendingTrigger(id!);
    expect(await store.claimPendingTriggers('b', Date.now(), Date.now() + 1000, 10)).toEqual([]);
  });

  it('creates one run per pipeline and trigger key, whatever its revision key', async () => {
    const db = await backend.database();
    const instances = await Promise.all([db.open(), db.open()]);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (instances[i % 2] as Store).createRun({
          ...newRun(`key-${i}`),
          triggerKey: 'revision:7',
        }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(
      (await instances[0]!.createRun({ ...newRun('x'), triggerKey: 'revision:8' }))?.counter,
    ).toBe(2);
    // Another pipeline has its own.
    expect(
      await instances[1]!.createRun({
        ...newRun('y'),
        pipeline: 'other',
        triggerKey: 'revision:7',
      }),
    ).toMatchObject({ counter: 1 });
  });

  it("keeps a job's process group while it runs, and lists those left on finished jobs", async () => {
    const store = await (await backend.database()).open();
    const run = (await store.createRun(newRun('p1')))!;
    const [unit, lint] = run.stages[0]!.jobs as [JobRow, JobRow];
    const proc = { pgid: 4242, processStart: 'boot/99', host: 'h1' };
    await store.changeRun(run.id, {
      jobs: [
        { id: unit.id, patch: { status: 'building', ...proc } },
        { id: lint.id, patch: { status: 'failed', ...proc, pgid: 77 } },
      ],
    });
    const job = (await store.getRun('build', 1))?.stages[0]?.jobs[0];
    expect(job?.process).toEqual({ pgid: 4242, start: 'boot/99', host: 'h1' });
    expect(await store.strayJobs('h1')).toEqual([
      { id: lint.id, runId: run.id, process: { pgid: 77, start: 'boot/99', host: 'h1' } },
    ]);
    expect(await store.strayJobs('h2')).toEqual([]);
    await store.changeRun(run.id, {
      jobs: [{ id: lint.id, patch: { pgid: null, processStart: null, host: null } }],
    });
    expect(await store.strayJobs('h1')).toEqual([]);
  });

  it('records why scheduling a pipeline failed, until cleared', async () => {
    const store = await (await backend.database()).open();
    await store.savePipeline({ name: 'build', definition: { name: 'build' }, source: 'api' });
    expect((await store.getPipeline('build'))?.schedulingError).toBeNull();
    await store.setSchedulingError('build', 'UNIQUE constraint failed');
    expect((await store.getPipeline('build'))?.schedulingError).toBe('UNIQUE constraint failed');
    await store.setSchedulingError('build', null);
    expect((await store.listPipelines())[0]?.schedulingError).toBeNull();
  });

  it('keeps a setting once set, whoever sets it first', async () => {
    const db = await backend.database();
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const values = await Promise.all([
      (a as Store).setting('key-check', 'from-a'),
      (b as Store).setting('key-check', 'from-b'),
    ]);
    expect(values[0]).toBe(values[1]);
    expect(await (a as Store).setting('key-check', 'later')).toBe(values[0]);
  });
});

describe('server/store schemas', () => {
  it('migrates SQLite to the latest schema, in WAL mode', async () => {
    const db = await sqlite.database();
    await db.open();
    const file = new Database(db.location, { readonly: true });
    expect(file.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(file.pragma('journal_mode', { simple: true })).toBe('wal');
    file.close();
  });

  it('gives PostgreSQL the same tables and columns as SQLite, and migrates once when instances start together', async () => {
    expect(POSTGRES_MIGRATIONS).toHaveLength(MIGRATIONS.length);
    const pgDb = await postgres.database();
    await Promise.all([pgDb.open(), pgDb.open(), pgDb.open()]);
    const client = new pg.Client({ connectionString: pgDb.location });
    await client.connect();
    const pgColumns = (
      await client.query(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> 'hoist_schema' ORDER BY table_name, column_name`,
      )
    ).rows.map((r) => `${r.table_name}.${r.column_name}`);
    expect((await client.query('SELECT version FROM hoist_schema')).rows).toEqual([
      { version: POSTGRES_MIGRATIONS.length },
    ]);
    await client.end();
    const liteDb = await sqlite.database();
    await liteDb.open();
    const file = new Database(liteDb.location, { readonly: true });
    const tables = (
      file
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
        .all() as { name: string }[]
    ).map((t) => t.name);
    const liteColumns = tables
      .flatMap((t) =>
        (file.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map(
          (c) => `${t}.${c.name}`,
        ),
      )
      .sort();
    file.close();
    expect(pgColumns.sort()).toEqual(liteColumns);
  });
});

describe.each([sqlite, postgres])('server/store agents ($kind)', (backend) => {
  const agent = (id: string, resources: string[] = ['rpm']) => ({
    id,
    hostname: `host-${id}`,
    tokenDigest: `digest-${id}`,
    state: 'pending' as const,
    resources,
    version: '1.0.0',
    now: 1_000,
  });
  const queue = (
    store: Store,
    run: { id: number; stages: { jobs: JobRow[] }[] },
    i: number,
    resources = ['rpm'],
  ) =>
    store.enqueueAgentJob({
      jobId: run.stages[0]?.jobs[i % 2]?.id as number,
      runId: run.id,
      pipeline: 'build',
      counter: 1,
      stage: 'test',
      job: 'unit',
      resources,
      environment: null,
      sealedSpec: 'v1:sealed',
      scheduledAt: 2_000 + i,
    });

  it('registers agents, finds them by token digest, changes and removes them', async () => {
    const store = await (await backend.database()).open();
    const a = await store.registerAgent(agent('a'));
    expect(a).toMatchObject({
      state: 'pending',
      resources: ['rpm'],
      environments: [],
      heartbeatAt: 1000,
    });
    expect((await store.agentByToken('digest-a'))?.id).toBe('a');
    expect(await store.agentByToken('digest-x')).toBeUndefined();
    const changed = await store.updateAgent('a', {
      state: 'enabled',
      environments: ['production'],
    });
    expect(changed).toMatchObject({ state: 'enabled', environments: ['production'] });
    expect(await store.updateAgent('nobody', { state: 'enabled' })).toBeUndefined();
    expect((await store.listAgents()).map((x) => x.id)).toEqual(['a']);
    expect(await store.removeAgent('a')).toBe(true);
    expect(await store.removeAgent('a')).toBe(false);
    expect(await store.agentByToken('digest-a')).toBeUndefined();
  });

  it('gives each queued job to one agent only across instances, only where it fits, and marks it building', async () => {
    const db = await backend.database();
    const [s1, s2] = (await Promise.all([db.open(), db.open()])) as [Store, Store];
    const run = (await s1.createRun(newRun('agents-1')))!;
    for (const id of ['a', 'b', 'c', 'd']) await s1.registerAgent(agent(id));
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await queue(s1, run, i));
    const deb = await queue(s1, run, 12, ['deb']);
    const claims = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 ? s1 : s2).claimAgentJob(['a', 'b', 'c', 'd'][i % 4] as string, 5_000, (j) =>
          j.resources.every((r) => r === 'rpm'),
        ),
      ),
    );
    const taken = claims.filter((c) => c !== undefined).map((c) => c.id);
    expect(taken.sort((x, y) => x - y)).toEqual(ids);
    expect((await s1.getAgentJob(deb))?.state).toBe('scheduled');
    const first = await s2.getAgentJob(ids[0] as number);
    expect(first).toMatchObject({ state: 'running', startedAt: 5000, heartbeatAt: 5000 });
    const job = (await s2.getRun('build', run.counter))?.stages[0]?.jobs.find(
      (j) => j.id === first?.jobId,
    );
    expect(job?.status).toBe('building');
    expect((await s1.openAgentJobs()).length).toBe(13);
    expect((await s1.latestAgentJobs([first?.jobId as number]))[0]?.id).toBe(deb);
  });

  it('appends log chunks once by offset, takes an end once and only from its agent, passes cancels on, fails silent agents’ jobs', async () => {
    const store = await (await backend.database()).open();
    const run = (await store.createRun(newRun('agents-2')))!;
    await store.registerAgent(agent('a'));
    await store.registerAgent(agent('b'));
    const id = await queue(store, run, 0);
    const claimed = await store.claimAgentJob('a', 3_000, () => true);
    expect(claimed?.id).toBe(id);
    expect(await store.appendAgentLog(id, 0, 'hello ', 6)).toBe(6);
    expect(await store.appendAgentLog(id, 0, 'hello ', 6)).toBe(6);
    expect(await store.appendAgentLog(id, 9, 'gap', 3)).toBe(6);
    expect(await store.appendAgentLog(id, 6, 'wörld', 6)).toBe(12);
    expect(await store.agentLog(id)).toBe('hello wörld');
    await store.cancelAgentJob(id, 4_000);
    const beat = await store.agentHeartbeat('a', 4_500, {
      resources: ['rpm', 'x'],
      version: '2',
      draining: true,
    });
    expect(beat.cancel).toEqual([id]);
    expect(beat.agent).toMatchObject({
      resources: ['rpm', 'x'],
      version: '2',
      draining: true,
      heartbeatAt: 4500,
    });
    const result = { passed: false, exitCode: null, error: 'cancelled', cancelled: true };
    expect(await store.finishAgentJob(id, 'b', result, 5_000)).toBe(false);
    expect(await store.finishAgentJob(id, 'a', result, 5_000)).toBe(true);
    expect(await store.finishAgentJob(id, 'a', { ...result, error: 'again' }, 6_000)).toBe(true);
    expect(await store.getAgentJob(id)).toMatchObject({ state: 'done', result, finishedAt: 5000 });
    // A queued job cancelled ends at once; a silent agent's running job fails with the reason.
    const queued = await queue(store, run, 1);
    await store.cancelAgentJob(queued, 7_000);
    expect((await store.getAgentJob(queued))?.result?.cancelled).toBe(true);
    const silent = await queue(store, run, 2);
    await store.claimAgentJob('b', 8_000, () => true);
    expect(await store.expireAgentJobs(7_000, 9_000, () => 'lost')).toEqual([]);
    const expired = await store.expireAgentJobs(8_500, 9_000, (a) => `lost ${a?.id}`);
    expect(expired.map((e) => [e.id, e.result?.error])).toEqual([[silent, 'lost b']]);
    expect((await store.getAgentJob(silent))?.state).toBe('done');
    expect(await store.openAgentJobs()).toEqual([]);
  });
});
