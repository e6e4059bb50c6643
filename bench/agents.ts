import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HoistAgent } from '../agent/agent.ts';
import { BENCH_TOKEN, startHoist } from './hoist-process.ts';

/** What the agents benchmark measured. */
export interface AgentsReport {
  agents: number;
  /** Stage start → its job running on an idle agent, over `rounds` runs (ms). */
  p50Ms: number;
  p95Ms: number;
  rounds: number;
  /** 1,000 queued jobs: from the first taken to the last taken. */
  queued: number;
  dispatchSeconds: number;
  perSecond: number;
}

const KEY = 'bench-agent-registration-key';

function writeRepo(dir: string): void {
  mkdirSync(join(dir, 'repodata'), { recursive: true });
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm"><name>app</name><arch>noarch</arch><version epoch="0" ver="1.0" rel="1"/>
<checksum type="sha256" pkgid="YES">${'0'.repeat(64)}</checksum>
<time file="1700000000" build="1700000000"/><size package="1" installed="1" archive="1"/>
<location href="app-1.0-1.noarch.rpm"/><format/></package>
</metadata>`;
  const gz = gzipSync(xml);
  const sum = createHash('sha256').update(gz).digest('hex');
  writeFileSync(join(dir, 'repodata', `${sum}-primary.xml.gz`), gz);
  writeFileSync(
    join(dir, 'repodata', 'repomd.xml'),
    `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">${sum}</checksum><location href="repodata/${sum}-primary.xml.gz"/><size>${gz.length}</size></data></repomd>`,
  );
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

interface RunView {
  status: string;
  stages: { startedAt: string | null; jobs: { startedAt: string | null; status: string }[] }[];
}

/**
 * `agents` agents (the real protocol over HTTP, each with its own data folder, in this process)
 * on one server: the time from a stage's start to its job running on an idle agent, and the
 * rate at which 1,000 queued jobs are handed out once agents come.
 */
export async function agentsBench(agents = 20, rounds = 40, queued = 1000): Promise<AgentsReport> {
  const work = mkdtempSync(join(tmpdir(), 'hoist-bench-agents-'));
  writeRepo(join(work, 'repo'));
  const jobs = Array.from(
    { length: queued },
    (_, i) => `{ name: j${i}, resources: [bench], tasks: [{ run: "true" }] }`,
  );
  writeFileSync(
    join(work, 'hoist.yaml'),
    `repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "file://${join(work, 'repo')}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: one
    materials: [{ package: internal/app }]
    stages: [{ name: s, approval: manual, jobs: [{ name: j, resources: [bench], tasks: [{ run: "true" }] }] }]
  - name: many
    materials: [{ package: internal/app }]
    stages:
      - name: s
        approval: manual
        jobs: [${jobs.join(', ')}]
`,
  );
  Object.assign(process.env, {
    HOIST_AGENT_REGISTRATION_KEY: KEY,
    HOIST_AGENT_AUTO_ENABLE: '1',
    HOIST_AGENT_LONG_POLL: '30',
  });
  const server = await startHoist(work);
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${BENCH_TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const answer = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(answer)}`);
    return answer;
  };
  const settled = async (name: string, counter: number): Promise<RunView> => {
    for (;;) {
      const run = await api<RunView>('GET', `/api/pipelines/${name}/runs/${counter}`);
      if (run.status !== 'building') return run;
      // The figures are the server's own timestamps: polling often would only load it.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  // The first check at start finds the package; then the 1,000 jobs are queued, before any agent exists.
  for (let i = 0; ; i++) {
    const materials = await api<{ latestRevision: unknown }[]>('GET', '/api/materials');
    if (materials[0]?.latestRevision) break;
    if (i > 200) throw new Error('the package was not found');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const many = await api<{ counter: number }>('POST', '/api/pipelines/many/schedule', {});
  const running: { agent: HoistAgent; done: Promise<number> }[] = [];
  for (let i = 0; i < agents; i++) {
    const agent = new HoistAgent({
      server: server.url,
      resources: ['bench'],
      dataDir: join(work, `agent-${i}`),
      registrationKey: KEY,
      version: 'bench',
      heartbeatMs: 5000,
      say: () => {},
    });
    running.push({ agent, done: agent.run() });
  }
  const bulk = await settled('many', many.counter);
  const starts = (bulk.stages[0]?.jobs ?? []).map((j) => Date.parse(j.startedAt ?? ''));
  const dispatchSeconds = (Math.max(...starts) - Math.min(...starts)) / 1000;
  // Now idle agents: one job at a time.
  const waits: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { counter } = await api<{ counter: number }>('POST', '/api/pipelines/one/schedule', {});
    const run = await settled('one', counter);
    const stage = run.stages[0];
    waits.push(Date.parse(stage?.jobs[0]?.startedAt ?? '') - Date.parse(stage?.startedAt ?? ''));
  }
  for (const { agent } of running) agent.drain();
  await Promise.all(running.map((r) => r.done));
  server.stop();
  await server.exited;
  rmSync(work, { recursive: true, force: true });
  return {
    agents,
    rounds,
    p50Ms: percentile(waits, 50),
    p95Ms: percentile(waits, 95),
    queued,
    dispatchSeconds,
    perSecond: Math.round(queued / dispatchSeconds),
  };
}
