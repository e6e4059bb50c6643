import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupMembers } from '../agent/process-group.ts';
import type { Job, PipelineView, Run } from '../server/api/schemas/index.ts';
import { createTestDatabase, testStoreKind } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * `kill -9` at a series of moments after a check-now that finds a new version of a package 100
 * pipelines take: after a restart (SQLite), or with a second instance taking over (PostgreSQL),
 * every pipeline has exactly one run for the new version. And a job whose server is killed:
 * its process group is stopped before the job is reported failed, and a re-run never overlaps it.
 */
const PIPELINES = 100;
/** Kills this long after check-now… */
const AFTER_CHECK_NOW_MS = [0, 100, 250, 500];
/** …and this long after the new revision is stored (the moment a crash used to lose runs). */
const AFTER_STORED_MS = [0, 10, 40, 120];
const POSTGRES = testStoreKind() === 'postgres';
const LEASE_MS = 1500;

function config(repoUrl: string, flags: string): string {
  const pipelines = Array.from(
    { length: PIPELINES },
    (_, i) => `  - name: p${String(i).padStart(3, '0')}
    materials: [{ package: internal/app }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ exec: ["true"] }] }] }]`,
  );
  return `
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repoUrl}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }
      - { name: tool, config: { PACKAGE_SPEC: tool }, pollInterval: 1h }
pipelines:
${pipelines.join('\n')}
  - name: deploy
    materials: [{ package: internal/tool }]
    stages:
      - name: roll
        jobs:
          - name: out
            tasks: [{ run: "echo begin $HOIST_PIPELINE_COUNTER >> ${flags}/trace; if [ -f ${flags}/slow ]; then sleep 30; fi; echo end $HOIST_PIPELINE_COUNTER >> ${flags}/trace" }]
`;
}

/** Reads the database the servers write: runs per pipeline of a revision, and stored revisions. */
interface Reader {
  /** Runs per pipeline of those that carry `label` of internal/app. */
  count(label: string): Promise<Map<string, number>>;
  stored(label: string): Promise<boolean>;
  definition(pipeline: string): Promise<string>;
  setDefinition(pipeline: string, definition: string): Promise<void>;
}

const RUNS = `SELECT pipeline, COUNT(*) AS n FROM runs WHERE pipeline LIKE 'p%' AND cause LIKE $1 GROUP BY pipeline`;
const STORED = 'SELECT 1 FROM revisions WHERE revision = $1';

function sqliteReader(dataDir: string): Reader {
  const read = <T>(sql: string, param: string) => {
    const db = new Database(join(dataDir, 'hoist.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql.replace('$1', '?')).all(param) as T[];
    } finally {
      db.close();
    }
  };
  return {
    count: async (label) =>
      new Map(
        read<{ pipeline: string; n: number }>(RUNS, `%"revision":"${label}"%`).map((r) => [
          r.pipeline,
          Number(r.n),
        ]),
      ),
    stored: async (label) => read(STORED, label).length > 0,
    definition: async (name) =>
      read<{ definition: string }>('SELECT definition FROM pipelines WHERE name = $1', name)[0]
        ?.definition as string,
    setDefinition: async (name, definition) => {
      const db = new Database(join(dataDir, 'hoist.db'), { fileMustExist: true });
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('UPDATE pipelines SET definition = ? WHERE name = ?').run(definition, name);
      } finally {
        db.close();
      }
    },
  };
}

function postgresReader(client: pg.Client): Reader {
  return {
    count: async (label) =>
      new Map(
        (
          (await client.query(RUNS, [`%"revision":"${label}"%`])).rows as {
            pipeline: string;
            n: string;
          }[]
        ).map((r) => [r.pipeline, Number(r.n)]),
      ),
    stored: async (label) => ((await client.query(STORED, [label])).rowCount ?? 0) > 0,
    definition: async (name) =>
      (await client.query('SELECT definition FROM pipelines WHERE name = $1', [name])).rows[0]
        ?.definition as string,
    setDefinition: async (name, definition) =>
      void (await client.query('UPDATE pipelines SET definition = $2 WHERE name = $1', [
        name,
        definition,
      ])),
  };
}

