import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleRevision } from '../../test/helpers/sample-plugin.ts';
import { MIGRATIONS } from './migrations.ts';
import { openSqliteStore } from './sqlite.ts';
import type { CheckResult, ConfigurationPlan, Store } from './store.ts';

const dirs: string[] = [];
const stores: Store[] = [];
function open(file?: string): Store {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-store-'));
  dirs.push(dir);
  const store = openSqliteStore(file ?? join(dir, 'hoist.db'));
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

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

function check(fingerprint: string, revisions = [sampleRevision(1)]): CheckResult {
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
    },
    nextCheckAt: null,
    failures: 0,
    lastError: null,
    lastErrorCode: null,
  };
}

describe('server/store/sqlite', () => {
  it('migrates a new database to the latest schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-store-'));
    dirs.push(dir);
    const file = join(dir, 'hoist.db');
    stores.push(openSqliteStore(file));
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('applies a configuration idempotently and removes only config-made objects', async () => {
    const store = open();
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
  });

  it('stores a check in one transaction and never duplicates a revision', async () => {
    const store = open();
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
    expect((await store.latestRevision('fp'))?.revision).toBe('app-3');
    expect((await store.getMaterial('fp'))?.state).toEqual({ etag: 'x' });
    const checks = await store.listChecks('fp', 10);
    expect(checks.map((c) => c.newRevisions)).toEqual([['app-3'], ['app-1', 'app-2']]);
  });

  it('rolls a failed check back whole', async () => {
    const store = open();
    await store.ensureMaterial('fp', 'yum', null);
    // A revision for a material that does not exist violates the foreign key: nothing is kept.
    await expect(store.recordCheck(check('missing'))).rejects.toThrow();
    expect(await store.listRevisions('missing', 10)).toEqual([]);
    expect(await store.listChecks('missing', 10)).toEqual([]);
  });

  it('keeps everything across a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-store-'));
    dirs.push(dir);
    const file = join(dir, 'hoist.db');
    const a = openSqliteStore(file);
    await a.applyConfiguration(plan(['app']));
    await a.ensureMaterial('fp-app-0', 'yum', null);
    await a.recordCheck(check('fp-app-0'));
    await a.close();
    const b = open(file);
    expect((await b.latestRevision('fp-app-0'))?.revision).toBe('app-1');
    expect((await b.getRepository('internal'))?.secrets).toEqual({ PASSWORD: 'v1:sealed' });
  });
});
