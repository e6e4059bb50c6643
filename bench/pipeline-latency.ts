import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BENCH_TOKEN, type HoistProcess, startHoist } from './hoist-process.ts';
import { median } from './measure.ts';

/** Writes a one-package repository holding `app-<version>` (rewriting repodata). */
function writeRepo(dir: string, version: number): void {
  mkdirSync(join(dir, 'repodata'), { recursive: true });
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm"><name>app</name><arch>noarch</arch><version epoch="0" ver="${version}.0" rel="1"/>
<checksum type="sha256" pkgid="YES">${createHash('sha256').update(String(version)).digest('hex')}</checksum>
<time file="1700000000" build="1700000000"/><size package="1" installed="1" archive="1"/>
<location href="app-${version}.0-1.noarch.rpm"/><format/></package>
</metadata>`;
  const gz = gzipSync(xml);
  const sum = createHash('sha256').update(gz).digest('hex');
  writeFileSync(join(dir, 'repodata', `${sum}-primary.xml.gz`), gz);
  writeFileSync(
    join(dir, 'repodata', 'repomd.xml'),
    `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>${version}</revision><data type="primary"><checksum type="sha256">${sum}</checksum><location href="repodata/${sum}-primary.xml.gz"/><size>${gz.length}</size></data></repomd>`,
  );
}

/** What the scheduling run measured. */
export interface SchedulingReport {
  checkNowToRunMs: number;
  hundredPipelinesMs: number;
  pipelines: number;
}

/**
 * Time from a check-now call to the scheduled run (median of several publications), and to
 * schedule `pipelines` pipelines that share one material. With `database`, `instances` servers
 * share one PostgreSQL database, and each round's check-now goes to the next of them.
 */
export async function pipelineLatency(
  pipelines = 100,
  rounds = 7,
  cluster: { database?: string; instances?: number } = {},
): Promise<SchedulingReport> {
  const work = mkdtempSync(join(tmpdir(), 'hoist-sched-'));
  const repo = join(work, 'repo');
  writeRepo(repo, 1);
  const yaml = [
    'repositories:',
    '  - name: internal',
    '    plugin: yum',
    `    config: { REPO_URL: "file://${repo}" }`,
    '    packages:',
    '      - { name: app, config: { PACKAGE_SPEC: app }, pollInterval: never }',
    'pipelines:',
    ...Array.from({ length: pipelines }, (_, i) =>
      [
        `  - name: p${i}`,
        '    materials: [{ package: internal/app }]',
        '    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]',
      ].join('\n'),
    ),
  ].join('\n');
  writeFileSync(join(work, 'hoist.yaml'), yaml);
  const servers: HoistProcess[] = [];
  try {
    for (let i = 0; i < (cluster.instances ?? 1); i++) {
      servers.push(
        await startHoist(work, {
          data: `data-${i}`,
          ...(cluster.database ? { database: cluster.database } : {}),
        }),
      );
    }
    let target = 0;
    const api = async (method: string, path: string, body?: unknown, to?: number) => {
      const url = (servers[to ?? 0] as HoistProcess).url;
      const response = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${BENCH_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return response.json() as Promise<unknown>;
    };
    const runCount = async (pipeline: string) =>
      ((await api('GET', `/api/pipelines/${pipeline}/runs?limit=500`)) as unknown[]).length;
    const latencies: number[] = [];
    let hundred = 0;
    for (let round = 0; round < rounds; round++) {
      const before = await runCount('p0');
      writeRepo(repo, round + 2);
      const started = performance.now();
      await api('POST', '/api/materials/check', { repository: 'internal' }, target);
      target = (target + 1) % servers.length;
      while ((await runCount('p0')) === before) await new Promise((r) => setTimeout(r, 2));
      latencies.push(performance.now() - started);
      // Every pipeline has its run for this revision.
      const last = `p${pipelines - 1}`;
      while ((await runCount(last)) <= round) await new Promise((r) => setTimeout(r, 5));
      hundred = Math.max(hundred, performance.now() - started);
      // Let this round's 100 runs finish: the next measurement must not compete with their jobs.
      const latest = async () =>
        ((await api('GET', `/api/pipelines/${last}/runs?limit=1`)) as { status: string }[])[0]
          ?.status;
      while ((await latest()) === 'building') await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
    }
    return {
      checkNowToRunMs: Math.round(median(latencies)),
      hundredPipelinesMs: Math.round(hundred),
      pipelines,
    };
  } finally {
    for (const server of servers) server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
