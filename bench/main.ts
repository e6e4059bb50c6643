import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createMemoryState, type MemoryState } from 'hoist';
import { createPluginRuntime } from '../server/plugin-runtime.ts';
import { agentsBench } from './agents.ts';
import { apiLoad } from './api-bench.ts';
import { aptBench } from './apt-bench.ts';
import { execPluginCost } from './exec-plugins.ts';
import { hasCommand, median, type Repeated, repeat, repeatTogether } from './measure.ts';
import { pipelineLatency } from './pipeline-latency.ts';
import { scaleOut } from './scale-out.ts';
import { startServerProcess } from './serve-root.ts';
import { serverLoad } from './server-load.ts';
import { type SyntheticRepo, writeSyntheticRepo } from './synthetic-repo.ts';
import { modulesMs, Targets } from './targets.ts';

/**
 * `npm run bench`: the yum plugin against plain decompression and dnf, on reproducible
 * synthetic repositories served on loopback. Every figure is a median of several runs; ratios
 * are printed beside the times.
 */
const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    'dnf-runs': { type: 'string', default: '3' },
    sizes: { type: 'string', default: '10000,100000,400000' },
    // Default 1,000 over 100 for the sections that sweep (warm, api, scale), and 10,000 over
    // 1,000 for the server under load (the scale target); given, they apply to every section.
    materials: { type: 'string' },
    repositories: { type: 'string' },
    cache: { type: 'string', default: join(tmpdir(), 'hoist-bench') },
    'load-seconds': { type: 'string', default: '120' },
    'api-seconds': { type: 'string', default: '20' },
    'api-clients': { type: 'string', default: '200' },
    'api-pipelines': { type: 'string', default: '200' },
    'api-rounds': { type: 'string', default: '2' },
    'api-pause': { type: 'string', default: '0' },
    only: { type: 'string', default: 'cold,memory,warm,apt,load,api,scheduling,scale,exec,agents' },
    'exec-materials': { type: 'string', default: '1000' },
    'exec-sample': { type: 'string', default: '200' },
    'apt-packages': { type: 'string', default: '60000' },
    database: {
      type: 'string',
      default: process.env.HOIST_BENCH_DATABASE_URL ?? process.env.HOIST_TEST_DATABASE_URL ?? '',
    },
    instances: { type: 'string', default: '1,3' },
    'scale-seconds': { type: 'string', default: '20' },
    'scale-latencies': { type: 'string', default: '0,50' },
  },
});
const MATERIALS = Number(args.materials ?? 1000);
const REPOSITORIES = Number(args.repositories ?? 100);
const LOAD_MATERIALS = Number(args.materials ?? 10_000);
const LOAD_REPOSITORIES = Number(args.repositories ?? 1000);
const SECTIONS = new Set((args.only ?? '').split(','));
const want = (section: string) => SECTIONS.has(section);
const PACKAGES = Number(args.packages);
const RUNS = Number(args.runs);
const DNF_RUNS = Number(args['dnf-runs']);
const SIZES = (args.sizes ?? '').split(',').filter(Boolean).map(Number);
const CACHE = args.cache as string;
const HOIST = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const lines: string[] = [];
const say = (line = '') => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
const ms = (seconds: number) => `${Math.round(seconds * 1000)} ms`;
const targets = new Targets();
/** The targets are measured without an extra CA bundle (Node reads it at every start). */
const NO_CA = 'env -u NODE_EXTRA_CA_CERTS HOIST_STARTUP_TIMING=1';
const WITH_CA = 'env HOIST_STARTUP_TIMING=1';
const mib = (value: number | undefined) =>
  value === undefined ? 'n/a' : `${Math.round(value)} MiB`;

function repo(count: number, compression: 'gz' | 'zstd'): SyntheticRepo {
  const dir = join(CACHE, `${count}-${compression}`);
  const meta = join(dir, 'bench.json');
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as SyntheticRepo;
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`generating ${count} packages (${compression})…\n`);
  const made = writeSyntheticRepo(dir, count, compression);
  writeFileSync(meta, JSON.stringify(made));
  return made;
}

