import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checksDone, hammer, waitForChecks } from './api-load.ts';
import { startSeededServer } from './api-seed.ts';
import { BENCH_TOKEN } from './hoist-process.ts';
import { startServerProcess } from './serve-root.ts';

/**
 * `npm run bench:soak`: a seeded `hoist serve` under a steady mixed read load for 10 minutes
 * while its materials go on being checked (and a check-now every minute); the server's RSS every
 * 30 s, and whether it stayed flat (the mean of the last third of the samples after the first
 * minute within 10 % of the mean of the first third).
 */
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    every: { type: 'string', default: '30' },
    clients: { type: 'string', default: '20' },
    pause: { type: 'string', default: '100' },
    materials: { type: 'string', default: '1000' },
    repositories: { type: 'string', default: '100' },
    pipelines: { type: 'string', default: '200' },
    cache: { type: 'string', default: join(tmpdir(), 'hoist-bench') },
  },
});
const seconds = Number(args.minutes) * 60;
const every = Number(args.every);
const repositories = Number(args.repositories);
const pipelines = Number(args.pipelines);
const auth = { authorization: `Bearer ${BENCH_TOKEN}` };

/** Resident memory of a process in MiB (Linux), else undefined. */
function rssMib(pid: number): number | undefined {
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const repos = await startServerProcess(args.cache as string);
const server = await startSeededServer(args.cache as string, repos.url, {
  repositories,
  perRepository: Math.ceil(Number(args.materials) / repositories),
  pipelines,
  revisions: 3,
  runs: 3,
  pollInterval: '60s',
});
try {
  await waitForChecks(server.url, server.materials);
  const list = (await (
    await fetch(`${server.url}/api/materials?checks=0`, { headers: auth })
  ).json()) as { fingerprint: string }[];
  const paths = [
    '/api/pipelines',
    '/api/materials?checks=5',
    '/api/health',
    ...Array.from({ length: 10 }, (_, i) => `/api/pipelines/pipe${i * 17}/runs?limit=5`),
    ...list.slice(0, 10).map((m) => `/api/materials/${m.fingerprint}/revisions?limit=10`),
  ];
  const samples: { at: number; rss: number | undefined; checks: number; load: number }[] = [];
  const started = Date.now();
  const sample = async () =>
    samples.push({
      at: Math.round((Date.now() - started) / 1000),
      rss: rssMib(server.pid),
      checks: await checksDone(server.url),
      load: loadavg()[0] ?? 0,
    });
  await sample();
  const sampler = setInterval(() => void sample(), every * 1000);
  let round = 0;
  const checkNow = setInterval(() => {
    void fetch(`${server.url}/api/materials/check`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ repository: `r${round++ % repositories}` }),
    });
  }, 60_000);
  const load = await hammer(server.url, paths, {
    clients: Number(args.clients),
    seconds,
    pauseMs: Number(args.pause),
  });
  clearInterval(sampler);
  clearInterval(checkNow);
  await sample();

  console.log(
    `# Soak: ${server.materials} materials polled every 60 s, ${pipelines} pipelines, ${args.clients} clients (${args.pause} ms between requests) over ${paths.length} read routes, ${args.minutes} min`,
  );
  console.log();
  console.log('| time | server RSS | checks recorded | load average |');
  console.log('|---|---|---|---|');
  for (const s of samples)
    console.log(
      `| ${s.at} s | ${s.rss === undefined ? 'n/a' : `${s.rss.toFixed(0)} MiB`} | ${s.checks} | ${s.load.toFixed(1)} |`,
    );
  // The heap saws up and down between collections: compare the mean level of the first and
  // the last third of the samples after the first minute, and show the band.
  const settled = samples
    .filter((x) => x.at >= 60 && x.rss !== undefined)
    .map((x) => x.rss as number);
  const third = Math.max(1, Math.floor(settled.length / 3));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const early = mean(settled.slice(0, third));
  const late = mean(settled.slice(-third));
  const drift = late / early - 1;
  console.log();
  console.log(
    `- requests: ${load.requests} (${load.perSecond}/s), errors ${load.errors} (timeouts ${load.timeouts}), p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms, max ${load.maxMs} ms`,
  );
  console.log(
    settled.length === 0
      ? '- RSS: not measured (no /proc here)'
      : `- RSS after the first minute between ${Math.min(...settled).toFixed(0)} and ${Math.max(...settled).toFixed(0)} MiB; mean of the last third ${late.toFixed(0)} MiB against ${early.toFixed(0)} MiB for the first: ${drift >= 0 ? '+' : ''}${(drift * 100).toFixed(1)} %, ${Math.abs(drift) <= 0.1 ? 'flat within 10 %' : 'NOT flat within 10 %'}`,
  );
} finally {
  server.stop();
  await server.exited;
  rmSync(server.work, { recursive: true, force: true });
  await repos.close();
}
