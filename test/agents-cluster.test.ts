import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, Run } from '../server/api/schemas/index.ts';
import { type AgentProcess, startAgent } from './helpers/agent-process.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const KEY = 'registration-key-for-the-cluster-agent-test';

/**
 * Two `hoist serve` on one PostgreSQL database, the agent talking to B only: the run is
 * advanced by A, which learns the job's end from the store; the log is read from A; a cancel
 * sent to A reaches the agent through B.
 */
describe('an agent of one instance, runs advanced by another (PostgreSQL)', () => {
  let repo: string;
  let database: { url: string; drop(): Promise<void> };
  const servers: ServerProcess[] = [];
  let agent: AgentProcess;

  beforeAll(async () => {
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    database = await createTestDatabase();
    const file = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "file://${repo}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: deploy
    environment: production
    materials: [{ package: internal/app }]
    stages:
      - name: s
        approval: manual
        jobs: [{ name: j, tasks: [{ run: 'echo "on $HOIST_AGENT_ID"; sleep 1; echo done' }] }]
  - name: long
    materials: [{ package: internal/app }]
    stages:
      - name: s
        approval: manual
        jobs: [{ name: j, resources: [deploy], tasks: [{ run: 'echo started; sleep 60', onCancel: { run: 'echo undone' } }] }]
`);
    const env = {
      HOIST_SECRET_KEY: 'agents-cluster-key',
      HOIST_LEASE_MS: '3000',
      HOIST_AGENT_REGISTRATION_KEY: KEY,
      HOIST_AGENT_AUTO_ENABLE: '1',
      HOIST_AGENT_LONG_POLL: '3',
    };
    for (let i = 0; i < 2; i++)
      servers.push(await startServer({ config: file, database: database.url, env }));
    agent = startAgent({ server: servers[1]?.url as string, key: KEY, resources: ['deploy'] });
    const [a] = servers as [ServerProcess];
    const registered = await eventually(
      async () => (await a.api<Agent[]>('GET', '/api/agents')).body[0],
      20_000,
    );
    await a.api('PATCH', `/api/agents/${registered.id}`, { environments: ['production'] });
  }, 90_000);

  afterAll(async () => {
    if (agent.child.exitCode === null) await agent.kill9();
    for (const s of servers) await s.stop().catch(() => {});
    await database?.drop();
    rmSync(repo, { recursive: true, force: true });
  });

  const settled = (server: ServerProcess, name: string, counter: number) =>
    eventually(
      async () => {
        const run = (await server.api<Run>('GET', `/api/pipelines/${name}/runs/${counter}`)).body;
        return run.status !== 'building' && run.status !== 'waiting' ? run : undefined;
      },
      30_000,
      100,
    );

  it('records on A the end of a job the agent reported to B, and serves its log from A', async () => {
    const [a] = servers as [ServerProcess, ServerProcess];
    await eventually(async () =>
      (await a.api('POST', '/api/pipelines/deploy/schedule', {})).status === 202 ? true : undefined,
    );
    const run = await settled(a, 'deploy', 1);
    expect(run.status).toBe('passed');
    const log = String(
      (await a.api('GET', '/api/pipelines/deploy/runs/1/stages/s/jobs/j/log')).body,
    );
    expect(log).toContain('done');
    expect(log).toMatch(/on [0-9a-f-]{36}/);
    const instances = (await a.api<{ id: string; runs: string[] }[]>('GET', '/api/instances')).body;
    expect(instances).toHaveLength(2);
  }, 60_000);

  it('passes a cancel sent to A on to the agent through B', async () => {
    const [a] = servers as [ServerProcess, ServerProcess];
    const scheduled = await a.api<{ counter: number }>('POST', '/api/pipelines/long/schedule', {});
    const counter = scheduled.body.counter;
    await eventually(
      async () => {
        const log = String(
          (await a.api('GET', `/api/pipelines/long/runs/${counter}/stages/s/jobs/j/log`)).body,
        );
        return log.includes('started') ? true : undefined;
      },
      20_000,
      100,
    );
    await a.api('POST', `/api/pipelines/long/runs/${counter}/cancel`);
    const run = await settled(a, 'long', counter);
    expect(run.status).toBe('cancelled');
    const log = String(
      (await a.api('GET', `/api/pipelines/long/runs/${counter}/stages/s/jobs/j/log`)).body,
    );
    expect(log).toContain('undone');
  }, 60_000);
});