function dnfCommand(url: string, spec: string, root: string): string {
  // A fresh install root per run (made before the timed command): dnf starts cold every time.
  return [
    'dnf -q',
    `--installroot=${root} --setopt=cachedir=${root}/cache --setopt=reposdir=/dev/null`,
    `--disablerepo='*' --repofrompath=bench,${url} --enablerepo=bench --setopt=bench.gpgcheck=0`,
    '--releasever=9 --forcearch=x86_64 repoquery --latest-limit=1',
    `--qf '%{name}-%{epoch}:%{version}-%{release}.%{arch}' ${spec}`,
  ].join(' ');
}

function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

function nevraOf(json: string): string {
  const r = JSON.parse(json) as { data: Record<string, string> };
  return `${r.data.NAME}-${r.data.EPOCH}:${r.data.VERSION}-${r.data.RELEASE}.${r.data.ARCH}`;
}

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  // The repository server runs in its own process, as a real repository host would.
  const server = await startServerProcess(CACHE);
  say(
    `# Hoist benchmark — ${new Date().toISOString()}, node ${process.version}, medians of ${RUNS} runs (dnf: ${DNF_RUNS})`,
  );
  say();
  if (want('cold')) await cold(server.url);
  if (want('memory')) await memory(server.url);
  if (want('warm')) {
    say();
    say('## Warm re-checks (repository unchanged), in one process');
    say();
    await warm(server.url);
  }
  if (want('apt'))
    await aptBench(server.url, CACHE, Number(args['apt-packages']), RUNS, HOIST, say);
  if (want('load')) await load(server.url);
  if (want('api')) await api(server.url);
  if (want('scale')) await scale(server.url);
  await server.close();
  if (want('scheduling')) await scheduling();
  if (want('agents')) await agents();
  if (want('exec')) {
    const dir = join(CACHE, 'exec-plugins');
    mkdirSync(dir, { recursive: true });
    await execPluginCost(say, dir, Number(args['exec-materials']), Number(args['exec-sample']));
  }
  say();
  say('## Targets');
  say();
  for (const line of targets.lines()) say(line);
  say();
  say(
    'Made by `npm run bench` (`node dist/bench/main.js`); options: --packages, --runs, --dnf-runs, --sizes, --materials, --repositories, --load-seconds, --api-seconds, --api-clients, --api-pipelines, --api-rounds, --api-pause, --database, --instances, --scale-seconds, --scale-latencies, --exec-materials, --exec-sample, --apt-packages, --only (cold,memory,warm,apt,load,api,scheduling,scale,exec,agents). The 10-minute soak is `npm run bench:soak`.',
  );
}

