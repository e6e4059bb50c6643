import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, Run } from '../server/api/schemas/index.ts';
import { type AgentProcess, createNetns, type Netns, startAgent } from './helpers/agent-process.ts';
import { launchChromium, signIn, subscribe, unexpectedErrors } from './helpers/browser.ts';
import { runHoist } from './helpers/cli.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const KEY = 'registration-key-for-the-agent-tests';
const SERVER_ENV = {
  HOIST_AGENT_REGISTRATION_KEY: KEY,
  HOIST_AGENT_TIMEOUT: '3',
  HOIST_AGENT_LONG_POLL: '3',
};

/** A pipeline whose manual first stage runs only when scheduled, with one job. */
function pipeline(
  name: string,
  job: { resources?: string[]; run: string; onCancel?: string; fetch?: string },
  environment?: string,
): string {
  const needs = job.resources ? `, resources: [${job.resources.join(', ')}]` : '';
  const onCancel = job.onCancel ? `, onCancel: { run: ${JSON.stringify(job.onCancel)} }` : '';
  const fetch = job.fetch ? `{ fetch: ${job.fetch}, to: pkg/ }, ` : '';
  return `  - name: ${name}
${environment ? `    environment: ${environment}\n` : ''}    materials: [{ package: internal/app }]
    stages:
      - name: s
        approval: manual
        jobs: [{ name: j${needs}, tasks: [${fetch}{ run: ${JSON.stringify(job.run)}${onCancel} }] }]
`;
}

