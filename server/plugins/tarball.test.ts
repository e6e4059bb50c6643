import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { installPlugin } from './packages.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-tarball-'));
  dirs.push(dir);
  return dir;
}

const MANIFEST = JSON.stringify({ id: 'big-plugin', version: '1.0.0', exec: './run.sh' });

/** A gzipped plugin tarball with a manifest, a script and files of zeros of the given sizes. */
async function tarball(sizes: number[]): Promise<string> {
  const file = join(tempDir(), 'plugin.tgz');
  const pack = tar.pack();
  const written = pipeline(pack, createGzip({ level: 1 }), createWriteStream(file));
  pack.entry({ name: 'package/hoist-plugin.json' }, MANIFEST);
  pack.entry({ name: 'package/run.sh', mode: 0o755 }, '#!/bin/sh\necho {}\n');
  for (const [i, size] of sizes.entries()) {
    const entry = pack.entry({ name: `package/data-${i}.bin`, size });
    const block = Buffer.alloc(1 << 20);
    for (let left = size; left > 0; left -= block.length) {
      const part = left >= block.length ? block : block.subarray(0, left);
      if (!entry.write(part))
        await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve) => entry.end(() => resolve()));
  }
  pack.finalize();
  await written;
  return file;
}

async function refusal(
  source: string,
  dataDir: string,
  limits?: { entryBytes: number; totalBytes: number },
) {
  try {
    await installPlugin(source, dataDir, [], limits);
  } catch (error) {
    return error as { code: string; issues: { message: string }[] };
  }
  throw new Error('installed');
}

describe('server/plugins/tarball', () => {
  it('refuses a file or a whole past its limit, leaving nothing installed', async () => {
    const dataDir = tempDir();
    const limits = { entryBytes: 4 << 20, totalBytes: 6 << 20 };
    const big = await refusal(await tarball([5 << 20]), dataDir, limits);
    expect(big.code).toBe('ERR_CONFIG_INVALID');
    expect(big.issues[0]?.message).toBe(
      "tarball entry 'package/data-0.bin' is larger than 4 MiB (the most a plugin file may be)",
    );
    const many = await refusal(await tarball([3 << 20, 3 << 20, 3 << 20]), dataDir, limits);
    expect(many.issues[0]?.message).toBe(
      'the tarball unpacks to more than 6 MiB (the most a plugin may be)',
    );
    expect(readdirSync(join(dataDir, 'plugins'))).toEqual([]);
    const fits = await installPlugin(await tarball([3 << 20]), dataDir, [], limits);
    expect(statSync(join(fits.dir, 'data-0.bin')).size).toBe(3 << 20);
    expect(existsSync(join(fits.dir, 'run.sh'))).toBe(true);
  });

  it('streams a large file to disk instead of holding it in memory', async () => {
    const size = 200 << 20;
    const source = await tarball([size]);
    const dataDir = tempDir();
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    try {
      const installed = await installPlugin(source, dataDir, []);
      expect(statSync(join(installed.dir, 'data-0.bin')).size).toBe(size);
    } finally {
      clearInterval(sampler);
    }
    // Held whole, the file alone would add 200 MiB, and twice that while it is joined.
    expect(peak - before).toBeLessThan(100 << 20);
  }, 60_000);
});