async function cold(baseUrl: string): Promise<void> {
  const withDnf = hasCommand('dnf');
  const certs = process.env.NODE_EXTRA_CA_CERTS;
  say('## Cold check of one package, repository on loopback HTTP');
  say();
  say(
    `Hoist runs without an extra CA bundle in the environment${certs ? `, and again with NODE_EXTRA_CA_CERTS=${certs} as set here` : ''}; CPU is user + system of the process.`,
  );
  say();
  say(
    '| repository | primary | plain decompression | hoist check | hoist / plain | hoist CPU | modules loaded | hoist peak RSS | with CA bundle | dnf repoquery | dnf peak RSS | dnf / hoist |',
  );
  say('|---|---|---|---|---|---|---|---|---|---|---|---|');
  // Every hoist figure includes Node's own start-up, which some environments make slower.
  const node = await repeat(`${NO_CA} node -e 0`, RUNS);
  const nodeCa = certs ? await repeat('node -e 0', RUNS) : undefined;
  const help = await repeat(`${NO_CA} node ${HOIST} check --help`, RUNS);
  const helpModules = modulesMs(help.errors);
  for (const compression of ['gz', 'zstd'] as const) {
    const r = repo(PACKAGES, compression);
    const url = `${baseUrl}/${PACKAGES}-${compression}`;
    const check = `node ${HOIST} check ${url} ${r.probe} --json`;
    // zstd is also timed decoded on a thread of its own (HOIST_ZSTD_THREAD=1, opt-in).
    const [plain, hoist, hoistCa, threaded] = (await repeatTogether(
      [
        `${compression === 'gz' ? 'gzip' : 'zstd'} -dc ${r.primaryFile} > /dev/null`,
        `${NO_CA} ${check}`,
        certs ? `${WITH_CA} ${check}` : 'true',
        compression === 'zstd' ? `${NO_CA} HOIST_ZSTD_THREAD=1 ${check}` : 'true',
      ],
      RUNS,
    )) as [Repeated, Repeated, Repeated, Repeated];
    const checked = [...hoist.outputs, ...(certs ? hoistCa.outputs : [])];
    if (compression === 'zstd') checked.push(...threaded.outputs);
    for (const out of checked) {
      if (nevraOf(out) !== r.probeNewest)
        throw new Error(`hoist answered ${nevraOf(out)}, expected ${r.probeNewest}`);
    }
    let dnfCell = 'not installed | | ';
    let dnfRatio: number | undefined;
    if (withDnf) {
      let run = 0;
      const dnf = await repeat(
        () => dnfCommand(url, r.probe, freshDir(join(CACHE, `dnf-root-${run++}`))),
        DNF_RUNS,
      );
      for (const out of dnf.outputs) {
        if (out.trim() !== r.probeNewest)
          throw new Error(`dnf answered ${out.trim()}, expected ${r.probeNewest}`);
      }
      dnfRatio = dnf.seconds / hoist.seconds;
      dnfCell = `${ms(dnf.seconds)} | ${mib(dnf.maxRssMib)} | ${dnfRatio.toFixed(1)}x`;
    }
    const ratio = hoist.seconds / plain.seconds;
    const modules = modulesMs(hoist.errors);
    const caCell = certs
      ? `${ms(hoistCa.seconds)} (${(hoistCa.seconds / plain.seconds).toFixed(2)}x)`
      : 'n/a';
    say(
      `| ${PACKAGES.toLocaleString('en')} packages, ${compression} | ${(r.compressedBytes / 1e6).toFixed(1)} MB → ${(r.openBytes / 1e6).toFixed(0)} MB | ${ms(plain.seconds)} | ${ms(hoist.seconds)} | ${ratio.toFixed(2)}x | ${hoist.cpuSeconds === undefined ? 'n/a' : ms(hoist.cpuSeconds)} | ${modules === undefined ? 'n/a' : `${Math.round(modules)} ms`} | ${mib(hoist.maxRssMib)} | ${caCell} | ${dnfCell} |`,
    );
    if (compression === 'zstd')
      say(
        `| ${PACKAGES.toLocaleString('en')} packages, zstd decoded on a thread (HOIST_ZSTD_THREAD=1) | | ${ms(plain.seconds)} | ${ms(threaded.seconds)} | ${(threaded.seconds / plain.seconds).toFixed(2)}x | ${threaded.cpuSeconds === undefined ? 'n/a' : ms(threaded.cpuSeconds)} | | ${mib(threaded.maxRssMib)} | | | | |`,
      );
    const tool = compression === 'gz' ? 'gzip -dc' : 'zstd -dc';
    const limit = compression === 'gz' ? 0.8 : 2.5;
    targets.add(
      `cold check, ${compression}, ${PACKAGES.toLocaleString('en')} packages`,
      `≤ ${limit}x \`${tool}\``,
      `${ratio.toFixed(2)}x (${ms(hoist.seconds)} / ${ms(plain.seconds)}; with the CA bundle ${certs ? `${(hoistCa.seconds / plain.seconds).toFixed(2)}x` : 'n/a'})`,
      ratio <= limit,
    );
    targets.add(
      `cold check, ${compression}, against dnf`,
      '≥ 5x faster than cold `dnf repoquery`',
      dnfRatio === undefined ? 'dnf not installed' : `${dnfRatio.toFixed(1)}x`,
      dnfRatio === undefined ? undefined : dnfRatio >= 5,
    );
    targets.add(
      `modules loaded, cold check (${compression})`,
      '≤ 60 ms',
      modules === undefined ? 'n/a' : `${Math.round(modules)} ms`,
      modules === undefined ? undefined : modules <= 60,
    );
  }
  targets.add(
    'modules loaded, `hoist check --help`',
    '≤ 60 ms',
    helpModules === undefined
      ? 'n/a'
      : `${Math.round(helpModules)} ms (whole command ${ms(help.seconds)})`,
    helpModules === undefined ? undefined : helpModules <= 60,
  );
  say();
  say(
    `Decompression and hoist runs alternate. Node's own start-up (\`node -e 0\`) is ${ms(node.seconds)} of each hoist figure${nodeCa ? ` (${ms(nodeCa.seconds)} with NODE_EXTRA_CA_CERTS: Node reads ${certs} at every start)` : ''}. \`hoist check --help\`: ${ms(help.seconds)}, of which ${helpModules === undefined ? 'n/a' : `${Math.round(helpModules)} ms`} loading modules. "modules loaded" is what HOIST_STARTUP_TIMING=1 reports: the command's own modules and dependencies, from the end of Node's bootstrap.`,
  );
}

