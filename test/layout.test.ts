import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAYERS = ['core', 'plugins', 'agent', 'server', 'cli', 'testing'];
const SELF = new Map([
  ['hoist', 'core/index.ts'],
  ['hoist/yum', 'plugins/yum/index.ts'],
  ['hoist/apt', 'plugins/apt/index.ts'],
  ['hoist/testing', 'testing/index.ts'],
  ['hoist/server', 'server/index.ts'],
]);

/**
 * Every source file (not tests) and the files and packages it imports; with `loaded`, only the
 * imports that load a module (not `import type`, not `import()`).
 */
function graph(loaded = false): Map<string, { files: string[]; packages: string[] }> {
  const files = LAYERS.flatMap((layer) => walk(join(ROOT, layer)));
  const edges = new Map<string, { files: string[]; packages: string[] }>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^\s*((?:import|export)[^'"]*?)from\s+'([^']+)'/gm)]
      .filter((m) => !loaded || !/^\s*(?:import|export)\s+type\s/.test(m[1] as string))
      .map((m) => m[2] as string);
    const own: string[] = [];
    const packages: string[] = [];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) own.push(relative(ROOT, resolve(dirname(file), specifier)));
      else if (SELF.has(specifier)) own.push(SELF.get(specifier) as string);
      else packages.push(specifier);
    }
    edges.set(relative(ROOT, file), { files: own, packages });
  }
  return edges;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === '__fixtures__' ? [] : walk(path);
    return /\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [path] : [];
  });
}

/** The strongly connected components with more than one file (Tarjan). */
function cycles(edges: Map<string, { files: string[] }>): string[][] {
  let index = 0;
  const found: string[][] = [];
  const stack: string[] = [];
  const meta = new Map<string, { index: number; low: number; onStack: boolean }>();
  const visit = (node: string) => {
    meta.set(node, { index, low: index, onStack: true });
    index++;
    stack.push(node);
    for (const next of edges.get(node)?.files ?? []) {
      if (!edges.has(next)) continue;
      if (!meta.has(next)) {
        visit(next);
        const m = meta.get(node) as { low: number };
        m.low = Math.min(m.low, (meta.get(next) as { low: number }).low);
      } else if (meta.get(next)?.onStack) {
        const m = meta.get(node) as { low: number };
        m.low = Math.min(m.low, (meta.get(next) as { index: number }).index);
      }
    }
    const m = meta.get(node) as { index: number; low: number };
    if (m.low !== m.index) return;
    const component: string[] = [];
    for (;;) {
      const top = stack.pop() as string;
      (meta.get(top) as { onStack: boolean }).onStack = false;
      component.push(top);
      if (top === node) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of edges.keys()) if (!meta.has(node)) visit(node);
  return found;
}

describe('layout: imports flow plugins → core, agent → core + plugins, server → core + plugins + agent', () => {
  const edges = graph();
  const offenders = (from: string, allowed: (target: string) => boolean) =>
    [...edges.entries()]
      .filter(([file]) => file.startsWith(`${from}/`))
      .flatMap(([file, e]) => e.files.filter((t) => !allowed(t)).map((t) => `${file} → ${t}`));

  it('reads the whole tree', () => {
    expect(edges.size).toBeGreaterThan(80);
    expect(edges.get('server/pipelines/engine.ts')?.files).toContain(
      'server/pipelines/scheduler.ts',
    );
  });

  it('has no import cycles', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const two = new Map([
      ['a.ts', { files: ['b.ts'] }],
      ['b.ts', { files: ['a.ts'] }],
      ['c.ts', { files: ['a.ts'] }],
    ]);
    expect(cycles(two)).toEqual([['a.ts', 'b.ts']]);
  });

  it('keeps core to itself and zod, and plugins to core', () => {
    expect(offenders('core', (t) => t.startsWith('core/'))).toEqual([]);
    const corePackages = [...edges.entries()]
      .filter(([file]) => file.startsWith('core/'))
      .flatMap(([, e]) => e.packages)
      .filter((p) => !p.startsWith('node:') && p !== 'zod');
    expect(corePackages).toEqual([]);
    expect(offenders('plugins', (t) => t.startsWith('core/') || t.startsWith('plugins/'))).toEqual(
      [],
    );
  });

  it('keeps the agent (which runs jobs, on its own or inside the server) to core and plugins', () => {
    const allowed = (t: string) => /^(core|plugins|agent)\//.test(t);
    expect(offenders('agent', allowed)).toEqual([]);
    expect(edges.get('server/pipelines/stage-runner.ts')?.files).toContain('agent/job/runner.ts');
  });

  it('keeps fastify and the database drivers inside server/', () => {
    const serverOnly = /^(fastify|@fastify\/|fastify-type-provider-zod|pg$|better-sqlite3)/;
    const leaks = [...edges.entries()]
      .filter(([file]) => !file.startsWith('server/'))
      .flatMap(([file, e]) =>
        e.packages.filter((p) => serverOnly.test(p)).map((p) => `${file} → ${p}`),
      );
    expect(leaks).toEqual([]);
  });

  it('starts every command without zod or the plugin host: the CLI loads what a command needs on demand', () => {
    const loaded = graph(true);
    /** The files and packages loading `file` loads with it. */
    const reach = (file: string) => {
      const files = new Set<string>();
      const packages = new Set<string>();
      const visit = (at: string) => {
        if (files.has(at)) return;
        files.add(at);
        const e = loaded.get(at);
        for (const p of e?.packages ?? []) packages.add(p);
        for (const next of e?.files ?? []) visit(next);
      };
      visit(file);
      return { files: [...files], packages: [...packages] };
    };
    const cli = reach('cli/main.ts');
    expect(cli.files.length).toBeGreaterThan(10);
    expect(cli.packages.filter((p) => !p.startsWith('node:'))).toEqual(['commander']);
    expect(
      cli.files.filter((f) => /^(core\/index|core\/host|server\/api\/schemas\/index)/.test(f)),
    ).toEqual([]);
    // The apt plugin is registered everywhere; what reads Release and Packages loads on a call.
    expect(
      reach('plugins/apt/index.ts')
        .files.filter((f) => f.startsWith('plugins/apt/'))
        .sort(),
    ).toEqual([
      'plugins/apt/config.ts',
      'plugins/apt/constraint.ts',
      'plugins/apt/index.ts',
      'plugins/apt/version.ts',
    ]);
  });

  it('keeps the API schemas to zod, so that the CLI takes its types from them', () => {
    const schemas = [...edges.entries()].filter(([file]) => file.startsWith('server/api/schemas/'));
    expect(schemas.length).toBeGreaterThan(3);
    for (const [file, e] of schemas) {
      expect(e.packages, file).toEqual(e.packages.filter((p) => p === 'zod'));
      expect(
        e.files.filter((t) => !t.startsWith('server/api/schemas/')),
        file,
      ).toEqual([]);
    }
    // What the CLI takes from server/: the API's schemas, and the plugin runtime of `hoist check`.
    const fromServer = offenders('cli', (t) => !t.startsWith('server/'));
    expect(
      fromServer.filter((edge) => !/→ server\/(api\/schemas\/|plugin-runtime\.ts)/.test(edge)),
    ).toEqual([]);
  });
});
