import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRepomd } from '../plugins/yum/repomd.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import { nevra, testRuntime } from './helpers/host.ts';
import { serveDirectory } from './helpers/static-server.ts';
import { requireTool } from './helpers/tools.ts';

/**
 * Repositories built to hurt the reader: deep nesting, text that never ends, decompression
 * bombs, a name with a huge number of versions. Each must end quickly with a clear error (or
 * the right answer) in bounded memory. Bounds leave room for a loaded machine; the code these
 * inputs were first measured on took minutes and gigabytes.
 */
const runtime = testRuntime();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await runtime.close();
});

async function serve(dir: string) {
  const server = await serveDirectory(dir);
  cleanups.push(
    () => server.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return server.url;
}

const check = (url: string, spec = 'app') =>
  runtime.host.latestRevision('yum', { REPO_URL: url }, { PACKAGE_SPEC: spec }).catch((e) => e);

/** The outcome of a check, how long it took and how much the process's RSS grew. */
async function measured(url: string, spec = 'app') {
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const outcome = await check(url, spec);
  return {
    outcome,
    ms: performance.now() - started,
    grownMiB: (process.memoryUsage().rss - rss) / 2 ** 20,
  };
}

const HEAD = Buffer.from(
  '<?xml version="1.0"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">' +
    '<package type="rpm"><name>app</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>',
);

/** A repository whose primary file holds `bytes` as they are (compressed or not). */
const repoOf = (bytes: Buffer) => serve(handmadeRepo([], { primaryBytes: bytes, openSize: null }));

function compress(tool: 'bzip2' | 'xz', input: Buffer, ...args: string[]): Buffer {
  return execFileSync(tool, ['-c', ...args], { input, maxBuffer: 1 << 30 });
}

describe('yum reader against hostile repositories', () => {
  it('refuses repomd.xml nested 2.2 million deep (15 MB) at once', async () => {
    const n = 2_200_000;
    const dir = mkdtempSync(join(tmpdir(), 'hoist-nested-'));
    cpSync(handmadeRepo([{ name: 'app', version: '1' }]), dir, { recursive: true });
    writeFileSync(
      join(dir, 'repodata', 'repomd.xml'),
      `<repomd>${'<x>'.repeat(n)}${'</x>'.repeat(n)}</repomd>`,
    );
    const { outcome, ms } = await measured(await serve(dir));
    expect(outcome.code).toBe('ERR_REPOSITORY_METADATA');
    expect(outcome.message).toMatch(
      /repomd\.xml is malformed: Elements nested deeper than 256 levels at byte \d+$/,
    );
    expect(ms).toBeLessThan(5000);
  });

  it('reads elements 250 deep in time linear in their number', () => {
    const time = (n: number) => {
      const xml = Buffer.from(
        `<repomd>${'<x>'.repeat(250)}${'<y a="1"/>'.repeat(n)}${'</x>'.repeat(250)}</repomd>`,
      );
      const started = performance.now();
      parseRepomd(xml);
      return performance.now() - started;
    };
    time(20_000);
    const small = Math.min(time(100_000), time(100_000));
    const large = Math.min(time(400_000), time(400_000));
    // Four times the tags: about four times the time (sixteen if each walked the stack).
    expect(large / small).toBeLessThan(8);
  });

  it('refuses text without "<" in a gzip primary after 1 MiB, whatever its length', async () => {
    const outcomes = [];
    for (const mib of [32, 128]) {
      const text = Buffer.concat([HEAD, Buffer.from('<summary>'), Buffer.alloc(mib << 20, 0x61)]);
      outcomes.push(await measured(await repoOf(gzipSync(text, { level: 1 }))));
    }
    for (const { outcome, ms, grownMiB } of outcomes) {
      expect(outcome.code).toBe('ERR_REPOSITORY_METADATA');
      expect(outcome.message).toMatch(
        `primary.xml.gz is malformed: Text longer than 1048576 bytes (1 MiB) at byte ${HEAD.length + 9}`,
      );
      expect(ms).toBeLessThan(3000);
      expect(grownMiB).toBeLessThan(100);
    }
  });

  it('steps over a 256 MiB description without "<" in linear time and bounded memory', async () => {
    const runs = [];
    for (const mib of [64, 256]) {
      const xml = Buffer.concat([
        HEAD,
        Buffer.from('<description>'),
        Buffer.alloc(mib << 20, 0x61),
        Buffer.from(
          '</description><location href="Packages/app-1-1.noarch.rpm"/></package></metadata>',
        ),
      ]);
      runs.push(await measured(await repoOf(gzipSync(xml, { level: 1 }))));
    }
    const [small, large] = runs as [(typeof runs)[0], (typeof runs)[0]];
    for (const { outcome, grownMiB } of runs) {
      expect(nevra(outcome)).toBe('app-0:1-1.noarch');
      expect(grownMiB).toBeLessThan(150);
    }
    // Four times the text: about four times the time (sixteen when quadratic).
    expect(large.ms / small.ms).toBeLessThan(8);
  });

  it('stops a bzip2 bomb (2.3 GB from a few kilobytes) within seconds, in bounded memory', async () => {
    requireTool('bzip2', 'Debian package bzip2');
    // bzip2 streams may follow one another: one of 40 MiB of spaces, repeated, is a bomb.
    const spaces = compress('bzip2', Buffer.alloc(40 << 20, 0x20), '-9');
    const parts = [compress('bzip2', Buffer.concat([HEAD, Buffer.from('<description>')]))];
    for (let i = 0; i < 55; i++) parts.push(spaces);
    const bomb = Buffer.concat(parts);
    expect(bomb.length).toBeLessThan(16 << 10);
    const { outcome, ms, grownMiB } = await measured(await repoOf(bomb));
    expect(outcome.code).toBe('ERR_REPOSITORY_METADATA');
    expect(outcome.message).toMatch(
      /primary\.xml\.gz could not be decompressed as bzip2: inflates more than 1000 times its size \(\d+ bytes from \d+ of bzip2\), the limit; refused as a decompression bomb$/,
    );
    expect(ms).toBeLessThan(20_000);
    expect(grownMiB).toBeLessThan(300);
  });

  it('stops an xz bomb within seconds, in bounded memory, and reads xz again after it', async () => {
    requireTool('xz', 'Debian package xz-utils');
    const xml = Buffer.concat([HEAD, Buffer.from('<description>'), Buffer.alloc(160 << 20, 0x20)]);
    const bomb = compress('xz', xml, '-1', '-T1');
    const { outcome, ms, grownMiB } = await measured(await repoOf(bomb));
    expect(outcome.code).toBe('ERR_REPOSITORY_METADATA');
    expect(outcome.message).toMatch(
      /could not be decompressed as xz: inflates more than 1000 times its size .*refused as a decompression bomb$/,
    );
    expect(ms).toBeLessThan(15_000);
    expect(grownMiB).toBeLessThan(300);
    const fixture = pathToFileURL(fixturePath('derived/libdnf-modules_all_x86_64-xz')).href;
    const again = await runtime.host.latestRevision(
      'yum',
      { REPO_URL: fixture },
      { PACKAGE_SPEC: 'grub2', INCLUDE_MODULAR: 'true' },
    );
    expect(again?.data.NAME).toBe('grub2');
  });

  it('reads a primary whose one name has 100,000 versions in bounded memory', () => {
    const dist = fileURLToPath(new URL('../dist/plugins/yum/', import.meta.url));
    const script = (keep: 'newest' | 'all') => `
      const { PrimaryReader } = await import(${JSON.stringify(`${dist}primary.js`)});
      const { NewestPackages, selectStream } = await import(${JSON.stringify(`${dist}choose.js`)});
      const { parsePackageSpec } = await import(${JSON.stringify(`${dist}spec.js`)});
      const selection = { spec: parsePackageSpec('app'), arches: undefined, constraint: undefined, modular: undefined };
      const newest = new NewestPackages(selection);
      const all = [];
      const reader = new PrimaryReader({
        wantName: (n) => n === 'app',
        onPackage: (p) => ${keep === 'newest' ? 'newest.add(p)' : 'all.push(p)'},
      });
      reader.push(Buffer.from('<metadata xmlns="http://linux.duke.edu/metadata/common">'));
      for (let block = 0; block < 100; block++) {
        let text = '';
        for (let i = block * 1000; i < (block + 1) * 1000; i++) {
          text += '<package type="rpm"><name>app</name><arch>x86_64</arch><version epoch="0" ver="1.' + i +
            '" rel="1"/><checksum type="sha256" pkgid="YES">' + i.toString(16).padStart(64, '0') +
            '</checksum><summary>The app, version ' + i + '</summary><location href="Packages/app-1.' + i + '.rpm"/></package>';
        }
        reader.push(Buffer.from(text));
      }
      reader.push(Buffer.from('</metadata>'));
      reader.finish();
      const list = selectStream(${keep === 'newest' ? 'newest.packages()' : 'all'}, selection);
      console.log(list.length, list.at(-1).version, newest.dropped);
    `;
    const run = (keep: 'newest' | 'all') =>
      spawnSync(
        process.execPath,
        ['--max-old-space-size=32', '--input-type=module', '-e', script(keep)],
        {
          encoding: 'utf8',
        },
      );
    const bounded = run('newest');
    expect(bounded.stderr).toBe('');
    expect(bounded.stdout.trim()).toBe('10000 1.99999 90000');
    // The same packages all kept do not fit in that heap: the bound is what makes it pass.
    const unbounded = run('all');
    expect(unbounded.status).not.toBe(0);
    expect(unbounded.stderr).toMatch(/heap out of memory|Allocation failed/);
  }, 90_000);
});