async function memory(baseUrl: string): Promise<void> {
  say();
  say('## Peak memory as the repository grows (gz, cold check)');
  say();
  say('| packages | primary (open) | hoist check | peak RSS |');
  say('|---|---|---|---|');
  const peaks: number[] = [];
  for (const size of SIZES) {
    const r = repo(size, 'gz');
    const hoist = await repeat(
      `${NO_CA} node ${HOIST} check ${baseUrl}/${size}-gz ${r.probe} --json`,
      Math.min(RUNS, 3),
    );
    if (hoist.maxRssMib !== undefined) peaks.push(hoist.maxRssMib);
    say(
      `| ${size.toLocaleString('en')} | ${(r.openBytes / 1e6).toFixed(0)} MB | ${ms(hoist.seconds)} | ${mib(hoist.maxRssMib)} |`,
    );
  }
  const zstd = repo(PACKAGES, 'zstd');
  const zstdRun = await repeat(
    `${NO_CA} node ${HOIST} check ${baseUrl}/${PACKAGES}-zstd ${zstd.probe} --json`,
    Math.min(RUNS, 3),
  );
  if (zstdRun.maxRssMib !== undefined) peaks.push(zstdRun.maxRssMib);
  say(
    `| ${PACKAGES.toLocaleString('en')} (zstd) | ${(zstd.openBytes / 1e6).toFixed(0)} MB | ${ms(zstdRun.seconds)} | ${mib(zstdRun.maxRssMib)} |`,
  );
  const peak = peaks.length ? Math.max(...peaks) : undefined;
  targets.add(
    `peak RSS of a cold check, ${SIZES.map((n) => n.toLocaleString('en')).join(' / ')} packages`,
    '≤ 100 MiB, flat',
    `${peaks.map((p) => Math.round(p)).join(' / ')} MiB`,
    peak === undefined ? undefined : peak <= 100,
  );
}

async function load(baseUrl: string): Promise<void> {
  const loadSeconds = Number(args['load-seconds']);
  if (loadSeconds > 0) {
    say();
    say(`## The server under load: materials polled once a minute, measured over ${loadSeconds} s`);
    say();
    const repositories = LOAD_REPOSITORIES;
    const load = await serverLoad(
      CACHE,
      baseUrl,
      repositories,
      Math.ceil(LOAD_MATERIALS / repositories),
      loadSeconds,
    );
    say(
      '| materials | repositories | checks | failed | server CPU | CPU per check | server RSS (max) | check latency p50 | p95 | lateness p95 | start-up round |',
    );
    say('|---|---|---|---|---|---|---|---|---|---|---|');
    const cores = availableParallelism();
    const machine = load.cpuPercent / cores;
    const startup =
      load.startupSeconds === undefined
        ? 'not finished in 300 s'
        : `${load.startupSeconds.toFixed(0)} s, ${load.startupFailures} failed`;
    say(
      `| ${load.materials} | ${load.repositories} | ${load.checks} | ${load.failures} | ${load.cpuPercent} % of one core (${machine.toFixed(1)} % of ${cores} cores) | ${load.cpuMsPerCheck} ms | ${load.rssMib} MiB (${load.maxRssMib} MiB) | ≤ ${load.latencyP50Ms} ms | ≤ ${load.latencyP95Ms} ms | ≤ ${load.latenessP95Ms} ms | ${startup} |`,
    );
    const scale = `${load.materials.toLocaleString('en')} materials, ${load.repositories.toLocaleString('en')} repositories, ${loadSeconds} s`;
    targets.add(
      `scale: CPU (${scale})`,
      `< 10 % of the machine's ${cores} cores`,
      `${machine.toFixed(1)} % (${load.cpuPercent} % of one core)`,
      machine < 10,
    );
    targets.add(
      `scale: memory (${scale})`,
      '< 300 MiB',
      `${load.maxRssMib} MiB`,
      load.maxRssMib < 300,
    );
    targets.add(
      `scale: on schedule (${scale})`,
      'p95 lateness < 1 s',
      `≤ ${load.latenessP95Ms} ms`,
      load.latenessP95Ms < 1000,
    );
    targets.add(
      `scale: start-up round (${load.materials.toLocaleString('en')} checks)`,
      '< 60 s, no timeouts',
      startup,
      load.startupSeconds !== undefined && load.startupSeconds < 60 && load.startupFailures === 0,
    );
    if (loadSeconds < 300)
      say(
        `The issue asks for at least 5 minutes after the start-up round: \`npm run bench -- --only load --materials ${load.materials} --repositories ${load.repositories} --load-seconds 300\`.`,
      );
  }
}

