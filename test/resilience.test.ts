import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryState, type Logger, type RepositoryPlugin } from '../core/index.ts';
import type { Material as MaterialView } from '../server/api/schemas/index.ts';
import { primaryXml } from './helpers/handmade-repo.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';
import { requireTool } from './helpers/tools.ts';

const DIST = new URL('../dist/', import.meta.url);
const need = (path: string) => {
  if (!existsSync(new URL(path, DIST)))
    throw new Error(`dist/${path} is missing: run npm run build`);
  return new URL(path, DIST).href;
};

/** The compiled runtime, as `hoist serve` runs it (workers load compiled JavaScript). */
async function compiledRuntime() {
  const runtime = (await import(
    need('server/plugin-runtime.js')
  )) as typeof import('../server/plugin-runtime.ts');
  const isolated = (await import(
    need('server/plugins/isolated-plugin.js')
  )) as typeof import('../server/plugins/isolated-plugin.ts');
  return { ...runtime, ...isolated };
}

/** A JavaScript plugin whose latestRevision misbehaves as its repository's MODE says. */
function writeMisbehavingPlugin(dir: string): string {
  const file = join(dir, 'misbehaving.mjs');
  writeFileSync(
    file,
    `import { defineRepositoryPlugin, RepositoryUnreachableError } from ${JSON.stringify(need('core/index.js'))};
const revision = (n) => ({ revision: 'app-' + n, timestamp: '2024-01-01T00:00:00.000Z', data: {} });
export default defineRepositoryPlugin({
  id: 'misbehaving', version: '1', displayName: 'Misbehaving',
  repositoryProperties: [{ key: 'MODE' }], packageProperties: [],
  checkRepositoryConnection: async () => ({ ok: true, messages: [] }),
  checkPackageConnection: async () => ({ ok: true, messages: [] }),
  latestRevisionsSince: async () => [],
  async latestRevisionsSinceIfUnchanged() {
    globalThis.hoistUnchangedRanHere = true;
    return [];
  },
  async latestRevision(repo, pkg, ctx) {
    if (repo.MODE === 'spin') for (;;) {}
    if (repo.MODE === 'memory') { const kept = []; for (;;) kept.push({ at: kept.length, text: 'x' + kept.length }); }
    if (repo.MODE === 'unreachable') throw new RepositoryUnreachableError('down for maintenance', { reason: 'status', status: 503, retryAfterMs: 5000 });
    if (repo.MODE === 'crash') throw new TypeError('cannot read properties of undefined');
    const n = (ctx.state.get('n') ?? 0) + 1;
    ctx.state.set('n', n);
    ctx.state.delete('gone');
    ctx.logger.info('counted', { n, thread: 'worker' });
    return revision(n);
  },
});
`,
  );
  return pathToFileURL(file).href;
}

/** CPU the process used, in percent of one core, over `ms`. */
async function cpuPercent(ms: number, usage: () => number): Promise<number> {
  const before = usage();
  const start = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((usage() - before) / (performance.now() - start)) * 100;
}

