import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './tools.ts';

/** `dpkg --compare-versions` on each pair (-1, 0 or 1; NaN when dpkg refuses a version), in one shell. */
export function dpkgCompare(pairs: [string, string][]): number[] {
  requireTool('dpkg', 'Debian package dpkg');
  const script = `
while IFS=' ' read -r a b; do
  if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1
  elif dpkg --compare-versions "$a" gt "$b" 2>/dev/null; then echo 1
  elif [ $? -eq 1 ]; then echo 0
  else echo error; fi
done`;
  const stdout = execFileSync('bash', ['-c', script], {
    input: `${pairs.map(([a, b]) => `${a} ${b}`).join('\n')}\n`,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return stdout.trim().split('\n').map(Number);
}

const run = promisify(execFile);

/** A binary package to build with dpkg-deb. */
export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  /** Component of a distribution repository (default main). */
  component?: string;
  maintainer?: string;
  homepage?: string;
  description?: string;
  /** Bytes of a file shipped in the package: different payloads make different .debs. */
  payload?: string;
}

/** Builds a .deb with dpkg-deb into `dir`; returns its file name. */
export async function buildDeb(dir: string, p: DebSpec): Promise<string> {
  requireTool('dpkg-deb', 'Debian package dpkg');
  mkdirSync(dir, { recursive: true });
  const top = mkdtempSync(join(tmpdir(), 'hoist-deb-'));
  try {
    const arch = p.arch ?? 'all';
    mkdirSync(join(top, 'DEBIAN'));
    mkdirSync(join(top, 'usr/share', p.name), { recursive: true });
    writeFileSync(join(top, 'usr/share', p.name, 'payload'), p.payload ?? `${p.name} ${p.version}`);
    const control = [
      `Package: ${p.name}`,
      `Version: ${p.version}`,
      `Architecture: ${arch}`,
      `Maintainer: ${p.maintainer ?? 'Test Maintainer <test@example.org>'}`,
      'Section: utils',
      'Priority: optional',
      ...(p.homepage ? [`Homepage: ${p.homepage}`] : []),
      `Description: ${p.description ?? `Test package ${p.name}`}`,
      ' Built for the Hoist apt tests.',
      '',
    ].join('\n');
    writeFileSync(join(top, 'DEBIAN/control'), control);
    const file = `${p.name}_${p.version.replace(/^\d+:/, '')}_${arch}.deb`;
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', top, join(dir, file)]);
    return file;
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

/** A throw-away OpenPGP signing key in its own GnuPG home. */
export interface SigningKey {
  home: string;
  /** The public key, ASCII-armored. */
  armored: string;
  close(): Promise<void>;
}

/** Makes an ed25519 signing key with gpg (no passphrase). */
export async function makeSigningKey(name = 'Hoist Test Archive'): Promise<SigningKey> {
  requireTool('gpg', 'Debian package gpg');
  const home = mkdtempSync(join(tmpdir(), 'hoist-gpg-'));
  chmodSync(home, 0o700);
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--quiet', ...args]);
  await gpg(
    '--passphrase',
    '',
    '--quick-gen-key',
    `${name} <archive@example.org>`,
    'ed25519',
    'sign',
    'never',
  );
  const { stdout } = await gpg('--export', '--armor');
  return {
    home,
    armored: stdout,
    close: async () => {
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Options of a repository written by `writeDistRepo`. */
export interface DistRepoOptions {
  distribution: string;
  architectures: string[];
  /** Index compressions to publish (the plain Packages is removed unless '' is listed). */
  compressions: ('xz' | 'gz' | 'zst' | 'bz2' | '')[];
  /** Signs InRelease and Release.gpg with this key. */
  key?: SigningKey;
  acquireByHash?: boolean;
}

/**
 * Writes a distribution repository as Debian tools do: .debs under pool/<component>/, indexes
 * by `apt-ftparchive packages`, the Release by `apt-ftparchive release`, signed with gpg.
 */
export async function writeDistRepo(root: string, debs: DebSpec[], options: DistRepoOptions) {
  requireTool('apt-ftparchive', 'Debian package apt-utils');
  const components = [...new Set(debs.map((d) => d.component ?? 'main'))];
  for (const deb of debs) await buildDeb(join(root, 'pool', deb.component ?? 'main'), deb);
  const dist = join(root, 'dists', options.distribution);
  for (const component of components) {
    for (const arch of options.architectures) {
      const folder = join(dist, component, `binary-${arch}`);
      mkdirSync(folder, { recursive: true });
      const { stdout } = await run(
        'apt-ftparchive',
        ['--arch', arch, 'packages', `pool/${component}`],
        {
          cwd: root,
          maxBuffer: 256 << 20,
        },
      );
      writeFileSync(join(folder, 'Packages'), stdout);
      await compressIndex(folder, options.compressions, options.acquireByHash);
    }
  }
  await writeRelease(dist, {
    Codename: options.distribution,
    Suite: options.distribution,
    Components: components.join(' '),
    Architectures: options.architectures.join(' '),
    ...(options.acquireByHash ? { 'Acquire-By-Hash': 'yes' } : {}),
  });
  if (!options.compressions.includes('')) removePlainIndexes(dist);
  if (options.key) await sign(dist, options.key);
  return { components };
}

/** Writes a flat repository (`deb URL ./`): .debs, Packages and Release at the root. */
export async function writeFlatRepo(
  root: string,
  debs: DebSpec[],
  options: { key?: SigningKey; release?: boolean },
) {
  requireTool('apt-ftparchive', 'Debian package apt-utils');
  for (const deb of debs) await buildDeb(root, deb);
  const { stdout } = await run('apt-ftparchive', ['packages', '.'], {
    cwd: root,
    maxBuffer: 256 << 20,
  });
  writeFileSync(join(root, 'Packages'), stdout);
  await compressIndex(root, ['gz', '']);
  if (options.release !== false) await writeRelease(root, {});
  if (options.key) await sign(root, options.key);
}

async function compressIndex(folder: string, compressions: string[], byHash = false) {
  const plain = join(folder, 'Packages');
  if (compressions.includes('xz'))
    await run('sh', ['-c', `xz -k -9 -c '${plain}' > '${plain}.xz'`]);
  if (compressions.includes('gz'))
    await run('sh', ['-c', `gzip -9 -n -c '${plain}' > '${plain}.gz'`]);
  if (compressions.includes('zst'))
    await run('sh', ['-c', `zstd -q -19 -c '${plain}' > '${plain}.zst'`]);
  if (compressions.includes('bz2'))
    await run('sh', ['-c', `bzip2 -9 -c '${plain}' > '${plain}.bz2'`]);
  if (byHash) {
    for (const type of ['SHA256', 'SHA512']) {
      const hashDir = join(folder, 'by-hash', type);
      mkdirSync(hashDir, { recursive: true });
      for (const name of readdirSync(folder).filter((n) => n.startsWith('Packages'))) {
        const bytes = readFileSync(join(folder, name));
        writeFileSync(
          join(hashDir, createHash(type.toLowerCase()).update(bytes).digest('hex')),
          bytes,
        );
      }
    }
  }
}

/** Debian lists the plain index in the Release (apt needs it there) but publishes only compressed ones. */
function removePlainIndexes(folder: string) {
  for (const name of readdirSync(folder, { recursive: true }) as string[]) {
    if (name === 'Packages' || name.endsWith('/Packages')) rmSync(join(folder, name));
  }
}

async function writeRelease(folder: string, fields: Record<string, string>) {
  const args = Object.entries(fields).flatMap(([k, v]) => [
    '-o',
    `APT::FTPArchive::Release::${k}=${v}`,
  ]);
  const { stdout } = await run('apt-ftparchive', [...args, 'release', '.'], { cwd: folder });
  writeFileSync(join(folder, 'Release'), stdout);
}

/** Signs a Release: InRelease (clear-signed) and Release.gpg (detached, armored). */
export async function sign(folder: string, key: SigningKey) {
  const gpg = (...args: string[]) =>
    run('gpg', ['--homedir', key.home, '--batch', '--yes', '--quiet', ...args], { cwd: folder });
  await gpg('--clearsign', '-o', 'InRelease', 'Release');
  await gpg('--detach-sign', '--armor', '-o', 'Release.gpg', 'Release');
}

/** What apt itself answers for a package, with a private configuration (no system state). */
export interface AptAnswer {
  candidate: string | undefined;
  /** From `apt-get download --print-uris`. */
  uri: string | undefined;
  /** The strongest hash apt prints, e.g. `SHA512:…`. */
  hash: string | undefined;
}

/**
 * A private apt: its own sources.list, lists, status and keyring under a temporary folder,
 * `APT_CONFIG` pointing at an empty file so that no system configuration applies.
 */
export class PrivateApt {
  readonly dir = mkdtempSync(join(tmpdir(), 'hoist-apt-'));

  constructor(
    sourceLine: string,
    private readonly arches: string[] = ['amd64'],
  ) {
    requireTool('apt-get', 'Debian package apt');
    for (const sub of [
      'etc/apt/apt.conf.d',
      'etc/apt/preferences.d',
      'etc/apt/sources.list.d',
      'etc/apt/trusted.gpg.d',
      'var/lib/dpkg',
      'var/lib/apt/lists/partial',
      'var/cache/apt/archives/partial',
      'var/log/apt',
    ])
      mkdirSync(join(this.dir, sub), { recursive: true });
    writeFileSync(join(this.dir, 'var/lib/dpkg/status'), '');
    writeFileSync(join(this.dir, 'etc/apt/sources.list'), `${sourceLine}\n`);
    writeFileSync(join(this.dir, 'apt.conf'), '');
  }

  private options(): string[] {
    const d = this.dir;
    return [
      '-o',
      `Dir=${d}/`,
      '-o',
      `Dir::State::status=${d}/var/lib/dpkg/status`,
      '-o',
      `Dir::Etc::sourcelist=${d}/etc/apt/sources.list`,
      '-o',
      `Dir::Etc::sourceparts=${d}/etc/apt/sources.list.d`,
      '-o',
      `Dir::Etc::trustedparts=${d}/etc/apt/trusted.gpg.d`,
      '-o',
      `APT::Architecture=${this.arches[0]}`,
      '-o',
      `APT::Architectures=${this.arches.join(',')}`,
      '-o',
      'APT::Sandbox::User=root',
      '-o',
      'Debug::NoLocking=1',
      '-o',
      'Acquire::Languages=none',
    ];
  }

  async apt(command: 'apt-get' | 'apt-cache', args: string[]) {
    return run(command, [...this.options(), ...args], {
      env: { ...process.env, APT_CONFIG: join(this.dir, 'apt.conf'), LC_ALL: 'C' },
      maxBuffer: 64 << 20,
    });
  }

  /** `apt-get update`; throws with apt's output when it fails or warns. */
  async update(): Promise<string> {
    const { stdout, stderr } = await this.apt('apt-get', ['-q', 'update']);
    return `${stdout}${stderr}`;
  }

  async answer(pkg: string): Promise<AptAnswer> {
    const policy = (await this.apt('apt-cache', ['policy', pkg])).stdout;
    const candidate = /Candidate: (\S+)/.exec(policy)?.[1];
    if (!candidate || candidate === '(none)')
      return { candidate: undefined, uri: undefined, hash: undefined };
    const { stdout } = await this.apt('apt-get', ['download', '--print-uris', pkg]);
    const match = /^'([^']+)' \S+ \d+ (\S+)/m.exec(stdout);
    return { candidate, uri: match?.[1], hash: match?.[2] };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
