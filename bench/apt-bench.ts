import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { hasCommand, type Repeated, repeat, repeatTogether } from './measure.ts';
import { random } from './synthetic-repo.ts';

/** What the generator made. */
export interface SyntheticAptRepo {
  dir: string;
  packages: number;
  openBytes: number;
  compressedBytes: number;
  probe: string;
  probeNewest: string;
  indexFile: string;
}

const PROBE = 'libbench-core';
/** The probe's versions: epochs, tildes, binNMUs; dpkg's newest is 1:0.1-1. */
const PROBE_VERSIONS = [
  '1.0-1',
  '1.1~rc1-1',
  '1.1-1',
  '1.1-1+b1',
  '1.2~beta-1',
  '1:0.1-1',
  '1.10-1',
  '1.9-1',
];
const SECTIONS = ['libs', 'utils', 'devel', 'admin', 'net', 'python', 'web', 'doc'];

/**
 * Writes a reproducible distribution `stable/main/binary-amd64` of `count` packages (about 900
 * bytes a paragraph, as in Debian's main) as Packages.xz with its Release, as Debian publishes.
 */
export function writeSyntheticAptRepo(dir: string, count: number, seed = 7): SyntheticAptRepo {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const folder = join(dir, 'dists/stable/main/binary-amd64');
  mkdirSync(folder, { recursive: true });
  const plain = join(folder, 'Packages');
  const fd = openSync(plain, 'w');
  let buffer = '';
  for (let i = 0, n = 0; i < count; n++) {
    const name =
      n === 7
        ? PROBE
        : `pkg${n.toString(36)}-${pick(['lib', 'tools', 'dev', 'common', 'server', 'doc'])}`;
    const versions =
      n === 7
        ? PROBE_VERSIONS
        : Array.from(
            { length: 1 + Math.floor(rnd() * 3) },
            (_, v) => `${1 + v}.${Math.floor(rnd() * 20)}-${1 + Math.floor(rnd() * 3)}`,
          );
    for (const version of versions) {
      if (i++ >= count) break;
      const arch = n === 7 ? 'amd64' : pick(['amd64', 'amd64', 'all']);
      const hash = createHash('sha256').update(`${name}${version}`).digest('hex');
      buffer += [
        `Package: ${name}`,
        `Version: ${version}`,
        `Installed-Size: ${Math.floor(rnd() * 9000)}`,
        `Maintainer: Bench Maintainers <bench-${n % 97}@lists.example.org>`,
        `Architecture: ${arch}`,
        `Depends: libc6 (>= 2.36), libpkg${(n + 1).toString(36)} (= ${version}), zlib1g (>= 1:1.2.0)`,
        `Description: synthetic package number ${n} for the benchmark`,
        ` This paragraph is as long as a typical Debian description, so that the`,
        ` index has the size of Debian's main: about nine hundred bytes a package.`,
        `Homepage: https://example.org/${name}`,
        `Description-md5: ${hash.slice(0, 32)}`,
        `Section: ${pick(SECTIONS)}`,
        `Priority: optional`,
        `Filename: pool/main/${name.slice(0, 1)}/${name}/${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`,
        `Size: ${1000 + Math.floor(rnd() * 900000)}`,
        `MD5sum: ${hash.slice(32)}`,
        `SHA256: ${hash}`,
        '',
        '',
      ].join('\n');
      if (buffer.length > 1 << 20) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
  }
  writeSync(fd, buffer);
  closeSync(fd);
  execFileSync('xz', ['-6', '-k', '-f', plain]);
  const entry = (file: string, path: string) => {
    const bytes = readFileSync(file);
    return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  const files = [
    entry(plain, 'main/binary-amd64/Packages'),
    entry(`${plain}.xz`, 'main/binary-amd64/Packages.xz'),
  ];
  const release = [
    'Suite: stable',
    'Codename: stable',
    `Date: ${new Date(Date.UTC(2024, 10, 9)).toUTCString()}`,
    'Architectures: amd64',
    'Components: main',
    'SHA256:',
    ...files.map((f) => ` ${f.sha256} ${f.size} ${f.path}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'dists/stable/Release'), release);
  const openBytes = statSync(plain).size;
  rmSync(plain);
  return {
    dir,
    packages: count,
    openBytes,
    compressedBytes: statSync(`${plain}.xz`).size,
    probe: PROBE,
    probeNewest: '1:0.1-1',
    indexFile: `${plain}.xz`,
  };
}

/** A fresh private apt (own lists, status and sources) and its update + policy command. */
function aptCommand(root: string, url: string, probe: string): string {
  const o = [
    `-o Dir=${root}/`,
    `-o Dir::State::status=${root}/status`,
    `-o Dir::Etc::sourcelist=${root}/sources.list`,
    `-o Dir::Etc::sourceparts=${root}/none`,
    '-o APT::Architecture=amd64 -o APT::Architectures=amd64',
    '-o APT::Sandbox::User=root -o Debug::NoLocking=1 -o Acquire::Languages=none',
  ].join(' ');
  const setup = [
    `rm -rf ${root}`,
    `mkdir -p ${root}/var/lib/apt/lists/partial ${root}/var/cache/apt/archives/partial ${root}/etc/apt/apt.conf.d ${root}/etc/apt/preferences.d`,
    `touch ${root}/status ${root}/apt.conf`,
    `echo 'deb [trusted=yes] ${url} stable main' > ${root}/sources.list`,
  ].join(' && ');
  const env = `APT_CONFIG=${root}/apt.conf`;
  return `sh -c "${setup} && ${env} apt-get -qq ${o} update && ${env} apt-cache ${o} policy ${probe}"`;
}

/** The apt section of `npm run bench`. */
export async function aptBench(
  baseUrl: string,
  cache: string,
  count: number,
  runs: number,
  hoist: string,
  say: (line?: string) => void,
): Promise<void> {
  const dir = join(cache, `apt-${count}`);
  const meta = join(dir, 'bench.json');
  let repo: SyntheticAptRepo;
  if (existsSync(meta)) repo = JSON.parse(readFileSync(meta, 'utf8')) as SyntheticAptRepo;
  else {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`generating ${count} Debian packages (xz)…\n`);
    repo = writeSyntheticAptRepo(dir, count);
    writeFileSync(meta, JSON.stringify(repo));
  }
  const url = `${baseUrl}/apt-${count}`;
  const ms = (s: number) => `${Math.round(s * 1000)} ms`;
  const mib = (v: number | undefined) => (v === undefined ? 'n/a' : `${Math.round(v)} MiB`);
  const [plain, check] = (await repeatTogether(
    [
      `xz -dc ${repo.indexFile} > /dev/null`,
      `node ${hoist} check apt+${url} stable ${repo.probe} --json`,
    ],
    runs,
  )) as [Repeated, Repeated];
  for (const out of check.outputs) {
    const version = (JSON.parse(out) as { data: { VERSION: string } }).data.VERSION;
    if (version !== repo.probeNewest)
      throw new Error(`hoist answered ${version}, expected ${repo.probeNewest}`);
  }
  let aptCell = 'not installed | | ';
  if (hasCommand('apt-get')) {
    const apt = await repeat(aptCommand(join(cache, 'apt-root'), url, repo.probe), runs);
    for (const out of apt.outputs) {
      const candidate = /Candidate: (\S+)/.exec(out)?.[1];
      if (candidate !== repo.probeNewest)
        throw new Error(`apt answered ${candidate}, expected ${repo.probeNewest}`);
    }
    aptCell = `${ms(apt.seconds)} | ${mib(apt.maxRssMib)} | ${(apt.seconds / check.seconds).toFixed(1)}x`;
  }
  say();
  say('## apt: cold check of one package, Packages.xz on loopback HTTP');
  say();
  say(
    '| repository | Packages.xz | xz -dc | hoist check | hoist / xz | hoist peak RSS | apt-get update + apt-cache policy | apt peak RSS | apt / hoist |',
  );
  say('|---|---|---|---|---|---|---|---|---|');
  say(
    `| ${count.toLocaleString('en')} packages | ${(repo.compressedBytes / 1e6).toFixed(1)} MB → ${(repo.openBytes / 1e6).toFixed(0)} MB | ${ms(plain.seconds)} | ${ms(check.seconds)} | ${(check.seconds / plain.seconds).toFixed(2)}x | ${mib(check.maxRssMib)} | ${aptCell} |`,
  );
}
