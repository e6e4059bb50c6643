import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/postgres.ts';
import { sampleRevision } from '../../test/helpers/sample-plugin.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { CheckResult, Store } from '../store/store.ts';
import { createMaterialOverview, createPipelineOverview, pipelineJson } from './overview.ts';
import { formatInterval, pipelineView } from './views.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const backends = [
  { kind: 'sqlite', open: async () => openSqliteStore(':memory:') },
  {
    kind: 'postgres',
    open: async () => {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      return openPostgresStore(db.url);
    },
  },
] as const;

async function seeded(open: () => Promise<Store>, materials: number): Promise<Store> {
  const store = await open();
  cleanups.push(() => store.close());
  await store.applyConfiguration({
    repositories: [
      { name: 'r', plugin: 'yum', config: {}, secrets: { PASSWORD: 'v1:x' }, source: 'config' },
    ],
    packages: Array.from({ length: materials }, (_, i) => ({
      repository: 'r',
      name: `p${i}`,
      config: { PACKAGE_SPEC: `p${i}` },
      secrets: {},
      pollIntervalMs: i === 0 ? null : 60_000,
      fingerprint: `fp${i}`,
      source: 'config' as const,
    })),
    pipelines: [
      { name: 'b', definition: { name: 'b', stages: [{ name: 's' }] }, source: 'config' },
      { name: 'a', definition: { name: 'a', materials: [] }, source: 'api' },
    ],
  });
  for (let i = 1; i < materials; i++) await store.ensureMaterial(`fp${i}`, 'yum', null);
  return store;
}

function check(fingerprint: string, revision: number, outcome: 'new' | 'error'): CheckResult {
  return {
    fingerprint,
    plugin: 'yum',
    revisions: outcome === 'new' ? [sampleRevision(revision)] : [],
    state: { etag: `e${revision}` },
    check: {
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, revision)).toISOString(),
      durationMs: 5,
      outcome,
      newRevisions: [],
      errorCode: outcome === 'error' ? 'ERR_REPOSITORY' : null,
      error: outcome === 'error' ? 'down' : null,
      decision: `check ${revision}`,
      trigger: 'schedule',
      instance: null,
    },
    nextCheckAt: null,
    failures: outcome === 'error' ? 1 : 0,
    lastError: outcome === 'error' ? 'down' : null,
    lastErrorCode: outcome === 'error' ? 'ERR_REPOSITORY' : null,
    owner: 'i1',
  };
}

/** `/api/materials` as it was built before the overview: a store read per part, then encoded. */
async function expected(store: Store, checks: number, due: Map<string, number>) {
  const materials = new Map((await store.listMaterials()).map((m) => [m.fingerprint, m]));
  const result = [];
  for (const pkg of await store.listPackages()) {
    const m = materials.get(pkg.fingerprint);
    const recent = checks > 0 ? await store.listChecks(pkg.fingerprint, checks) : [];
    const dueAt = due.get(pkg.fingerprint);
    result.push({
      fingerprint: pkg.fingerprint,
      repository: pkg.repository,
      package: pkg.name,
      plugin: m?.plugin ?? null,
      pollInterval: pkg.pollIntervalMs === null ? 'never' : formatInterval(pkg.pollIntervalMs),
      latestRevision: (await store.latestRevision(pkg.fingerprint)) ?? null,
      lastCheck: recent[0] ?? null,
      checking: false,
      nextCheckAt: dueAt === undefined ? null : new Date(dueAt).toISOString(),
      lastError: m?.lastError ?? null,
      lastErrorCode: m?.lastErrorCode ?? null,
      failures: m?.failures ?? 0,
      recentChecks: recent,
    });
  }
  return result;
}

/** Counts the history reads a store serves. */
function counting(store: Store) {
  const asked: string[] = [];
  const counted: Store = {
    ...store,
    recentChecksOf: (fingerprints, limit) => {
      asked.push(...fingerprints);
      return store.recentChecksOf(fingerprints, limit);
    },
  };
  return { counted, asked };
}

describe.each(backends)('server/api/overview ($kind)', ({ open }) => {
  it('answers /api/materials as the per-material reads would, and reads only what changed', async () => {
    const store = await seeded(open, 5);
    for (let k = 1; k <= 4; k++) await store.recordCheck(check('fp1', k, 'new'));
    await store.recordCheck(check('fp2', 9, 'error'));
    const { counted, asked } = counting(store);
    const overview = createMaterialOverview(counted);
    const due = [{ fingerprint: 'fp1', dueAt: Date.UTC(2026, 0, 2), running: false }];
    const dueMap = new Map(due.map((d) => [d.fingerprint, d.dueAt]));

    const first = JSON.parse((await overview.render(3, due, false)).body.toString());
    expect(first).toEqual(await expected(store, 3, dueMap));
    expect(first[1].recentChecks.map((c: { decision: string }) => c.decision)).toEqual([
      'check 4',
      'check 3',
      'check 2',
    ]);
    expect(first[2].lastError).toBe('down');
    expect(asked.sort()).toEqual(['fp0', 'fp1', 'fp2', 'fp3', 'fp4']);

    // Nothing changed: no history is read again.
    asked.length = 0;
    expect(JSON.parse((await overview.render(3, due, false)).body.toString())).toEqual(first);
    expect(asked).toEqual([]);

    // One material checked: only its history is read, and the answer shows the new check.
    await store.recordCheck(check('fp3', 5, 'new'));
    const after = JSON.parse((await overview.render(3, due, false)).body.toString());
    expect(asked).toEqual(['fp3']);
    expect(after).toEqual(await expected(store, 3, dueMap));
    expect(after[3].latestRevision.revision).toBe(sampleRevision(5).revision);

    // The poller's schedule alone changed: the answer follows it.
    const running = [{ ...due[0], running: true } as (typeof due)[0]];
    const now = JSON.parse((await overview.render(3, running, false)).body.toString());
    expect(now[1].checking).toBe(true);
    expect(
      JSON.parse((await overview.render(0, due, false)).body.toString())[1].recentChecks,
    ).toEqual([]);
  });

  it('answers /api/pipelines as the decoded definitions would, and follows a pause', async () => {
    const store = await seeded(open, 1);
    const pipelines = createPipelineOverview(store);
    const views = async () => (await store.listPipelines()).map((row) => pipelineView(row));
    expect(JSON.parse((await pipelines.render()).body.toString())).toEqual(await views());
    await store.setPipelinePaused('b', true);
    const paused = JSON.parse((await pipelines.render()).body.toString());
    expect(paused).toEqual(await views());
    expect(paused.map((p: { paused: boolean }) => p.paused)).toEqual([false, true]);
  });
});

describe('pipelineJson', () => {
  it('adds paused and source to the stored object text, winning over keys of the same name', () => {
    const row = { name: 'x', paused: true, source: 'api' as const, schedulingError: null };
    expect(JSON.parse(pipelineJson({ ...row, definition: '{}' }))).toEqual({
      paused: true,
      source: 'api',
    });
    expect(JSON.parse(pipelineJson({ ...row, definition: '{"name":"x","paused":false}' }))).toEqual(
      { name: 'x', paused: true, source: 'api' },
    );
    expect(
      JSON.parse(pipelineJson({ ...row, definition: '{}', schedulingError: 'UNIQUE failed' })),
    ).toEqual({ paused: true, source: 'api', schedulingError: 'UNIQUE failed' });
    expect(() => pipelineJson({ ...row, definition: '[1]' })).toThrow(
      "the stored definition of pipeline 'x' is not a JSON object",
    );
  });
});
