import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplySummary, Run } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/** A secret whose URL-encoded form differs from it (`/`, spaces, `&`, `=`). */
const SECRET = 'k3y/with spaces&more=1-x';
const ENCODED = encodeURIComponent(SECRET);
const API_SECRET = 'api-only-s3cret-value';

/** Every file below a folder (the data folder: database, WAL, logs, work folders, keys). */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesBelow(path);
    return entry.isFile() ? [path] : [];
  });
}

describe('variables, secure variables, runIf and onCancel (server process)', () => {
  let dir: string;
  let out: string;
  let repo: StaticServer;
  let server: ServerProcess;
  /** Every API answer the test read, to look for the secret in. */
  const answers: string[] = [];

  const get = async (path: string) => {
    const response = await fetch(server.url + path, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const text = await response.text();
    answers.push(text);
    return text;
  };
  const run = async (pipeline: string, counter: number) =>
    JSON.parse(await get(`/api/pipelines/${pipeline}/runs/${counter}`)) as Run;
  const log = (pipeline: string, counter: number, stage: string, job: string) =>
    get(`/api/pipelines/${pipeline}/runs/${counter}/stages/${stage}/jobs/${job}/log`);
  const settled = (pipeline: string, counter: number, status: string) =>
    eventually(async () => {
      const r = await run(pipeline, counter).catch(() => undefined);
      return r?.status === status ? r : undefined;
    }, 30_000);

  beforeAll(async () => {
    dir = tempRepoDir();
    out = mkdtempSync(join(tmpdir(), 'hoist-vars-out-'));
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    server = await startServer({
      env: { DEPLOY_KEY: SECRET },
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: vars
    materials: [{ package: internal/app }]
    variables: { OUT: "${out}", REGION: eu-1, LEVEL: pipeline, COUNT: 42, ON: true }
    secureVariables: { DEPLOY_KEY: "\${env:DEPLOY_KEY}" }
    stages:
      - name: first
        variables: { LEVEL: stage, STAGE_ONLY: s1 }
        jobs:
          - name: uses
            variables: { LEVEL: job }
            tasks:
              - run: printf '%s' "$DEPLOY_KEY" | sha256sum | cut -c1-64 > "$OUT/hash"
              - run: echo "raw=$DEPLOY_KEY"
              - run: python3 -c 'import os, urllib.parse; print("encoded=" + urllib.parse.quote(os.environ["DEPLOY_KEY"], safe=""))'
              - run: echo "levels=$REGION/$LEVEL/$STAGE_ONLY/$COUNT/$ON"
          - name: stage-level
            tasks: [{ run: 'echo "levels=$LEVEL/$STAGE_ONLY"' }]
      - name: second
        jobs:
          - name: pipeline-level
            secureVariables: { REGION: eu-secret }
            tasks: [{ run: 'echo "levels=$LEVEL/$\{STAGE_ONLY:-none}"' }]
  - name: cleanup
    materials: [{ package: internal/app }]
    stages:
      - name: one
        jobs:
          - name: fails
            tasks:
              - run: "exit 3"
              - { run: 'echo never', runIf: passed }
              - { run: 'echo rolled-back > "${out}/rollback-after-failure"', runIf: failed }
              - { run: 'echo always', runIf: any }
  - name: clean
    materials: [{ package: internal/app }]
    stages:
      - name: one
        jobs:
          - name: passes
            tasks:
              - run: "true"
              - { run: 'echo rolled-back > "${out}/rollback-after-success"', runIf: failed }
  - name: cancelled
    materials: [{ package: internal/app }]
    secureVariables: { DEPLOY_KEY: "\${env:DEPLOY_KEY}" }
    stages:
      - name: deploy
        jobs:
          - name: roll-out
            tasks:
              - run: touch "${out}/started"; sleep 60
                onCancel: { run: 'sleep 1; echo "undo with $DEPLOY_KEY"; printf "%s" "$DEPLOY_KEY" | wc -c > "${out}/undone"' }
              - { run: 'touch "${out}/after-cancel"', runIf: any }
`),
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('passes a secure variable to the job, masked in its log raw and URL-encoded', async () => {
    await settled('vars', 1, 'passed');
    // The job got the value itself: the hash it wrote outside the log is the secret's.
    const hash = readFileSync(join(out, 'hash'), 'utf8').trim();
    expect(hash).toBe(createHash('sha256').update(SECRET).digest('hex'));
    const text = await log('vars', 1, 'first', 'uses');
    expect(text).toContain('raw=********\n');
    expect(text).toContain('encoded=********\n');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ENCODED);
  });

  it('gives each job the innermost value: job over stage over pipeline', async () => {
    expect(await log('vars', 1, 'first', 'uses')).toContain('levels=eu-1/job/s1/42/true\n');
    expect(await log('vars', 1, 'first', 'stage-level')).toContain('levels=stage/s1\n');
    expect(await log('vars', 1, 'second', 'pipeline-level')).toContain('levels=pipeline/none\n');
  });

  it('runs a runIf: failed task after a failure only, and still fails the job', async () => {
    const failed = await settled('cleanup', 1, 'failed');
    expect(failed.stages[0]?.jobs[0]?.status).toBe('failed');
    expect(readFileSync(join(out, 'rollback-after-failure'), 'utf8')).toBe('rolled-back\n');
    const text = await log('cleanup', 1, 'one', 'fails');
    expect(text).toContain('hoist: skipped (runIf: passed; an earlier task failed): echo never');
    expect(text).toMatch(/^always$/m);
    await settled('clean', 1, 'passed');
    expect(existsSync(join(out, 'rollback-after-success'))).toBe(false);
    expect(await log('clean', 1, 'one', 'passes')).toContain(
      'hoist: skipped (runIf: failed; no task failed)',
    );
  });

  it('runs the onCancel task of a cancelled job before the run is shown cancelled', async () => {
    await eventually(async () => (existsSync(join(out, 'started')) ? true : undefined), 30_000);
    const cancelling = server.api<Run>('POST', '/api/pipelines/cancelled/runs/1/cancel');
    // The onCancel task sleeps a second first: meanwhile the run is not yet cancelled.
    await new Promise((r) => setTimeout(r, 400));
    expect((await run('cancelled', 1)).status).toBe('building');
    expect(existsSync(join(out, 'undone'))).toBe(false);
    const answer = await cancelling;
    answers.push(JSON.stringify(answer.body));
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('cancelled');
    // It ran with the job's environment (the secure variable's length) before the answer.
    expect(readFileSync(join(out, 'undone'), 'utf8').trim()).toBe(String(SECRET.length));
    expect(existsSync(join(out, 'after-cancel'))).toBe(false);
    const text = await log('cancelled', 1, 'deploy', 'roll-out');
    expect(text).toContain('hoist: the task was cancelled; running its onCancel task');
    expect(text).toContain('undo with ********');
    expect(text).toContain('hoist: skipped (the job was cancelled)');
    expect((await run('cancelled', 1)).stages[0]?.jobs[0]?.status).toBe('cancelled');
  });

  it('shows secure variables only as set, and keeps their sealed form on a re-apply', async () => {
    const pipeline = JSON.parse(await get('/api/pipelines/vars'));
    expect(pipeline.secureVariables).toEqual({ DEPLOY_KEY: 'set' });
    expect(pipeline.variables.REGION).toBe('eu-1');
    expect(pipeline.stages[1].jobs[0].secureVariables).toEqual({ REGION: 'set' });
    const all = JSON.parse(await get('/api/pipelines'));
    expect(all.find((p: { name: string }) => p.name === 'vars').secureVariables).toEqual({
      DEPLOY_KEY: 'set',
    });
    const docs = await server.api<{
      paths: Record<string, Record<string, { description?: string }>>;
    }>('GET', '/docs/json');
    expect(docs.body.paths['/api/pipelines/{name}']?.put?.description).toMatch(/secureVariables/);
    expect(docs.body.paths['/api/pipelines/{name}']?.get?.description).toMatch(/"set"/);
    const applied = await server.api<ApplySummary>('POST', '/api/config/apply');
    expect(applied.status).toBe(200);
    expect(applied.body.changed).toBe(0);
  });

  it('sets secure variables over the API; a PUT that leaves one out removes it', async () => {
    const definition = {
      name: 'api-made',
      materials: [{ package: 'internal/app' }],
      stages: [
        { name: 'one', approval: 'manual', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] },
      ],
      secureVariables: { TOKEN: API_SECRET },
    };
    expect((await server.api('POST', '/api/pipelines', definition)).status).toBe(201);
    expect(JSON.parse(await get('/api/pipelines/api-made')).secureVariables).toEqual({
      TOKEN: 'set',
    });
    type Refusal = { error: { issues: { key: string; message: string }[] } };
    const put = (body: unknown) => server.api<Refusal>('PUT', '/api/pipelines/api-made', body);
    const twice = await put({ ...definition, variables: { TOKEN: 'x' } });
    expect(twice.status).toBe(422);
    expect(twice.body.error.issues).toEqual([
      {
        key: 'secureVariables.TOKEN',
        message:
          "'TOKEN' is also given in variables.TOKEN: a name is either a variable or a secure variable",
      },
    ]);
    const reserved = await put({ ...definition, variables: { HOIST_MINE: 'y' } });
    expect(reserved.status).toBe(422);
    expect(reserved.body.error.issues[0]?.key).toBe('variables.HOIST_MINE');
    expect(reserved.body.error.issues[0]?.message).toMatch(
      /^names beginning HOIST_ are set by Hoist/,
    );
    const { secureVariables: _, ...without } = definition;
    expect((await server.api('PUT', '/api/pipelines/api-made', without)).status).toBe(200);
    expect(JSON.parse(await get('/api/pipelines/api-made')).secureVariables).toBeUndefined();
  });

  it('never shows a secure value in any API answer nor in clear in the data folder', async () => {
    await get('/api/materials');
    await get('/api/pipelines/vars/runs');
    await get('/api/pipelines/cancelled/runs');
    await get('/api/audit');
    for (const text of answers) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(ENCODED);
      expect(text).not.toContain(API_SECRET);
      expect(text).not.toContain('v1:'); // nor a sealed form
    }
    const files = filesBelow(server.dataDir);
    expect(files.some((f) => f.endsWith('hoist.db'))).toBe(server.database === undefined);
    for (const file of files) {
      if (statSync(file).size > 64 * 1024 * 1024) continue;
      const bytes = readFileSync(file);
      for (const secret of [SECRET, ENCODED, API_SECRET])
        expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).toBe(false);
    }
  });
});
