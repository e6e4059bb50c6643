import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_TOKEN, startHoist } from './hoist-process.ts';
import { writeSyntheticRepo } from './synthetic-repo.ts';

/** What the server load run measured. */
export interface LoadReport {
  materials: number;
  repositories: number;
  seconds: number;
  checks: number;
  failures: number;
  cpuPercent: number;
  rssMib: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** From the server's listening to every material checked once (undefined: not within 5 min). */
  startupSeconds: number | undefined;
  /** Checks of the start-up round that failed (timeouts among them). */
  startupFailures: number;
  /** How late scheduled checks started, p95 (upper bound of its bucket). */
  latenessP95Ms: number;
  /** Largest RSS sampled during the window. */
  maxRssMib: number;
  /** CPU per check in the window. */
  cpuMsPerCheck: number;
}

/**
 * Runs `hoist serve` over `repositories` synthetic repositories with `perRepository` packages
 * each, every one polled once a minute, for `seconds`; reads the server's own metrics.
 */
export async function serverLoad(
  cache: string,
  baseUrl: string,
  repositories: number,
  perRepository: number,
  seconds: number,
): Promise<LoadReport> {
  const yaml = sweepConfig(cache, baseUrl, repositories, perRepository, '60s');
  const work = mkdtempSync(join(tmpdir(), 'hoist-load-'));
  writeFileSync(join(work, 'hoist.yaml'), yaml);
  const server = await startHoist(work);
  try {
    const { url } = server;
    const metrics = async () => {
      const response = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      });
      return parseMetrics(await response.text());
    };
    // Measure steady polling: start once the start-up round has checked every material. The
    // metrics are read every 2 s meanwhile (each read costs the server a scan of the materials).
    const materials = repositories * perRepository;
    const listening = Date.now();
    const deadline = listening + 300_000;
    let before = await metrics();
    while (before.checks < materials && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2000));
      before = await metrics();
    }
    const startupSeconds = before.checks >= materials ? (Date.now() - listening) / 1000 : undefined;
    let maxRss = before.rss;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(15_000, end - Date.now())));
      if (Date.now() < end) maxRss = Math.max(maxRss, (await metrics()).rss);
    }
    const after = await metrics();
    maxRss = Math.max(maxRss, after.rss);
    const cpu = (after.cpu - before.cpu) / seconds;
    const buckets = diffBuckets(before.buckets, after.buckets);
    const late = diffBuckets(before.lateness, after.lateness);
    const checks = after.checks - before.checks;
    return {
      materials: repositories * perRepository,
      repositories,
      seconds,
      checks,
      failures: after.errors - before.errors,
      cpuPercent: Math.round(cpu * 1000) / 10,
      rssMib: Math.round(after.rss / 1048576),
      latencyP50Ms: quantile(buckets, 0.5) * 1000,
      latencyP95Ms: quantile(buckets, 0.95) * 1000,
      startupSeconds,
      startupFailures: before.errors,
      latenessP95Ms: quantile(late, 0.95) * 1000,
      maxRssMib: Math.round(maxRss / 1048576),
      cpuMsPerCheck: checks > 0 ? Math.round(((after.cpu - before.cpu) * 1e5) / checks) / 100 : 0,
    };
  } finally {
    server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

interface Metrics {
  cpu: number;
  rss: number;
  checks: number;
  errors: number;
  buckets: Map<number, number>;
  lateness: Map<number, number>;
}

function parseMetrics(text: string): Metrics {
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  // Buckets are per outcome: summed by bound.
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(
    /^hoist_material_check_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)$/gm,
  )) {
    const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  const lateness = new Map<number, number>();
  for (const match of text.matchAll(
    /^hoist_material_check_lateness_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)$/gm,
  )) {
    const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    lateness.set(le, (lateness.get(le) ?? 0) + Number(match[2]));
  }
  let checks = 0;
  let errors = 0;
  for (const match of text.matchAll(/^hoist_material_checks_total\{([^}]*)\} (\d+)$/gm)) {
    checks += Number(match[2]);
    if (match[1]?.includes('outcome="error"')) errors += Number(match[2]);
  }
  return {
    cpu: value(/^hoist_process_cpu_seconds_total (\S+)$/m),
    rss: value(/^hoist_process_resident_memory_bytes (\S+)$/m),
    checks,
    errors,
    buckets,
    lateness,
  };
}

function diffBuckets(a: Map<number, number>, b: Map<number, number>): [number, number][] {
  return [...b]
    .map(([le, count]) => [le, count - (a.get(le) ?? 0)] as [number, number])
    .sort((x, y) => x[0] - y[0]);
}

/** Upper bound of the histogram bucket that holds quantile q. */
function quantile(buckets: [number, number][], q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  for (const [le, count] of buckets) if (count >= q * total) return le;
  return Number.NaN;
}

/**
 * hoist.yaml for the sweep repositories (generated into `<cache>/sweep` when missing):
 * `perRepository` package materials in each of `repositories`, polled every `pollInterval`.
 */
export function sweepConfig(
  cache: string,
  baseUrl: string,
  repositories: number,
  perRepository: number,
  pollInterval: string,
): string {
  const lines = ['repositories:'];
  for (let i = 0; i < repositories; i++) {
    const dir = join(cache, 'sweep', String(i));
    if (!existsSync(join(dir, 'repodata', 'repomd.xml')))
      writeSyntheticRepo(dir, 100, 'gz', 1000 + i);
    lines.push(
      `  - name: r${i}`,
      '    plugin: yum',
      `    config: { REPO_URL: "${baseUrl}/sweep/${i}" }`,
      '    packages:',
    );
    for (let j = 0, taken = 0; taken < perRepository; j++) {
      if (j === 7) continue;
      taken++;
      lines.push(
        `      - { name: p${j}, config: { PACKAGE_SPEC: "pkg${j.toString(36)}-*" }, pollInterval: ${pollInterval} }`,
      );
    }
  }
  return lines.join('\n');
}