describe('agents (server and hoist agent processes)', () => {
  let repo: string;
  let marks: string;
  let config: string;
  let server: ServerProcess;
  let netns: Netns | undefined;
  const agents: AgentProcess[] = [];
  /** Agent ids by role. */
  const ids: Record<string, string> = {};

  const cli = (...args: string[]) =>
    runHoist(args, { HOIST_SERVER: server.url, HOIST_TOKEN: ADMIN_TOKEN });
  const schedule = async (name: string) => {
    const answer = await server.api<{ counter: number }>(
      'POST',
      `/api/pipelines/${name}/schedule`,
      {},
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body.counter;
  };
  const run = async (name: string, counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/${name}/runs/${counter}`)).body;
  const job = async (name: string, counter: number) =>
    (await run(name, counter)).stages[0]?.jobs[0];
  const settled = (name: string, counter: number, ms = 20_000) =>
    eventually(
      async () => {
        const r = await run(name, counter).catch(() => undefined);
        return r && r.status !== 'building' && r.status !== 'waiting' ? r : undefined;
      },
      ms,
      100,
    );
  const building = (name: string, counter: number, text = '') =>
    eventually(
      async () => {
        const j = await job(name, counter);
        if (j?.status !== 'building') return undefined;
        return (await log(name, counter)).includes(text) ? j : undefined;
      },
      20_000,
      100,
    );
  const log = async (name: string, counter: number) =>
    String(
      (await server.api('GET', `/api/pipelines/${name}/runs/${counter}/stages/s/jobs/j/log`))
        .body ?? '',
    );
  const ranOn = async (name: string, counter: number) =>
    /^ran-on:(\S+)$/m.exec(await log(name, counter))?.[1];
  const listAgents = async () => (await server.api<Agent[]>('GET', '/api/agents')).body;
  /** Starts an agent, waits for it to register, enables it (and sets its environments). */
  const addAgent = async (
    role: string,
    resources: string[],
    environments: string[] = [],
    ns?: string,
  ) => {
    const before = new Set((await listAgents()).map((a) => a.id));
    const agent = startAgent({
      server:
        ns && netns ? server.url.replace(/\/\/[^:]+:/, `//${netns.hostAddress}:`) : server.url,
      key: KEY,
      resources,
      ...(ns ? { netns: ns } : {}),
    });
    agents.push(agent);
    const registered = await eventually(
      async () => (await listAgents()).find((a) => !before.has(a.id)),
      20_000,
      100,
    ).catch((error) => {
      throw new Error(`${error.message}\n${agent.output()}`);
    });
    expect(registered.state).toBe('pending');
    ids[role] = registered.id;
    const enabled = await cli('agents', 'enable', registered.id);
    expect(enabled.stderr).toBe('');
    if (environments.length > 0)
      expect((await cli('agents', 'env', registered.id, environments.join(','))).code).toBe(0);
    return agent;
  };

  beforeAll(async () => {
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    marks = mkdtempSync(join(tmpdir(), 'hoist-agent-marks-'));
    const made = createNetns(String(process.pid));
    // CI makes them (HOIST_TEST_REQUIRE_NETNS=1): there, one that cannot be made is a failure.
    if ('error' in made && process.env.HOIST_TEST_REQUIRE_NETNS === '1')
      throw new Error(`cannot make a network namespace: ${made.error}`);
    if ('error' in made) {
      console.warn(
        `\n\n!!! NETWORK NAMESPACES CANNOT BE MADE HERE (${made.error}): the agent that should run in its own namespace runs on this host's network instead.\n\n`,
      );
    } else netns = made;
    const echo = (tag: string) =>
      `echo "ran-on:$HOIST_AGENT_ID"; echo "$HOIST_AGENT_ID" >> ${marks}/${tag}`;
    config = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "file://${repo}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
${pipeline('rpmjob', { resources: ['rpm', 'linux'], run: echo('rpmjob') })}
${pipeline('debjob', { resources: ['deb'], run: echo('debjob') })}
${pipeline('prod', { run: echo('prod') }, 'production')}
${pipeline('fetched', { fetch: 'internal/app', run: 'echo "ran-on:$HOIST_AGENT_ID"; cat pkg/app-1.0-1.noarch.rpm' }, 'production')}
${pipeline('staging', { resources: ['rpm'], run: echo('staging') }, 'staging')}
${pipeline('anyrpm', { resources: ['rpm'], run: echo('anyrpm') })}
${pipeline('nomatch', { resources: ['gpu'], run: 'true' })}
${pipeline('long', { resources: ['long'], run: 'echo started; sleep 60', onCancel: 'echo cleaned-up' })}
${pipeline('doomed', { resources: ['doomed'], run: `echo x >> ${marks}/doomed; echo started; sleep 60` })}
${pipeline('drain', { resources: ['drain'], run: 'echo started; sleep 2; echo finished-after-drain' })}
${pipeline('restart', { resources: ['restart'], run: 'echo started; sleep 5; echo real-result' })}
`);
    server = await startServer({
      config,
      env: SERVER_ENV,
      args: netns ? ['--host', '0.0.0.0'] : [],
    });
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) if (agent.child.exitCode === null) await agent.kill9();
    await server?.stop();
    netns?.remove();
    rmSync(repo, { recursive: true, force: true });
    rmSync(marks, { recursive: true, force: true });
  });

  it('registers agents as pending until an admin enables them; lists them with what the dashboard shows', async () => {
    const a = await addAgent('a', ['rpm', 'linux'], ['staging']);
    await addAgent('b', ['deb', 'linux'], ['production'], netns?.name);
    await addAgent('c', ['rpm']);
    expect(statSync(join(a.dataDir, 'agent-token')).mode & 0o777).toBe(0o600);
    const list = await eventually(async () => {
      const now = await listAgents();
      return now.every((x) => x.lastHeartbeat && x.state === 'enabled') ? now : undefined;
    });
    const b = list.find((x) => x.id === ids.b) as Agent;
    expect(b).toMatchObject({
      state: 'enabled',
      status: 'idle',
      resources: ['deb', 'linux'],
      environments: ['production'],
      currentJob: null,
    });
    expect(b.version).toMatch(/^\d+\.\d+\.\d+/);
    const table = await cli('agents');
    expect(table.stdout).toContain(ids.b);
    expect(table.stdout).toContain('production');
    // The key is for admins, and never in the server's log.
    expect(
      (await server.api<{ key: string }>('GET', '/api/agents/registration-key')).body.key,
    ).toBe(KEY);
    expect(server.output()).not.toContain(KEY);
  }, 60_000);

  it('shows the agents on the dashboard, where an admin disables and enables one; each change is an event', async () => {
    const events = await subscribe(server.url, ADMIN_TOKEN);
    const browser = await launchChromium();
    try {
      const watched = await signIn(browser, `${server.url}/#/agents`, ADMIN_TOKEN);
      const { page } = watched;
      const row = (id: string) => page.locator('tr', { has: page.locator(`span[title="${id}"]`) });
      await row(ids.b as string).waitFor();
      expect(await row(ids.b as string).textContent()).toMatch(
        /enabled\s*idle\s*deb, linux\s*production/,
      );
      expect(await row(ids.c as string).textContent()).toMatch(/enabled\s*idle\s*rpm\s*none/);
      await row(ids.c as string)
        .getByRole('button', { name: /^Disable agent/ })
        .click();
      await events.next(
        (e) =>
          e.type === 'agent.changed' && e.agent === ids.c && /disabled/.test(String(e.message)),
      );
      await row(ids.c as string)
        .getByRole('button', { name: /^Enable agent/ })
        .waitFor();
      await row(ids.c as string)
        .getByRole('button', { name: /^Enable agent/ })
        .click();
      await row(ids.c as string)
        .getByRole('button', { name: /^Disable agent/ })
        .waitFor();
      expect((await listAgents()).find((a) => a.id === ids.c)?.state).toBe('enabled');
      expect(unexpectedErrors([watched], true)).toEqual([]);
    } finally {
      await browser.close();
      await events.close();
    }
  }, 60_000);

  it('runs jobs only on agents with their resources and environment; production never on the staging agent', async () => {
    const events = await subscribe(server.url, ADMIN_TOKEN);
    const scheduled: [string, number][] = [];
    for (const name of ['rpmjob', 'debjob', 'prod', 'staging', 'anyrpm'])
      for (let i = 0; i < 3; i++) scheduled.push([name, await schedule(name)]);
    for (const [name, counter] of scheduled) {
      const r = await settled(name, counter);
      expect(
        r.status,
        `${name}/${counter}: ${r.stages[0]?.jobs[0]?.error} ${await log(name, counter)}`,
      ).toBe('passed');
    }
    const where = async (name: string) =>
      new Set(
        await Promise.all(scheduled.filter(([n]) => n === name).map(([n, c]) => ranOn(n, c))),
      );
    expect(await where('rpmjob')).toEqual(new Set([ids.a]));
    expect(await where('debjob')).toEqual(new Set([ids.b]));
    expect(await where('prod')).toEqual(new Set([ids.b]));
    expect(await where('staging')).toEqual(new Set([ids.a]));
    for (const id of await where('anyrpm')) expect([ids.a, ids.c]).toContain(id);
    // Each job ran once.
    expect(readFileSync(join(marks, 'prod'), 'utf8').trim().split('\n')).toHaveLength(3);
    // A job an agent takes is an event (job.started, naming the agent), and so is its end.
    const [name, counter] = scheduled[0] as [string, number];
    const started = await events.next(
      (e) => e.type === 'job.started' && e.pipeline === name && e.counter === counter,
    );
    expect(started.event).toMatchObject({ stage: 's', job: 'j', agent: ids.a });
    await events.next(
      (e) => e.type === 'job.finished' && e.pipeline === name && e.counter === counter,
    );
    await events.close();
  }, 90_000);

  it("fetches the run's package on the agent and verifies it there; other bytes under its name fail the job", async () => {
    // The package's bytes: the handmade repository records sha256("app-1.0") as its checksum.
    const rpm = join(repo, 'Packages', 'app-1.0-1.noarch.rpm');
    mkdirSync(dirname(rpm), { recursive: true });
    writeFileSync(rpm, 'app-1.0');
    const good = await settled('fetched', await schedule('fetched'));
    const goodLog = await log('fetched', good.counter);
    expect(good.status, goodLog).toBe('passed');
    expect(await ranOn('fetched', good.counter)).toBe(ids.b);
    expect(goodLog).toMatch(
      /fetch internal\/app: 7 bytes, sha256 \S+ OK: pkg\/app-1\.0-1\.noarch\.rpm/,
    );
    expect(goodLog).toContain('\napp-1.0');
    writeFileSync(rpm, 'app-1.0 but not the one tested');
    const bad = await settled('fetched', await schedule('fetched'));
    const badLog = await log('fetched', bad.counter);
    expect(bad.status).toBe('failed');
    expect(badLog).toContain('is not the package the run recorded');
    expect(badLog).not.toMatch(/^ran-on:/m);
  }, 60_000);

  it('says of a job no agent can ever run that it waits for one, instead of queueing it silently', async () => {
    const counter = await schedule('nomatch');
    const waiting = await eventually(async () => (await job('nomatch', counter))?.waitingFor);
    expect(waiting).toBe('no enabled agent can run this job: it needs resources gpu');
    // The CLI says so too, not just "building".
    expect((await cli('runs', 'nomatch')).stdout).toMatch(
      new RegExp(`^${counter}\\s+waiting for an agent\\s`, 'm'),
    );
    await server.api('POST', `/api/pipelines/nomatch/runs/${counter}/cancel`);
    expect((await settled('nomatch', counter)).status).toBe('cancelled');
  }, 30_000);

  it('cancels a job on an agent within seconds, running its onCancel there', async () => {
    await addAgent('long', ['long']);
    const counter = await schedule('long');
    await building('long', counter, 'started');
    const asked = Date.now();
    await server.api('POST', `/api/pipelines/long/runs/${counter}/cancel`);
    const r = await settled('long', counter);
    expect(r.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(8000);
    expect(await log('long', counter)).toContain('cleaned-up');
  }, 60_000);

  it('fails the job of an agent killed mid-job with the reason, and runs nothing twice', async () => {
    const doomed = await addAgent('doomed', ['doomed']);
    const counter = await schedule('doomed');
    await building('doomed', counter, 'started');
    await doomed.kill9();
    const r = await settled('doomed', counter, 30_000);
    expect(r.status).toBe('failed');
    expect(r.stages[0]?.jobs[0]?.error).toMatch(
      new RegExp(
        `^agent \\S+ \\(${ids.doomed}\\) sent no heartbeat for 3 s while running this job; it is not run again`,
      ),
    );
    expect((await listAgents()).find((a) => a.id === ids.doomed)?.status).toBe('lost');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(readFileSync(join(marks, 'doomed'), 'utf8').trim().split('\n')).toHaveLength(1);
    // Its task outlived it (kill -9): stopped here, as a restarted agent would.
    for (const folder of readdirSync(join(doomed.dataDir, 'jobs'))) {
      const { pgid } = JSON.parse(
        readFileSync(join(doomed.dataDir, 'jobs', folder, 'process.json'), 'utf8'),
      );
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // Ended already.
      }
    }
  }, 60_000);

  it('drains on SIGTERM: the running job finishes and is reported, then the agent exits', async () => {
    const agent = await addAgent('drain', ['drain']);
    const counter = await schedule('drain');
    await building('drain', counter, 'started');
    expect(await agent.stop()).toBe(0);
    const r = await settled('drain', counter);
    expect(r.status).toBe('passed');
    expect(await log('drain', counter)).toContain('finished-after-drain');
    expect(agent.output()).toContain('drained; exiting');
  }, 60_000);

  it('records the real result of a job that ran on while its server restarted', async () => {
    await addAgent('restart', ['restart']);
    const counter = await schedule('restart');
    await building('restart', counter, 'started');
    const port = new URL(server.url).port;
    await server.stop();
    server = await startServer({
      config,
      dataDir: server.dataDir,
      env: SERVER_ENV,
      args: [...(netns ? ['--host', '0.0.0.0'] : []), '--port', port],
    });
    const r = await settled('restart', counter, 45_000);
    expect(r.status, await log('restart', counter)).toBe('passed');
    expect(await log('restart', counter)).toContain('real-result');
  }, 60_000);

  it('refuses a revoked agent token (the agent exits saying so), and keeps agent and user tokens apart', async () => {
    const agent = await addAgent('revoked', ['revoked']);
    const token = readFileSync(join(agent.dataDir, 'agent-token'), 'utf8').trim();
    const post = (path: string, bearer: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await post('/api/agent/heartbeat', ADMIN_TOKEN)).status).toBe(401);
    expect(
      (await fetch(`${server.url}/api/agents`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(401);
    expect((await cli('agents', 'remove', ids.revoked as string)).code).toBe(0);
    expect(await agent.exited).toBe(1);
    expect(agent.output()).toContain("hoist agent: the server refused this agent's token");
    expect((await post('/api/agent/heartbeat', token)).status).toBe(401);
  }, 60_000);
});
