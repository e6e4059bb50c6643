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
