import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { testRuntime } from './helpers/host.ts';

/** Repositories that lie about their indexes: each must end the check with one clear error. */
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function repository(files: { index: Uint8Array; declaredSize?: number; plainSize?: number }) {
  const root = mkdtempSync(join(tmpdir(), 'hoist-apt-hostile-'));
  const folder = join(root, 'dists/stable/main/binary-amd64');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'Packages.gz'), files.index);
  const lines = [
    ` ${sha256(files.index)} ${files.declaredSize ?? files.index.length} main/binary-amd64/Packages.gz`,
  ];
  if (files.plainSize !== undefined)
    lines.push(` ${'0'.repeat(64)} ${files.plainSize} main/binary-amd64/Packages`);
  writeFileSync(
    join(root, 'dists/stable/Release'),
    `Suite: stable\nSHA256:\n${lines.join('\n')}\n`,
  );
  return root;
}

describe('apt plugin against hostile repositories', () => {
  const runtime = testRuntime();
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
    await runtime.close();
  });
  const check = (root: string) => {
    roots.push(root);
    return runtime.host
      .latestRevision(
        'apt',
        { REPO_URL: pathToFileURL(root).href, DISTRIBUTION: 'stable' },
        { PACKAGE: 'a' },
      )
      .catch((e: Error) => e);
  };
  const paragraph = 'Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a_1_all.deb\n\n';

  it('refuses an index that inflates past the plain size the Release declares', async () => {
    const index = gzipSync(paragraph.repeat(200_000));
    const error = await check(repository({ index, plainSize: 1000 }));
    expect(String(error)).toMatch(
      /Packages\.gz inflates past \d+ bytes \(declared open-size 1000\); refused as a decompression bomb/,
    );
  });

  it('refuses an index larger than the Release declares', async () => {
    // Well-formed text that compresses poorly: random hex in a field of its own.
    const index = gzipSync(`${paragraph.trim()}\nX-Pad: ${randomBytes(3 << 20).toString('hex')}\n`);
    const error = await check(repository({ index, declaredSize: 100 }));
    expect(String(error)).toMatch(/Packages\.gz is larger than \d+ bytes; download refused/);
  });

  it('refuses a malformed index and a Release without strong hashes', async () => {
    const broken = await check(repository({ index: gzipSync('Package: a\nnot a field\n') }));
    expect(String(broken)).toMatch(/Packages\.gz is malformed: line 2: not a 'Field: value' line/);
    const root = mkdtempSync(join(tmpdir(), 'hoist-apt-hostile-'));
    mkdirSync(join(root, 'dists/stable/main/binary-amd64'), { recursive: true });
    writeFileSync(
      join(root, 'dists/stable/Release'),
      `MD5Sum:\n ${'0'.repeat(32)} 10 main/binary-amd64/Packages.gz\n`,
    );
    expect(String(await check(root))).toMatch(/the Release gives no SHA256 or SHA512 hash of it/);
  });

  it('refuses an expired Release, as apt does', async () => {
    const root = repository({ index: gzipSync(paragraph) });
    const release = join(root, 'dists/stable/Release');
    writeFileSync(
      release,
      `Valid-Until: Sat, 01 Jan 2000 00:00:00 UTC\n${readFileSync(release, 'utf8')}`,
    );
    expect(String(await check(root))).toMatch(
      /Release expired on Sat, 01 Jan 2000 00:00:00 UTC \(Valid-Until\); the repository is not being refreshed/,
    );
  });

  it('refuses a package file outside a local repository', async () => {
    const index = gzipSync(paragraph.replace('pool/a_1_all.deb', '../../etc/passwd'));
    expect(String(await check(repository({ index })))).toMatch(/outside the repository folder/);
  });
});
