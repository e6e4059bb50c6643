import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { requireTool } from './tools.ts';

const run = promisify(execFile);

/** A package to build. */
export interface RpmSpec {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch?: string;
  summary?: string;
  packager?: string;
  url?: string;
}

/** Builds real rpms with rpmbuild into `dir` (created if needed); returns their file names. */
export async function buildRpms(dir: string, packages: RpmSpec[]): Promise<string[]> {
  requireTool('rpmbuild', 'Debian package rpm');
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  // Two at a time: this machine has two cores.
  for (let i = 0; i < packages.length; i += 2) {
    names.push(...(await Promise.all(packages.slice(i, i + 2).map((p) => buildRpm(dir, p)))));
  }
  return names;
}

async function buildRpm(dir: string, p: RpmSpec): Promise<string> {
  const top = mkdtempSync(join(tmpdir(), 'hoist-rpmbuild-'));
  try {
    const arch = p.arch ?? 'noarch';
    const spec = [
      `Name: ${p.name}`,
      `Version: ${p.version}`,
      `Release: ${p.release ?? '1'}`,
      ...(p.epoch === undefined ? [] : [`Epoch: ${p.epoch}`]),
      `Summary: ${p.summary ?? `Test package ${p.name}`}`,
      'License: MIT',
      ...(p.url ? [`URL: ${p.url}`] : []),
      ...(p.packager ? [`Packager: ${p.packager}`] : []),
      `BuildArch: ${arch}`,
      '%description',
      `Test package ${p.name}.`,
      '%files',
      '',
    ].join('\n');
    const specFile = join(top, `${p.name}.spec`);
    writeFileSync(specFile, spec);
    await run('rpmbuild', [
      '-bb',
      '--quiet',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_rpmdir ${top}/out`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      '--define',
      '__os_install_post %{nil}',
      ...(arch !== 'noarch' ? ['--target', arch] : []),
      specFile,
    ]);
    const [built] = readdirSync(join(top, 'out'));
    if (!built) throw new Error(`rpmbuild made no package for ${p.name}`);
    renameSync(join(top, 'out', built), join(dir, built));
    return built;
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

/** Compressions createrepo_c can write for primary.xml. */
export type RepoCompression = 'gz' | 'zstd' | 'xz' | 'bz2';

/**
 * Runs createrepo_c over `dir` (again after adding packages: it rewrites repodata). Debian's
 * createrepo_c predates zstd, so a zstd repository is written with gzip and its primary then
 * recompressed by the zstd tool, with repomd.xml updated as createrepo_c >= 1.0 would write it.
 */
export async function createrepo(dir: string, compression: RepoCompression = 'gz'): Promise<void> {
  requireTool('createrepo_c', 'Debian package createrepo-c');
  const native = compression === 'zstd' ? 'gz' : compression;
  await run('createrepo_c', ['--quiet', `--general-compress-type=${native}`, '--no-database', dir]);
  if (compression === 'zstd') await recompressPrimaryWithZstd(dir);
}

async function recompressPrimaryWithZstd(dir: string): Promise<void> {
  requireTool('zstd', 'Debian package zstd');
  const repomdPath = join(dir, 'repodata', 'repomd.xml');
  const repomd = readFileSync(repomdPath, 'utf8');
  const record = /<data type="primary">[\s\S]*?<\/data>/.exec(repomd)?.[0];
  const href = record && /<location href="([^"]+)"/.exec(record)?.[1];
  if (!record || !href) throw new Error(`no primary record in ${repomdPath}`);
  const xml = gunzipSync(readFileSync(join(dir, href)));
  const plain = join(dir, 'repodata', 'primary.xml');
  writeFileSync(plain, xml);
  await run('zstd', ['-q', '-f', '-10', '--rm', plain, '-o', `${plain}.zst`]);
  const bytes = readFileSync(`${plain}.zst`);
  const sum = createHash('sha256').update(bytes).digest('hex');
  const newHref = `repodata/${sum}-primary.xml.zst`;
  renameSync(`${plain}.zst`, join(dir, newHref));
  rmSync(join(dir, href));
  const updated = record
    .replace(
      /<checksum type="sha256">[0-9a-f]+<\/checksum>/,
      `<checksum type="sha256">${sum}</checksum>`,
    )
    .replace(/<location href="[^"]+"/, `<location href="${newHref}"`)
    .replace(/<size>\d+<\/size>/, `<size>${bytes.length}</size>`);
  writeFileSync(repomdPath, repomd.replace(record, updated));
}

/** A fresh folder for a test repository. */
export function tempRepoDir(prefix = 'hoist-repo-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * `dnf repoquery --latest-limit=1` on a repository, as NEVRA lines (`name-epoch:ver-rel.arch`):
 * the oracle for "newest".
 */
export async function dnfLatest(
  repoUrl: string,
  spec: string,
  extra: string[] = [],
): Promise<string[]> {
  requireTool('dnf', 'Debian package dnf');
  const root = mkdtempSync(join(tmpdir(), 'hoist-dnf-'));
  try {
    const id = `r${Math.random().toString(36).slice(2, 10)}`;
    const { stdout } = await run(
      'dnf',
      [
        '-q',
        `--installroot=${root}`,
        `--setopt=cachedir=${root}/cache`,
        '--setopt=reposdir=/dev/null',
        '--disablerepo=*',
        `--repofrompath=${id},${repoUrl}`,
        `--enablerepo=${id}`,
        `--setopt=${id}.gpgcheck=0`,
        '--releasever=9',
        '--forcearch=x86_64',
        ...extra,
        'repoquery',
        '--latest-limit=1',
        '--qf',
        '%{name}-%{epoch}:%{version}-%{release}.%{arch}',
        spec,
      ],
      { maxBuffer: 64 << 20 },
    );
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^\S+-\d+:\S+$/.test(l));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