/** Every pipeline has exactly one run for `label` (waits for that; fails on a second run). */
async function exactlyOnce(db: Reader, label: string, ms: number): Promise<void> {
  const count = (l: string) => db.count(l);
  const counts = await eventually(
    async () => {
      const found = await count(label);
      const twice = [...found].filter(([, n]) => n > 1);
      if (twice.length > 0) throw new Error(`pipelines with two runs of ${label}: ${twice}`);
      return found.size === PIPELINES ? found : undefined;
    },
    ms,
    200,
  ).catch(async (error) => {
    const found = await count(label);
    throw new Error(
      `${(error as Error).message}: ${found.size} of ${PIPELINES} pipelines ran ${label}`,
    );
  });
  // A little later nothing has been scheduled twice.
  await new Promise((r) => setTimeout(r, 500));
  const again = await count(label);
  expect([...again.values()].every((n) => n === 1)).toBe(true);
  expect(counts.size).toBe(PIPELINES);
}

describe(`a crash loses no run and leaves no job running (${POSTGRES ? 'PostgreSQL, a second instance takes over' : 'SQLite, restart'})`, () => {
  let dir: string;
  let flags: string;
  let repo: StaticServer;
  let file: string;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let client: pg.Client | undefined;
  const servers: ServerProcess[] = [];
  const env = {
    HOIST_SECRET_KEY: 'crash-test-secret-key',
    HOIST_LEASE_MS: String(LEASE_MS),
    HOIST_LOG_LEVEL: 'info',
  };
  let dataDir: string;
  let instances = 0;

  /** A server: on PostgreSQL each a new instance on the shared database. */
  const start = async () => {
    const server = await startServer({
      config: file,
      env: { ...env, HOIST_INSTANCE_ID: `crash-${instances++}` },
      ...(database ? { database: database.url } : { dataDir }),
    });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    dir = tempRepoDir();
    flags = mkdtempSync(join(tmpdir(), 'hoist-crash-'));
    dataDir = mkdtempSync(join(tmpdir(), 'hoist-crash-data-'));
    await buildRpms(dir, [
      { name: 'app', version: '1.0' },
      { name: 'tool', version: '1.0' },
    ]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    file = writeConfig(config(repo.url, flags));
    if (POSTGRES) {
      database = await createTestDatabase();
      client = new pg.Client({ connectionString: database.url });
      await client.connect();
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.kill9().catch(() => {});
    await client?.end();
    await database?.drop();
    await repo?.close();
    for (const d of [dir, flags, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('kill -9 at many moments after check-now: every pipeline runs the new version exactly once', async () => {
    const db = client ? postgresReader(client) : sqliteReader(dataDir);
    let server = await start();
    // On PostgreSQL a second instance shares the work, and takes over what the killed one owed.
    if (POSTGRES) await start();
    await exactlyOnce(db, 'app-1.0-1.noarch', 60_000);
    const moments = [
      ...AFTER_CHECK_NOW_MS.map((ms) => ({ ms, from: 'check-now' })),
      ...AFTER_STORED_MS.map((ms) => ({ ms, from: 'stored' })),
    ];
    const seen: string[] = [];
    let window = 0;
    for (const [i, moment] of moments.entries()) {
      const label = `app-1.${i + 1}-1.noarch`;
      await buildRpms(dir, [{ name: 'app', version: `1.${i + 1}` }]);
      await createrepo(dir);
      const asked = await server.api('POST', '/api/materials/check', { repository: 'internal' });
      expect(asked.status).toBeLessThan(300);
      if (moment.from === 'stored')
        await eventually(async () => ((await db.stored(label)) ? true : undefined), 20_000, 2);
      await new Promise((r) => setTimeout(r, moment.ms));
      await server.kill9();
      // What the crash left: the revision stored with fewer runs than pipelines is the window
      // in which runs used to be lost.
      const stored = await db.stored(label);
      const left = (await db.count(label)).size;
      if (stored && left < PIPELINES) window++;
      seen.push(
        `${moment.ms} ms after ${moment.from}: ${stored ? 'stored' : 'not stored'}, ${left} runs`,
      );
      // SQLite: a restart completes what the killed server owed. PostgreSQL: the second
      // instance does, once the killed one's leases expire; a new instance joins after that.
      if (!POSTGRES) server = await start();
      await exactlyOnce(db, label, 60_000);
      if (POSTGRES) server = await start();
    }
    console.log(`at each kill: ${seen.join('; ')}`);
    expect(window).toBeGreaterThan(0);
  }, 240_000);

  it('kill -9 during a job: its process group is stopped before the job fails; a re-run does not overlap', async () => {
    // One server: on PostgreSQL the others stop, so that the job runs on the one killed.
    for (const s of servers.slice(0, -1)) await s.kill9();
    let server = servers.at(-1) as ServerProcess;
    const runs = async (s: ServerProcess) =>
      (await s.api<Run[]>('GET', '/api/pipelines/deploy/runs')).body;
    await eventually(async () => {
      const status = (await runs(server))[0]?.status;
      return status === 'passed' || status === 'failed' ? true : undefined;
    }, 60_000);
    writeFileSync(join(flags, 'slow'), '');
    await buildRpms(dir, [{ name: 'tool', version: '1.1' }]);
    await createrepo(dir);
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    const job = await eventually(async () => {
      const found = (await runs(server)).find((r) => r.counter === 2)?.stages[0]?.jobs[0];
      return found?.process ? found : undefined;
    }, 30_000);
    const group = job.process as NonNullable<Job['process']>;
    await server.kill9();
    // The job outlived its server.
    expect(groupMembers(group.pgid, group.start).length).toBeGreaterThan(0);
    rmSync(join(flags, 'slow'));
    server = await start();
    const failed = await eventually(
      async () => {
        const run = (await runs(server)).find((r) => r.counter === 2);
        if (run?.status !== 'failed') return undefined;
        // Checked the moment the failure shows: nothing of the group runs any more.
        return { run, members: groupMembers(group.pgid, group.start) };
      },
      30_000,
      20,
    );
    expect(failed.members).toEqual([]);
    expect(failed.run.stages[0]?.jobs[0]?.error).toBe(
      `the server stopped while this job was running; its processes (process group ${group.pgid}) were stopped; re-run the stage`,
    );
    expect(failed.run.stages[0]?.jobs[0]?.process).toBeNull();
    const rerun = await server.api('POST', '/api/pipelines/deploy/runs/2/stages/roll/run');
    expect(rerun.status).toBe(200);
    await eventually(
      async () =>
        (await runs(server)).find((r) => r.counter === 2)?.status === 'passed' ? true : undefined,
      30_000,
    );
    // The killed copy never finished, and the re-run began after it was gone: one begin each,
    // the second followed by its end, and never two copies at once.
    const trace = readFileSync(join(flags, 'trace'), 'utf8').trim().split('\n');
    expect(trace.filter((l) => l.endsWith(' 2'))).toEqual(['begin 2', 'begin 2', 'end 2']);
    expect(existsSync(join(flags, 'slow'))).toBe(false);
  }, 120_000);

  it('a pipeline that cannot be scheduled shows why on it, and holds up no other', async () => {
    const server = servers.at(-1) as ServerProcess;
    const db = client ? postgresReader(client) : sqliteReader(dataDir);
    // A definition the store refuses at run creation (one stage twice), as an older server
    // accepted it; p000 comes first in order.
    const original = await db.definition('p000');
    const stages = (JSON.parse(original) as { stages: unknown[] }).stages;
    await db.setDefinition(
      'p000',
      JSON.stringify({ ...JSON.parse(original), stages: [...stages, ...stages] }),
    );
    const publish = async (version: string) => {
      await buildRpms(dir, [{ name: 'app', version }]);
      await createrepo(dir);
      await server.api('POST', '/api/materials/check', { repository: 'internal' });
    };
    await publish('2.0');
    const view = await eventually(async () => {
      const found = await db.count('app-2.0-1.noarch');
      const pipeline = (await server.api<PipelineView>('GET', '/api/pipelines/p000')).body;
      return found.size === PIPELINES - 1 && pipeline.schedulingError ? pipeline : undefined;
    }, 60_000);
    expect((await db.count('app-2.0-1.noarch')).has('p000')).toBe(false);
    expect(view.schedulingError).toMatch(/UNIQUE|unique|duplicate/);
    // Repaired: the next version runs it again, and the error is gone.
    await db.setDefinition('p000', original);
    await publish('2.1');
    await exactlyOnce(db, 'app-2.1-1.noarch', 60_000);
    const repaired = (await server.api<PipelineView>('GET', '/api/pipelines/p000')).body;
    expect(repaired.schedulingError).toBeUndefined();
  }, 120_000);
});