async function api(baseUrl: string): Promise<void> {
  const seconds = Number(args['api-seconds']);
  if (!(seconds > 0)) return;
  const repositories = REPOSITORIES;
  const clients = Number(args['api-clients']);
  const pause = Number(args['api-pause']);
  const report = await apiLoad(
    CACHE,
    baseUrl,
    {
      repositories,
      perRepository: Math.ceil(MATERIALS / repositories),
      pipelines: Number(args['api-pipelines']),
      clients,
      seconds,
      rounds: Number(args['api-rounds']),
      pauseMs: Number(args['api-pause']),
    },
    () => loadavg()[0] ?? 0,
  );
  say();
  say(
    `## The read API under load: ${clients} clients, each sending its next request ${pause > 0 ? `${pause} ms after` : 'on'} an answer, ${seconds} s per run`,
  );
  say();
  say(
    `${report.materials} materials (3 revisions and 3 checks each, still polled every 60 s) and ${report.pipelines} pipelines (3 finished runs each), SQLite.`,
  );
  say();
  say(
    '| route | encoding | answer | requests | requests/s | p50 | p99 | max | errors (timeouts) | load average |',
  );
  say('|---|---|---|---|---|---|---|---|---|---|');
  for (const [i, r] of report.reports.entries()) {
    say(
      `| ${r.path} | ${r.gzip ? 'gzip' : 'plain'} | ${(r.bytes / 1e3).toFixed(0)} kB | ${r.requests} | ${r.perSecond} | ${r.p50Ms} ms | ${r.p99Ms} ms | ${r.maxMs} ms | ${r.errors} (${r.timeouts}) | ${(report.loads[i] ?? 0).toFixed(1)} |`,
    );
  }
}

async function agents(): Promise<void> {
  say();
  say('## Agents: dispatch');
  say();
  const report = await agentsBench(20);
  say(
    `- stage start → its job running on an idle agent, ${report.agents} agents connected (${report.rounds} runs): p50 ${report.p50Ms} ms, p95 ${report.p95Ms} ms`,
  );
  say(
    `- ${report.queued} queued jobs handed to ${report.agents} agents in ${report.dispatchSeconds.toFixed(1)} s (${report.perSecond} jobs/s, each a real \`true\` process on its agent)`,
  );
}

async function scheduling(): Promise<void> {
  say();
  say('## Scheduling: from check-now to the scheduled run');
  say();
  const scheduling = await pipelineLatency(100);
  say(
    `- check-now → run scheduled (a newly published revision, median of 7): ${scheduling.checkNowToRunMs} ms`,
  );
  say(
    `- all ${scheduling.pipelines} pipelines sharing that material scheduled within ${scheduling.hundredPipelinesMs} ms of check-now (worst of 7)`,
  );
}

async function scale(baseUrl: string): Promise<void> {
  say();
  say('## Several instances on one PostgreSQL database');
  say();
  if (!args.database) {
    say(
      '- skipped: no PostgreSQL database (give --database postgres://…, or set HOIST_BENCH_DATABASE_URL; its role needs CREATEDB)',
    );
    return;
  }
  const repositories = REPOSITORIES;
  const seconds = Number(args['scale-seconds']);
  const sizes = (args.instances ?? '').split(',').filter(Boolean).map(Number);
  const reports = await scaleOut(args.database, CACHE, baseUrl, sizes, {
    repositories,
    perRepository: Math.ceil(MATERIALS / repositories),
    seconds,
    latencies: (args['scale-latencies'] ?? '').split(',').filter(Boolean).map(Number),
  });
  say(
    `Every material due every second (more than the instances can check: the rate is their capacity), over ${seconds} s; then check-now → run, sent to each instance in turn. The repository server answers at once (the work is CPU-bound), or after a delay as a distant mirror would (bound by each instance's 4 checks at once per repository host).`,
  );
  say();
  say(
    `| repository answers after | instances | materials | checks/s | per instance | CPU (all instances) | machine busy (${availableParallelism()} cores) | check-now → run (median of 7) | 100 pipelines scheduled within |`,
  );
  say('|---|---|---|---|---|---|---|---|---|');
  for (const r of reports) {
    const base = reports.find((b) => b.latencyMs === r.latencyMs)?.checksPerSecond ?? 0;
    say(
      `| ${r.latencyMs} ms | ${r.instances} | ${r.materials} | ${r.checksPerSecond}${r.instances === reports[0]?.instances ? '' : ` (${(r.checksPerSecond / base).toFixed(2)}x)`} | ${r.perInstance.map((n) => Math.round(n / r.seconds)).join(' / ')} | ${r.cpuPercent} % of one core | ${r.machineBusyPercent} % | ${r.scheduling ? `${r.scheduling.checkNowToRunMs} ms` : '(above)'} | ${r.scheduling ? `${r.scheduling.hundredPipelinesMs} ms` : '(above)'} |`,
    );
  }
}

