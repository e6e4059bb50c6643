import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import createClient from 'openapi-fetch';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { paths } from '../docs/api/hoist-api.d.ts';
import * as schemas from '../server/api/schemas/index.ts';
import { contractConfig, OPERATOR, samplePath, VIEWER } from './helpers/api-scenario.ts';
import { API_TYPES, apiTypes } from './helpers/api-types.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** `METHOD /path/{param}` of every operation in the document. */
function operations(document: OpenAPIV3_1.Document): string[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((m) => item?.[m]).map((m) => `${m.toUpperCase()} ${path}`),
  );
}

describe('the API contract: OpenAPI document, generated client, real server', () => {
  let server: ServerProcess;
  let document: OpenAPIV3_1.Document;
  let file: string;

  beforeAll(async () => {
    server = await startServer({
      config: writeConfig(contractConfig().yaml),
      env: { HOIST_AGENT_LONG_POLL: '0.2' },
    });
    const answer = await server.api<OpenAPIV3_1.Document>('GET', '/docs/json');
    expect(answer.status).toBe(200);
    document = answer.body;
    file = join(mkdtempSync(join(tmpdir(), 'hoist-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(document, null, 2));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('passes redocly lint with the recommended rules (redocly.yaml)', async () => {
    const bin = join(ROOT, 'node_modules', '.bin', 'redocly');
    const { stdout, stderr } = await promisify(execFile)(
      bin,
      ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish', file],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`redocly lint failed:\n${error.stdout}\n${error.stderr}`);
    });
    expect(`${stdout}${stderr}`).toContain('Your API description is valid');
    expect(`${stdout}${stderr}`).not.toMatch(/\d+:\d+\s+(error|warning)|You have \d+ warning/);
  });

  it('documents every operation with an id, a summary, a tag and its error answers', () => {
    const ops = operations(document);
    expect(ops.length).toBeGreaterThanOrEqual(32);
    for (const op of ops) {
      const [method, path] = op.split(' ') as [string, string];
      const operation = document.paths?.[path]?.[
        method.toLowerCase() as 'get'
      ] as OpenAPIV3_1.OperationObject;
      expect(operation.operationId, op).toBeTruthy();
      expect(operation.summary, op).toBeTruthy();
      expect(operation.tags?.length, op).toBe(1);
      const statuses = Object.keys(operation.responses ?? {});
      // redocly.yaml turns operation-4xx-response off for the open health check: checked here.
      if (path !== '/api/health') expect(statuses, op).toContain('401');
      expect(
        statuses.some((s) => /^2/.test(s)),
        op,
      ).toBe(true);
    }
    const body = (path: string) =>
      (document.paths?.[path]?.post?.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)
        ?.required;
    // No body needed: approve, schedule and a re-apply take none, or an empty one.
    expect(body('/api/pipelines/{name}/runs/{counter}/stages/{stage}/approve')).toBe(false);
    expect(body('/api/pipelines/{name}/schedule')).toBe(false);
    expect(body('/api/config/apply')).toBe(false);
    expect(body('/api/pipelines')).toBe(true);
    expect(Object.keys(document.components?.schemas ?? {})).toEqual(
      expect.arrayContaining(['Run', 'Stage', 'Job', 'Material', 'PipelineView', 'ErrorBody']),
    );
  });

  it('has its generated client types committed, as openapi-typescript makes them now', async () => {
    const fresh = await apiTypes(document);
    if (process.env.HOIST_WRITE_API_TYPES === '1') writeFileSync(API_TYPES, fresh);
    expect(
      readFileSync(API_TYPES, 'utf8') === fresh,
      'docs/api/hoist-api.d.ts is stale: HOIST_WRITE_API_TYPES=1 npx vitest run test/api-contract.test.ts',
    ).toBe(true);
  });

  it('answers 401 with the error envelope on every route but health, without a token', async () => {
    for (const op of operations(document)) {
      const [method, path] = op.split(' ') as [string, string];
      // Registration is open: the registration key in its body is its credential.
      if (path === '/api/health' || path === '/api/agent/register') continue;
      const response = await fetch(server.url + samplePath(path), { method });
      expect(response.status, op).toBe(401);
      expect(schemas.ErrorBody.safeParse(await response.json()).success, op).toBe(true);
    }
  });

  it('takes an empty JSON body where no body is needed', async () => {
    const post = (path: string) =>
      fetch(server.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
        body: '',
      });
    const paused = await post('/api/pipelines/build/pause');
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({ name: 'build', paused: true });
    expect((await post('/api/pipelines/build/unpause')).status).toBe(200);
    // Not locked: refused for that reason, not for the empty body.
    const unlock = await post('/api/pipelines/build/unlock');
    expect(unlock.status).toBe(409);
    const approve = await post('/api/pipelines/build/runs/999/stages/release/approve');
    expect(approve.status).toBe(404);
    const bad = await fetch(`${server.url}/api/pipelines/build/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
  });

  it('keeps every field of a pipeline, whether its answer is kept bytes or serialised', async () => {
    const one = await server.api<Record<string, unknown>>('GET', '/api/pipelines/build');
    const all = await server.api<Record<string, unknown>[]>('GET', '/api/pipelines');
    const listed = all.body.find((p) => p.name === 'build');
    expect(one.body).toEqual(listed);
    expect(one.body).toMatchObject({
      name: 'build',
      lock: 'none',
      variables: { GREETING: 'hello' },
      secureVariables: { TOKEN: 'set' },
      paused: false,
      source: 'config',
      stages: [
        { name: 'test', jobs: [{ name: 'unit', tasks: [{ run: 'echo "$GREETING from unit"' }] }] },
        { name: 'release', approval: 'manual' },
      ],
    });
    expect(JSON.stringify(all.body)).not.toContain('not-shown');
  });

  it('round-trips every route through the generated client (statuses and shapes)', async () => {
    const called = new Set<string>();
    const client = (token: string) => {
      const c = createClient<paths>({
        baseUrl: server.url,
        headers: { authorization: `Bearer ${token}` },
      });
      c.use({
        onRequest: ({ schemaPath, request }) => {
          called.add(`${request.method} ${schemaPath}`);
        },
      });
      return c;
    };
    const admin = client(ADMIN_TOKEN);
    const operator = client(OPERATOR);
    const viewer = client(VIEWER);
    const shape = <S extends z.ZodType>(schema: S, value: unknown) => {
      const result = schema.safeParse(value);
      expect(result.error?.issues ?? [], String(JSON.stringify(value)).slice(0, 500)).toEqual([]);
      // The schema strips what it does not list: an answer with an undocumented field differs.
      expect(result.data, 'an answer has fields its schema does not document').toEqual(value);
      return result.data as z.infer<S>;
    };
    await exerciseSystem({ admin, viewer, shape });
    await exerciseConfiguration({ admin, viewer, shape });
    await exerciseRuns({ operator, viewer, shape });
    await exerciseEvents({ admin, viewer, shape });
    await exerciseAgents({ admin, viewer, shape }, client);
    expect([...called].sort()).toEqual(operations(document).sort());
  }, 120_000);
});

type Client = ReturnType<typeof createClient<paths>>;
type Shape = <S extends z.ZodType>(schema: S, value: unknown) => z.infer<S>;
interface Clients {
  admin?: Client;
  operator?: Client;
  viewer: Client;
  shape: Shape;
}

async function exerciseAgents(
  { admin, viewer, shape }: Clients & { admin: Client },
  client: (token: string) => Client,
) {
  const key = shape(
    schemas.RegistrationKey,
    (await admin.GET('/api/agents/registration-key')).data,
  ).key;
  const refused = await viewer.POST('/api/agent/register', {
    body: { key: 'not-the-key', hostname: 'h', resources: [], version: '1' },
  });
  expect(refused.response.status).toBe(401);
  const registered = await viewer.POST('/api/agent/register', {
    body: { key, hostname: 'builder-1', resources: ['rpm'], version: '1.0.0' },
  });
  const credentials = shape(schemas.AgentCredentials, registered.data);
  expect(credentials.state).toBe('pending');
  const agent = client(credentials.token);
  const beat = await agent.POST('/api/agent/heartbeat', {
    body: { resources: ['rpm'], version: '1.0.0', draining: false },
  });
  expect(shape(schemas.AgentHeartbeatAnswer, beat.data)).toEqual({ cancel: [], state: 'pending' });
  const work = await agent.POST('/api/agent/work');
  expect(work.response.status).toBe(204);
  const log = await agent.POST('/api/agent/jobs/{id}/log', {
    params: { path: { id: 999_999 } },
    body: { offset: 0, text: 'x' },
  });
  expect(shape(schemas.ErrorBody, log.error).error.code).toBe('ERR_NOT_FOUND');
  const result = await agent.POST('/api/agent/jobs/{id}/result', {
    params: { path: { id: 999_999 } },
    body: { passed: true, exitCode: 0, error: null, cancelled: false },
  });
  expect(result.response.status).toBe(404);
  const listed = shape(schemas.Agent.array(), (await viewer.GET('/api/agents')).data);
  expect(listed.map((a) => a.hostname)).toEqual(['builder-1']);
  const one = await viewer.GET('/api/agents/{id}', { params: { path: { id: credentials.id } } });
  expect(shape(schemas.Agent, one.data).status).toBe('idle');
  const patched = await admin.PATCH('/api/agents/{id}', {
    params: { path: { id: credentials.id } },
    body: { state: 'enabled', environments: ['staging'] },
  });
  expect(shape(schemas.Agent, patched.data)).toMatchObject({
    state: 'enabled',
    environments: ['staging'],
  });
  const removed = await admin.DELETE('/api/agents/{id}', {
    params: { path: { id: credentials.id } },
  });
  expect(removed.response.status).toBe(204);
  const gone = await agent.POST('/api/agent/heartbeat', {
    body: { resources: [], version: '1', draining: false },
  });
  expect(gone.response.status).toBe(401);
}

async function exerciseSystem({ admin, viewer, shape }: Clients & { admin: Client }) {
  const health = await viewer.GET('/api/health');
  expect(shape(schemas.Health, health.data).status).toBe('ok');
  const whoami = await viewer.GET('/api/whoami');
  expect(shape(schemas.Principal, whoami.data)).toEqual({
    name: 'vic',
    role: 'viewer',
    groups: [],
  });
  const metrics = await viewer.GET('/metrics', { parseAs: 'text' });
  expect(metrics.response.status).toBe(200);
  expect(metrics.data).toContain('# TYPE');
  const instances = await viewer.GET('/api/instances');
  expect(shape(schemas.Instance.array(), instances.data)[0]?.self).toBe(true);
  const plugins = await viewer.GET('/api/plugins');
  expect(shape(schemas.Plugin.array(), plugins.data).map((p) => p.id)).toContain('yum');
  const audit = await admin.GET('/api/audit', { params: { query: { limit: 10 } } });
  shape(schemas.AuditEntry.array(), audit.data);
  const bad = await admin.GET('/api/audit', { params: { query: { limit: 0 } } });
  expect(bad.response.status).toBe(400);
  expect(shape(schemas.ErrorBody, bad.error).error.code).toBe('ERR_BAD_REQUEST');
}

async function exerciseConfiguration({ admin, viewer, shape }: Clients & { admin: Client }) {
  const repos = await viewer.GET('/api/repositories');
  expect(shape(schemas.Repository.array(), repos.data).map((r) => r.name)).toEqual(['internal']);
  const internal = await viewer.GET('/api/repositories/{name}', {
    params: { path: { name: 'internal' } },
  });
  const repoUrl = shape(schemas.Repository, internal.data).config.REPO_URL as string;
  const missing = await viewer.GET('/api/repositories/{name}', {
    params: { path: { name: 'nope' } },
  });
  expect(missing.response.status).toBe(404);
  shape(schemas.ErrorBody, missing.error);
  const connection = await admin.POST('/api/repositories/{name}/check-connection', {
    params: { path: { name: 'internal' } },
  });
  expect(shape(schemas.ConnectionCheck, connection.data).status).toBe('success');
  const packageConnection = await admin.POST('/api/packages/{repo}/{name}/check-connection', {
    params: { path: { repo: 'internal', name: 'app' } },
  });
  expect(shape(schemas.ConnectionCheck, packageConnection.data).status).toBe('success');
  const noPackage = await viewer.POST('/api/packages/{repo}/{name}/check-connection', {
    params: { path: { repo: 'internal', name: 'app' } },
  });
  expect(noPackage.response.status).toBe(403);

  const created = await admin.POST('/api/repositories', {
    body: { name: 'extra', plugin: 'yum', config: { REPO_URL: repoUrl } },
  });
  expect(created.response.status).toBe(201);
  shape(schemas.Repository, created.data);
  const again = await admin.POST('/api/repositories', {
    body: { name: 'extra', plugin: 'yum', config: { REPO_URL: repoUrl } },
  });
  expect(again.response.status).toBe(409);
  const refused = await viewer.POST('/api/repositories', {
    body: { name: 'other', plugin: 'yum', config: {} },
  });
  expect(refused.response.status).toBe(403);
  const updated = await admin.PUT('/api/repositories/{name}', {
    params: { path: { name: 'extra' } },
    body: { config: { REPO_URL: `${repoUrl}/` } },
  });
  expect(shape(schemas.Repository, updated.data).config.REPO_URL).toBe(`${repoUrl}/`);

  const pkg = await admin.POST('/api/packages', {
    body: {
      repository: 'extra',
      name: 'lib',
      config: { PACKAGE_SPEC: 'app' },
      pollInterval: 'never',
    },
  });
  expect(pkg.response.status).toBe(201);
  const lib = { repository: 'extra', name: 'lib' };
  expect(shape(schemas.Package, pkg.data).pollInterval).toBe('never');
  const got = await viewer.GET('/api/packages/{repository}/{name}', { params: { path: lib } });
  shape(schemas.Package, got.data);
  const changed = await admin.PUT('/api/packages/{repository}/{name}', {
    params: { path: lib },
    body: { config: { PACKAGE_SPEC: 'app' }, pollInterval: '5m' },
  });
  expect(shape(schemas.Package, changed.data).pollInterval).toBe('5m');
  const packages = await viewer.GET('/api/packages');
  expect(shape(schemas.Package.array(), packages.data)).toHaveLength(2);

  const queued = await admin.POST('/api/materials/check', { body: { repository: 'extra' } });
  expect(queued.response.status).toBe(202);
  expect(shape(schemas.QueuedChecks, queued.data).queued).toHaveLength(1);
  const materials = await eventually(async () => {
    const answer = await viewer.GET('/api/materials', { params: { query: { checks: 2 } } });
    const list = shape(schemas.Material.array(), answer.data);
    return list.every((m) => m.latestRevision) ? list : undefined;
  }, 20_000);
  const revisions = await viewer.GET('/api/materials/{fingerprint}/revisions', {
    params: { path: { fingerprint: materials[0]?.fingerprint as string }, query: { limit: 5 } },
  });
  expect(shape(schemas.StoredRevision.array(), revisions.data)[0]?.revision).toBe(
    'app-1.0-1.noarch',
  );
  const gone = await admin.DELETE('/api/packages/{repository}/{name}', { params: { path: lib } });
  expect(gone.response.status).toBe(204);
  const deleted = await admin.DELETE('/api/repositories/{name}', {
    params: { path: { name: 'extra' } },
  });
  expect(deleted.response.status).toBe(204);

  const list = await viewer.GET('/api/pipelines');
  expect(shape(schemas.PipelineView.array(), list.data).map((p) => p.name)).toEqual([
    'build',
    'fragile',
    'slow',
  ]);
  const build = await viewer.GET('/api/pipelines/{name}', { params: { path: { name: 'build' } } });
  shape(schemas.PipelineView, build.data);
  const definition = {
    name: 'scratch',
    materials: [{ package: 'internal/app' }],
    stages: [{ name: 's', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
  };
  const made = await admin.POST('/api/pipelines', { body: definition });
  expect(made.response.status).toBe(201);
  expect(shape(schemas.PipelineName, made.data)).toEqual({ name: 'scratch' });
  const invalid = await admin.POST('/api/pipelines', { body: { name: 'broken', stages: [] } });
  expect(invalid.response.status).toBe(422);
  expect(shape(schemas.ErrorBody, invalid.error).error.issues?.length).toBeGreaterThan(0);
  const replaced = await admin.PUT('/api/pipelines/{name}', {
    params: { path: { name: 'scratch' } },
    body: { ...definition, stages: [{ ...definition.stages[0], name: 't' }] },
  });
  expect(shape(schemas.PipelineName, replaced.data)).toEqual({ name: 'scratch' });
  const removed = await admin.DELETE('/api/pipelines/{name}', {
    params: { path: { name: 'scratch' } },
  });
  expect(removed.response.status).toBe(204);
  const applied = await admin.POST('/api/config/apply');
  expect(shape(schemas.ApplySummary, applied.data).removed).toBe(0);
}

async function exerciseRuns({ operator, viewer, shape }: Clients & { operator: Client }) {
  const name = { name: 'build' };
  const scheduled = await operator.POST('/api/pipelines/{name}/schedule', {
    params: { path: name },
  });
  expect(scheduled.response.status).toBe(202);
  const { counter } = shape(schemas.ScheduledRun, scheduled.data);
  const runPath = { ...name, counter };
  const run = () =>
    viewer.GET('/api/pipelines/{name}/runs/{counter}', { params: { path: runPath } });
  await eventually(
    async () => ((await run()).data?.status === 'waiting' ? true : undefined),
    20_000,
  );
  shape(schemas.Run, (await run()).data);
  const runs = await viewer.GET('/api/pipelines/{name}/runs', {
    params: { path: name, query: { limit: 5 } },
  });
  expect(shape(schemas.Run.array(), runs.data).length).toBeGreaterThan(0);
  const log = await viewer.GET(
    '/api/pipelines/{name}/runs/{counter}/stages/{stage}/jobs/{job}/log',
    {
      params: { path: { ...runPath, stage: 'test', job: 'unit' } },
      parseAs: 'text',
    },
  );
  expect(log.data).toContain('hello from unit');
  const stage = { ...runPath, stage: 'release' };
  const approved = await operator.POST(
    '/api/pipelines/{name}/runs/{counter}/stages/{stage}/approve',
    {
      params: { path: stage },
      body: { comment: 'ship it' },
    },
  );
  expect(shape(schemas.Run, approved.data).stages[1]?.approvedBy).toBe('olga');
  const twice = await operator.POST('/api/pipelines/{name}/runs/{counter}/stages/{stage}/approve', {
    params: { path: stage },
  });
  expect(twice.response.status).toBe(409);
  await eventually(
    async () => ((await run()).data?.status === 'passed' ? true : undefined),
    20_000,
  );
  const passed = await operator.POST('/api/pipelines/{name}/runs/{counter}/stages/{stage}/run', {
    params: { path: { ...runPath, stage: 'test' } },
  });
  expect(shape(schemas.ErrorBody, passed.error).error.code).toBe('ERR_CONFLICT');
  const candidates = await viewer.GET('/api/pipelines/{name}/candidates', {
    params: { path: name },
  });
  expect(shape(schemas.PinChoices, candidates.data).packages[0]?.material).toBe('internal/app');
  const promotions = await viewer.GET('/api/promotions', {
    params: { query: { material: 'internal/app' } },
  });
  expect(shape(schemas.Promotion.array(), promotions.data)[0]?.revision).toBe('app-1.0-1.noarch');
  const board = await viewer.GET('/api/board', { params: { query: { runs: 3 } } });
  const groups = shape(schemas.Board, board.data).groups;
  expect(groups.flatMap((g) => g.pipelines.map((p) => p.pipeline.name)).sort()).toEqual([
    'build',
    'fragile',
    'slow',
  ]);
  expect(groups.find((g) => g.name === 'build')?.pipelines[0]?.runs.length).toBeGreaterThan(0);
  const stream = await viewer.GET('/api/value-stream/{name}/{counter}', {
    params: { path: runPath },
  });
  const graph = shape(schemas.ValueStream, stream.data);
  expect(graph.packages.map((p) => p.revision.revision)).toEqual(['app-1.0-1.noarch']);
  expect(graph.runs.find((r) => r.current)).toMatchObject({
    pipeline: 'build',
    counter,
    column: 1,
  });
  expect(graph.edges).toContainEqual({
    from: graph.packages[0]?.id,
    to: `run:build/${counter}`,
  });
  const noStream = await viewer.GET('/api/value-stream/{name}/{counter}', {
    params: { path: { name: 'build', counter: 999 } },
  });
  expect(noStream.response.status).toBe(404);

  for (const action of ['/api/pipelines/{name}/pause', '/api/pipelines/{name}/unpause'] as const) {
    const answer = await operator.POST(action, { params: { path: name } });
    shape(schemas.PauseState, answer.data);
  }
  const slow = await eventually(async () => {
    const answer = await viewer.GET('/api/pipelines/{name}/runs', {
      params: { path: { name: 'slow' } },
    });
    return answer.data?.find((r) => r.status === 'building');
  }, 20_000);
  const cancelled = await operator.POST('/api/pipelines/{name}/runs/{counter}/cancel', {
    params: { path: { name: 'slow', counter: slow.counter } },
  });
  expect(shape(schemas.Run, cancelled.data).status).toBe('cancelled');
  const slowRun = { name: 'slow', counter: slow.counter };
  const rerun = await operator.POST('/api/pipelines/{name}/runs/{counter}/stages/{stage}/run', {
    params: { path: { ...slowRun, stage: 'wait' } },
  });
  expect(rerun.response.status, JSON.stringify(rerun.error)).toBe(200);
  expect(shape(schemas.Run, rerun.data).status).toBe('building');
  await operator.POST('/api/pipelines/{name}/runs/{counter}/cancel', {
    params: { path: slowRun },
  });
  await eventually(async () => {
    const answer = await viewer.GET('/api/pipelines/{name}', {
      params: { path: { name: 'fragile' } },
    });
    return answer.data?.locked?.state === 'failed' ? true : undefined;
  }, 20_000);
  const unlocked = await operator.POST('/api/pipelines/{name}/unlock', {
    params: { path: { name: 'fragile' } },
  });
  expect(shape(schemas.Unlocked, unlocked.data).pipeline).toBe('fragile');
}

async function exerciseEvents({ admin, viewer, shape }: Clients & { admin: Client }) {
  // The stream from its first event: read until one message, then hang up.
  const abort = new AbortController();
  const stream = await viewer.GET('/api/events', {
    params: { query: { since: '0', types: 'run.*' } },
    parseAs: 'stream',
    signal: abort.signal,
  });
  expect(stream.response.status).toBe(200);
  expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = (stream.data as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!/\ndata: .*\n\n/.test(text))
    text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  const data = /\ndata: (.*)\n\n/.exec(text)?.[1] as string;
  expect(shape(schemas.HoistEvent, JSON.parse(data)).type).toBe('run.created');
  const refused = await viewer.GET('/api/events', { params: { query: { types: 'nope' } } });
  expect(refused.response.status).toBe(400);
  shape(schemas.ErrorBody, refused.error);

  const hooks = await admin.GET('/api/notifications');
  expect(shape(schemas.Notification.array(), hooks.data)).toEqual([
    {
      name: 'hook',
      url: 'http://127.0.0.1:9/…',
      events: ['run.created'],
      format: 'json',
      allowPrivate: false,
      signed: false,
    },
  ]);
  const forViewer = await viewer.GET('/api/notifications');
  expect(forViewer.response.status).toBe(403);
  const deliveries = await eventually(async () => {
    const answer = await admin.GET('/api/notifications/{name}/deliveries', {
      params: { path: { name: 'hook' }, query: { limit: 5 } },
    });
    return answer.data?.some((d) => d.attempts > 0) ? answer.data : undefined;
  }, 20_000);
  const first = shape(schemas.Delivery.array(), deliveries).find((d) => d.attempts > 0);
  expect(first).toMatchObject({ type: 'run.created', status: 'pending', responseCode: null });
  expect(first?.lastError).toMatch(/ECONNREFUSED/);
  const none = await admin.GET('/api/notifications/{name}/deliveries', {
    params: { path: { name: 'nope' } },
  });
  expect(none.response.status).toBe(404);
}