describe('isolated plugin calls (the compiled runtime)', () => {
  let dir: string;
  let plugin: RepositoryPlugin;
  let rt: Awaited<ReturnType<Awaited<ReturnType<typeof compiledRuntime>>['createPluginRuntime']>>;
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (message, meta) => lines.push(`${message} ${JSON.stringify(meta)}`),
    warn: () => {},
    error: () => {},
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hoist-isolate-'));
    const compiled = await compiledRuntime();
    const url = writeMisbehavingPlugin(dir);
    plugin = (await import(url)).default as RepositoryPlugin;
    compiled.markPluginModule(plugin, url);
    rt = compiled.createPluginRuntime({ extraPlugins: [plugin], memoryMb: 64, workers: 2 });
  });
  afterAll(async () => {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the call in a worker: state copied in and back, log lines to the caller, workers reused', async () => {
    expect(rt.isolated).toBe(true);
    const state = createMemoryState({ n: 41, gone: true, kept: 'yes' });
    const found = await rt.host.latestRevision(
      'misbehaving',
      { MODE: 'ok' },
      {},
      { state, logger },
    );
    expect(found?.revision).toBe('app-42');
    expect(state.snapshot()).toEqual({ n: 42, kept: 'yes' });
    expect(lines).toContain('counted {"n":42,"thread":"worker"}');
    const again = await rt.host.latestRevision('misbehaving', { MODE: 'ok' }, {}, { state });
    expect(again?.revision).toBe('app-43');
    expect(rt.workers()).toMatchObject({ workers: 1, busy: 0, started: 1 });
  });

  it("never runs an installed plugin's code in the server's thread, not even its unchanged-answer call", async () => {
    const before = rt.workers().calls;
    const previous = { revision: 'app-1', timestamp: '2024-01-01T00:00:00.000Z', data: {} };
    expect(await rt.host.latestRevisionsSince('misbehaving', { MODE: 'ok' }, {}, previous)).toEqual(
      [],
    );
    expect((globalThis as { hoistUnchangedRanHere?: boolean }).hoistUnchangedRanHere).toBe(
      undefined,
    );
    expect(rt.workers().calls).toBe(before + 1);
  });

  it("rebuilds the plugin's errors on the host's side (class, code, retry-after), and tags others", async () => {
    const down = rt.host.latestRevision('misbehaving', { MODE: 'unreachable' }, {});
    await expect(down).rejects.toMatchObject({
      name: 'RepositoryUnreachableError',
      code: 'ERR_REPOSITORY_UNREACHABLE',
      status: 503,
      retryAfterMs: 5000,
      pluginId: 'misbehaving',
    });
    await expect(rt.host.latestRevision('misbehaving', { MODE: 'crash' }, {})).rejects.toThrow(
      "Plugin 'misbehaving' failed in latestRevision: cannot read properties of undefined",
    );
  });

  it('ends a call that spins at its deadline: the worker is terminated and the CPU is idle again', async () => {
    const started = performance.now();
    await expect(
      rt.host.latestRevision('misbehaving', { MODE: 'spin' }, {}, { timeoutMs: 500 }),
    ).rejects.toMatchObject({
      code: 'ERR_PLUGIN_TIMEOUT',
      message: "Plugin 'misbehaving' did not answer latestRevision within 500 ms",
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    await eventually(async () => (rt.workers().busy === 0 ? true : undefined), 5_000);
    // Without terminate() the spinning thread keeps one core busy (~100 %).
    const cpu = await cpuPercent(1_000, () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    });
    expect(cpu).toBeLessThan(50);
    // The pool still works after a terminated worker.
    expect((await rt.host.latestRevision('misbehaving', { MODE: 'ok' }, {}))?.revision).toBe(
      'app-1',
    );
  });

  it('stops a call that exceeds its memory limit with an error naming the limit', async () => {
    const started = performance.now();
    await expect(
      rt.host.latestRevision('misbehaving', { MODE: 'memory' }, {}, { timeoutMs: 60_000 }),
    ).rejects.toThrow(
      "Plugin 'misbehaving' exceeded 64 MiB of memory in latestRevision and was stopped",
    );
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('an aborted call ends its worker too (the server stopping)', async () => {
    const controller = new AbortController();
    const call = rt.host.latestRevision(
      'misbehaving',
      { MODE: 'spin' },
      {},
      {
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(new Error('stopping')), 200);
    await expect(call).rejects.toThrow(/cancelled|stopping/);
    await eventually(async () => (rt.workers().busy === 0 ? true : undefined), 5_000);
  });
});

/** Pipes `head`, then `fill` repeated to `bytes`, through a compressor; its output. */
async function compress(
  tool: string[],
  head: string,
  fill: string,
  bytes: number,
): Promise<Buffer> {
  requireTool(tool[0] as string, `Debian package ${tool[0] === 'xz' ? 'xz-utils' : tool[0]}`);
  const child = spawn(tool[0] as string, tool.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((resolve) => child.once('close', resolve));
  const piece = Buffer.from(fill.repeat(Math.ceil((1 << 20) / fill.length)));
  child.stdin.write(head);
  for (let written = 0; written < bytes; written += piece.length) {
    if (!child.stdin.write(piece)) await new Promise((r) => child.stdin.once('drain', r));
  }
  child.stdin.end();
  await done;
  return Buffer.concat(out);
}

const METADATA_HEAD = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
`;

/** A repository folder whose primary is `stored`, with a true checksum and size. */
function repoWithPrimary(root: string, name: string, stored: Buffer): void {
  mkdirSync(join(root, name, 'repodata'), { recursive: true });
  const sum = createHash('sha256').update(stored).digest('hex');
  writeFileSync(join(root, name, 'repodata', `${sum}-primary.xml`), stored);
  writeFileSync(
    join(root, name, 'repodata', 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>
<data type="primary"><checksum type="sha256">${sum}</checksum><location href="repodata/${sum}-primary.xml"/>
<timestamp>1700000000</timestamp><size>${stored.length}</size></data>
</repomd>
`,
  );
}

/** gzip of a primary with `count` versions of `app`. */
function manyVersions(count: number): Buffer {
  const parts: Buffer[] = [];
  const step = 20_000;
  for (let i = 0; i < count; i += step) {
    const packages = Array.from({ length: Math.min(step, count - i) }, (_, j) => ({
      name: 'app',
      version: `1.${i + j}`,
    }));
    const xml = primaryXml(packages);
    const body = xml.slice(xml.indexOf('<package'), xml.lastIndexOf('</metadata>'));
    parts.push(Buffer.from(body));
  }
  return gzipSync(
    Buffer.concat([Buffer.from(METADATA_HEAD), ...parts, Buffer.from('</metadata>\n')]),
    {
      level: 1,
    },
  );
}

/** The hostile repositories, each a folder under `root` (the drip is served by the server). */
async function writeHostileRepositories(root: string): Promise<string[]> {
  const nested = 300_000;
  mkdirSync(join(root, 'nested', 'repodata'), { recursive: true });
  writeFileSync(
    join(root, 'nested', 'repodata', 'repomd.xml'),
    `<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">${'<x>'.repeat(nested)}`,
  );
  const [bz2, xz] = await Promise.all([
    compress(['bzip2', '-1'], METADATA_HEAD, 'a', 256 << 20),
    compress(['xz', '-0', '-T1'], METADATA_HEAD, 'a', 256 << 20),
  ]);
  repoWithPrimary(root, 'bzip2-bomb', bz2);
  repoWithPrimary(root, 'xz-bomb', xz);
  repoWithPrimary(
    root,
    'text-without-tags',
    gzipSync(Buffer.concat([Buffer.from(METADATA_HEAD), Buffer.alloc(128 << 20, 'a')]), {
      level: 1,
    }),
  );
  repoWithPrimary(root, 'many-versions', manyVersions(400_000));
  return ['nested', 'bzip2-bomb', 'xz-bomb', 'text-without-tags', 'many-versions', 'drip'];
}

/** Serves `root`, and under /drip/ one byte every second, never ending. */
async function serveHostile(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/drip/')) {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write('<');
      const timer = setInterval(() => res.write(' '), 1_000);
      res.once('close', () => clearInterval(timer));
      return;
    }
    try {
      res.writeHead(200).end(readFileSync(join(root, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** From /proc: resident memory (MiB), threads, and CPU seconds of a process. */
function processFigures(pid: number): { rssMiB: number; threads: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: field('VmRSS') / 1024, threads: field('Threads'), cpuS: ticks / 100 };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const DEADLINE_S = 10;
const TRANSFER_S = 5;
const MEMORY_MB = 160;
/** Stated bound of the server's resident memory during the attack. */
const RSS_BOUND_MIB = 1_024;

describe('hoist serve under hostile repositories', () => {
  let root: string;
  let hostile: { url: string; server: Server };
  let names: string[];
  let healthy: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hoist-hostile-'));
    healthy = tempRepoDir();
    await buildRpms(join(healthy, 'Packages'), [{ name: 'app', version: '1.0' }]);
    await createrepo(healthy);
    names = await writeHostileRepositories(root);
    hostile = await serveHostile(root);
  }, 180_000);
  afterAll(async () => {
    hostile?.server.closeAllConnections();
    await new Promise((r) => hostile?.server.close(r));
    rmSync(root, { recursive: true, force: true });
    rmSync(healthy, { recursive: true, force: true });
  });

  it('keeps /api/health fast and the healthy material checked; every hostile check ends with a clear error within its deadline, and its work stops', async () => {
    const repositories = names
      .map(
        (name) => `  - name: ${name}
    plugin: yum
    config: { REPO_URL: "${hostile.url}/${name}", TIMEOUT: "3" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]`,
      )
      .join('\n');
    const server = await startServer({
      config: writeConfig(`repositories:
  - name: healthy
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(healthy).href}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1s }]
${repositories}
`),
      env: {
        HOIST_LOG_LEVEL: 'info',
        HOIST_PLUGIN_TIMEOUT: String(DEADLINE_S),
        HOIST_TRANSFER_TIMEOUT: String(TRANSFER_S),
        HOIST_PLUGIN_MEMORY_MB: String(MEMORY_MB),
      },
    });
    const pid = server.child.pid as number;
    try {
      const latencies: number[] = [];
      let peakRss = 0;
      let materials: MaterialView[] = [];
      const attackStarted = Date.now();
      // Until every hostile material has a finished check: health every 20 ms, materials every 500 ms.
      for (let round = 0; ; round++) {
        const started = performance.now();
        const health = await fetch(`${server.url}/api/health`);
        await health.arrayBuffer();
        latencies.push(performance.now() - started);
        expect(health.status).toBe(200);
        peakRss = Math.max(peakRss, processFigures(pid).rssMiB);
        if (round % 25 === 0) {
          materials = (await server.api<MaterialView[]>('GET', '/api/materials?checks=100')).body;
          if (names.every((n) => materials.find((m) => m.repository === n)?.lastCheck)) break;
          expect(Date.now() - attackStarted).toBeLessThan(120_000);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const attackS = (Date.now() - attackStarted) / 1000;
      const report: Record<string, string> = {};
      const last = materials.find((m) => m.repository === 'healthy')?.lastCheck;
      report.healthy = `${last?.outcome}: ${last?.error}`;
      for (const name of names) {
        const check = materials.find((m) => m.repository === name)?.lastCheck;
        report[name] = `${check?.outcome} in ${check?.durationMs} ms: ${check?.error}`;
        // A reader that keeps memory bounded may answer the newest of many versions in time.
        if (name === 'many-versions' && check?.outcome === 'new') continue;
        expect(check?.outcome, name).toBe('error');
        expect(check?.error, name).toMatch(/^[^\n]{10,600}$/);
        // The deadline, plus margin for a loaded machine.
        expect(check?.durationMs, name).toBeLessThan(DEADLINE_S * 1000 + 5_000);
      }
      expect(report.drip).toMatch(
        new RegExp(
          `transfer of ${hostile.url}/drip/repodata/repomd.xml did not finish within ${TRANSFER_S} s`,
        ),
      );
      const healthyChecks = materials.find((m) => m.repository === 'healthy')?.recentChecks ?? [];
      const during = healthyChecks.filter((c) => Date.parse(c.startedAt) >= attackStarted);
      const figures = {
        attackS,
        healthSamples: latencies.length,
        healthP50: percentile(latencies, 50),
        healthP99: percentile(latencies, 99),
        healthMax: Math.max(...latencies),
        peakRssMiB: peakRss,
        healthyChecks: during.length,
        healthyFailed: during.filter((c) => c.outcome === 'error').length,
      };
      // Afterwards: no plugin work left running (CPU idle, threads back to the pool's).
      const busy = await cpuPercent(2_000, () => processFigures(pid).cpuS * 1000);
      const after = processFigures(pid);
      console.log(JSON.stringify({ ...figures, cpuAfterPercent: busy, after, report }, null, 1));
      expect(figures.healthP99).toBeLessThan(200);
      expect(figures.healthyChecks).toBeGreaterThanOrEqual(Math.floor(attackS / 4));
      expect(figures.healthyFailed).toBe(0);
      expect(peakRss).toBeLessThan(RSS_BOUND_MIB);
      expect(busy).toBeLessThan(40);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 240_000);
});
