import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** A deterministic pseudo-random generator (mulberry32), so every run builds the same bytes. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the generator made. */
export interface SyntheticRepo {
  dir: string;
  packages: number;
  openBytes: number;
  compressedBytes: number;
  compression: 'gz' | 'zstd';
  /** A name.arch stream with several versions, for the checks. */
  probe: string;
  /** The newest NEVRA of the probe, as dnf prints it. */
  probeNewest: string;
  primaryFile: string;
}

const ARCHES = ['x86_64', 'x86_64', 'x86_64', 'noarch', 'noarch', 'i686', 'aarch64'];

/**
 * Writes a reproducible repository of `count` packages (several versions per name, epochs,
 * tildes, carets, several arches; about 1.4 KB of primary.xml per package, like real
 * repositories) into `dir`, compressed with gzip or zstd by the system tools.
 */
export function writeSyntheticRepo(
  dir: string,
  count: number,
  compression: 'gz' | 'zstd',
  seed = 42,
): SyntheticRepo {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  mkdirSync(join(dir, 'repodata'), { recursive: true });
  const plain = join(dir, 'repodata', 'primary.xml');
  const fd = openSync(plain, 'w');
  let buffer = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">\n`;
  let written = 0;
  let probeNewest = '';
  const probeName = 'libbench-core';
  for (let i = 0, nameIndex = 0; i < count; nameIndex++) {
    const name =
      nameIndex === 7
        ? probeName
        : `pkg${nameIndex.toString(36)}-${pick(['lib', 'tools', 'devel', 'common', 'server', 'client'])}`;
    const arch = pick(ARCHES);
    const versions = nameIndex === 7 ? 8 : 1 + Math.floor(rnd() * 8);
    const epoch = rnd() < 0.1 ? String(1 + Math.floor(rnd() * 3)) : '0';
    for (let v = 0; v < versions && i < count; v++, i++) {
      const major = 1 + Math.floor(v / 3);
      const suffix =
        rnd() < 0.08
          ? `~rc${1 + Math.floor(rnd() * 3)}`
          : rnd() < 0.05
            ? `^${20240101 + v}git`
            : '';
      const ver = `${major}.${v % 3}.${Math.floor(rnd() * 20)}${suffix}`;
      const rel = `${1 + Math.floor(rnd() * 9)}.el9`;
      if (name === probeName) probeNewest = `${name}-${epoch}:${ver}-${rel}.${arch}`;
      buffer += packageXml(name, arch, epoch, ver, rel, rnd, i);
      if (buffer.length > 1 << 20) {
        written += writeSync(fd, buffer);
        buffer = '';
      }
    }
  }
  buffer += '</metadata>\n';
  written += writeSync(fd, buffer);
  closeSync(fd);

  const openSum = createHash('sha256').update(readFileSync(plain)).digest('hex');
  const extension = compression === 'gz' ? 'gz' : 'zst';
  if (compression === 'gz') execFileSync('gzip', ['-6', '-n', '-f', plain]);
  else execFileSync('zstd', ['-q', '-10', '-f', '--rm', plain, '-o', `${plain}.zst`]);
  const stored = readFileSync(`${plain}.${extension}`);
  const sum = createHash('sha256').update(stored).digest('hex');
  const href = `repodata/${sum}-primary.xml.${extension}`;
  renameSync(`${plain}.${extension}`, join(dir, href));
  const repomd = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>${seed}</revision>
  <data type="primary">
    <checksum type="sha256">${sum}</checksum>
    <open-checksum type="sha256">${openSum}</open-checksum>
    <location href="${href}"/>
    <timestamp>1700000000</timestamp>
    <size>${stored.length}</size>
    <open-size>${written}</open-size>
  </data>
</repomd>
`;
  const fdRepomd = openSync(join(dir, 'repodata', 'repomd.xml'), 'w');
  writeSync(fdRepomd, repomd);
  closeSync(fdRepomd);
  return {
    dir,
    packages: count,
    openBytes: written,
    compressedBytes: statSync(join(dir, href)).size,
    compression,
    probe: `${probeName}.${probeNewest.slice(probeNewest.lastIndexOf('.') + 1)}`,
    probeNewest,
    primaryFile: join(dir, href),
  };
}

function packageXml(
  name: string,
  arch: string,
  epoch: string,
  ver: string,
  rel: string,
  rnd: () => number,
  i: number,
): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const deps = (tag: string, n: number, pre: boolean) =>
    `<rpm:${tag}>${Array.from({ length: n }, (_, k) => `<rpm:entry name="lib${name}-${k}.so.${k}()(64bit)"${pre && k === 0 ? ' pre="1"' : ''}/>`).join('')}</rpm:${tag}>`;
  const build = 1600000000 + Math.floor(rnd() * 100000000);
  return `<package type="rpm">
  <name>${name}</name>
  <arch>${arch}</arch>
  <version epoch="${epoch}" ver="${ver}" rel="${rel}"/>
  <checksum type="sha256" pkgid="YES">${hex(64)}</checksum>
  <summary>Benchmark package ${name}</summary>
  <description>Gives the benchmark a primary.xml of realistic size and shape. Package number ${i}.</description>
  <packager>Hoist Bench</packager>
  <url>https://example.com/${name}</url>
  <time file="${build + 60}" build="${build}"/>
  <size package="${10000 + i}" installed="${40000 + i}" archive="${41000 + i}"/>
  <location href="Packages/${name[0]}/${name}-${ver}-${rel}.${arch}.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:vendor>Hoist</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>b${i % 17}.example.com</rpm:buildhost>
    <rpm:sourcerpm>${name}-${ver}-${rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="${20000 + i}"/>
    <rpm:provides><rpm:entry name="${name}" flags="EQ" epoch="${epoch}" ver="${ver}" rel="${rel}"/><rpm:entry name="${name}(${arch})" flags="EQ" epoch="${epoch}" ver="${ver}" rel="${rel}"/></rpm:provides>
    ${deps('requires', 5, true)}
    <file>/usr/bin/${name}</file>
  </format>
</package>
`;
}