async function warm(baseUrl: string): Promise<void> {
  const runtime = createPluginRuntime({ timeoutMs: 60_000 });
  try {
    // One big repository: per-material cost of a re-check that finds nothing new.
    const big = repo(PACKAGES, 'gz');
    const state = createMemoryState();
    const repoConfig = { REPO_URL: `${baseUrl}/${PACKAGES}-gz` };
    const pkgConfig = { PACKAGE_SPEC: big.probe };
    const first = await runtime.host.latestRevision('yum', repoConfig, pkgConfig, { state });
    if (!first) throw new Error('warm: nothing found');
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const c = process.cpuUsage();
      const newer = await runtime.host.latestRevisionsSince('yum', repoConfig, pkgConfig, first, {
        state,
      });
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      times.push(performance.now() - t);
      if (newer.length !== 0) throw new Error('warm: unexpected new revision');
    }
    say(
      `- re-check of the ${PACKAGES.toLocaleString('en')}-package repository: ${median(times).toFixed(2)} ms wall, ${median(cpu).toFixed(2)} ms CPU (median of 50; conditional GET answered 304)`,
    );

    // Many materials over many repositories on one loopback server.
    const repositories = REPOSITORIES;
    const materials = MATERIALS;
    const perRepo = Math.ceil(materials / repositories);
    const sweep: {
      repo: Record<string, string>;
      pkg: Record<string, string>;
      state: MemoryState;
      last: NonNullable<typeof first>;
    }[] = [];
    for (let i = 0; i < repositories; i++) {
      const dir = join(CACHE, 'sweep', String(i));
      const meta = join(dir, 'names.json');
      if (!existsSync(meta)) {
        rmSync(dir, { recursive: true, force: true });
        writeSyntheticRepo(dir, 100, 'gz', 1000 + i);
        writeFileSync(meta, '[]');
      }
    }
    const cold = performance.now();
    await Promise.all(
      Array.from({ length: repositories }, async (_, i) => {
        const repoCfg = { REPO_URL: `${baseUrl}/sweep/${i}` };
        for (let j = 0, taken = 0; taken < perRepo && sweep.length < materials; j++) {
          // Name 7 of every synthetic repository is the probe package, named differently.
          if (j === 7) continue;
          taken++;
          const pkg = { PACKAGE_SPEC: `pkg${j.toString(36)}-*` };
          const s = createMemoryState();
          const last = await runtime.host.latestRevision('yum', repoCfg, pkg, { state: s });
          if (last) sweep.push({ repo: repoCfg, pkg, state: s, last });
        }
      }),
    );
    const coldSeconds = (performance.now() - cold) / 1000;
    const rounds: number[] = [];
    const cpuRounds: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t = performance.now();
      const c = process.cpuUsage();
      await pool(sweep, 64, (m) =>
        runtime.host.latestRevisionsSince('yum', m.repo, m.pkg, m.last, { state: m.state }),
      );
      const used = process.cpuUsage(c);
      cpuRounds.push((used.user + used.system) / 1e6);
      rounds.push((performance.now() - t) / 1000);
    }
    say(
      `- sweep of ${sweep.length} materials over ${repositories} repositories on one loopback server: ${ms(median(rounds))} wall, ${ms(median(cpuRounds))} CPU (median of 5; the first, cold sweep took ${ms(coldSeconds)}); process RSS ${mib(process.memoryUsage().rss / 1048576)}`,
    );
  } finally {
    await runtime.close();
  }
}

async function pool<T>(
  items: T[],
  width: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

await main();
