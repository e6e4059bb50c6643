import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BENCH_TOKEN, type HoistProcess, startHoist } from './hoist-process.ts';
import { pipelineLatency, type SchedulingReport } from './pipeline-latency.ts';
import { sweepConfig } from './server-load.ts';

/** What one cluster size measured. */
export interface ScaleReport {
  instances: number;
  /** Milliseconds the repository server waits before each answer. */
  latencyMs: number;
  materials: number;
  seconds: number;
  checksPerSecond: number;
  /** Checks made by each instance in the window. */
  perInstance: number[];
  /** CPU of all instances together, in % of one core. */
  cpuPercent: number;
  /** How busy the whole machine was (instances, PostgreSQL, repository server), in %. */
  machineBusyPercent: number;
  /** Measured once per cluster size (it does not involve the repository server). */
  scheduling: SchedulingReport | undefined;
}

/** Busy and total CPU time of the machine so far (`/proc/stat`, all cores). */
function machineTimes(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** A fresh database on the server of `adminUrl` (its role needs CREATEDB); dropped by `drop`. */
async function freshDatabase(adminUrl: string, name: string) {
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Several instances on one PostgreSQL database: how many checks per second they make together
 * when `materials` materials are all due every second (more than they can do: the figure is
 * their capacity), and the check-now → run latency with the check-now sent to each in turn.
 */
export async function scaleOut(
  adminUrl: string,
  cache: string,
  baseUrl: string,
  sizes: number[],
  options: { repositories: number; perRepository: number; seconds: number; latencies: number[] },
): Promise<ScaleReport[]> {
  const reports: ScaleReport[] = [];
  for (const latencyMs of options.latencies) {
    const url = latencyMs > 0 ? `${baseUrl}/delay-${latencyMs}` : baseUrl;
    for (const size of sizes) {
      const first = latencyMs === options.latencies[0];
      const report = await measure(adminUrl, cache, url, size, { ...options, scheduling: first });
      reports.push({ ...report, latencyMs });
    }
  }
  return reports;
}

async function measure(
  adminUrl: string,
  cache: string,
  baseUrl: string,
  size: number,
  options: { repositories: number; perRepository: number; seconds: number; scheduling: boolean },
): Promise<Omit<ScaleReport, 'latencyMs'>> {
  const yaml = sweepConfig(cache, baseUrl, options.repositories, options.perRepository, '1s');
  {
    const db = await freshDatabase(adminUrl, `hoist_bench_${size}`);
    const work = mkdtempSync(join(tmpdir(), 'hoist-scale-'));
    writeFileSync(join(work, 'hoist.yaml'), yaml);
    const servers: HoistProcess[] = [];
    try {
      for (let i = 0; i < size; i++)
        servers.push(await startHoist(work, { data: `data-${i}`, database: db.url }));
      const metrics = async () =>
        Promise.all(
          servers.map(async (s) => {
            const text = await (
              await fetch(`${s.url}/metrics`, {
                headers: { authorization: `Bearer ${BENCH_TOKEN}` },
              })
            ).text();
            let checks = 0;
            for (const m of text.matchAll(/^hoist_material_checks_total\{[^}]*\} (\d+)$/gm))
              checks += Number(m[1]);
            const cpu = Number(/^hoist_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? 0);
            return { checks, cpu };
          }),
        );
      // Warm up: every material checked once (the first check reads the whole primary).
      const materials = options.repositories * options.perRepository;
      const deadline = Date.now() + 120_000;
      while (
        (await metrics()).reduce((sum, m) => sum + m.checks, 0) < 2 * materials &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 250));
      const before = await metrics();
      const machineBefore = machineTimes();
      await new Promise((r) => setTimeout(r, options.seconds * 1000));
      const machineAfter = machineTimes();
      const after = await metrics();
      const perInstance = after.map((m, i) => m.checks - (before[i]?.checks ?? 0));
      const cpu = after.reduce((sum, m, i) => sum + m.cpu - (before[i]?.cpu ?? 0), 0);
      for (const s of servers) s.stop();
      servers.length = 0;
      await new Promise((r) => setTimeout(r, 500));
      let scheduling: SchedulingReport | undefined;
      if (options.scheduling) {
        const fresh = await freshDatabase(adminUrl, `hoist_bench_${size}_sched`);
        scheduling = await pipelineLatency(100, 7, { database: fresh.url, instances: size });
        await fresh.drop();
      }
      return {
        instances: size,
        materials,
        seconds: options.seconds,
        checksPerSecond: Math.round(perInstance.reduce((a, b) => a + b, 0) / options.seconds),
        perInstance,
        cpuPercent: Math.round((cpu / options.seconds) * 1000) / 10,
        machineBusyPercent: Math.round(
          (100 * (machineAfter.busy - machineBefore.busy)) /
            Math.max(1, machineAfter.total - machineBefore.total),
        ),
        scheduling,
      };
    } finally {
      for (const s of servers) s.stop();
      await new Promise((r) => setTimeout(r, 500));
      rmSync(work, { recursive: true, force: true });
      await db.drop().catch(() => {});
    }
  }
}
