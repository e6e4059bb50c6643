import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One package of a hand-written primary.xml. */
export interface HandmadePackage {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch?: string;
}

/**
 * primary.xml text for the packages. Each package's bytes are `<name>-<version>` (its checksum
 * and size say so), which a test writes under its location when it fetches it.
 */
export function primaryXml(packages: HandmadePackage[]): string {
  const body = packages
    .map(
      (p) => `<package type="rpm"><name>${p.name}</name><arch>${p.arch ?? 'noarch'}</arch>
<version epoch="${p.epoch ?? 0}" ver="${p.version}" rel="${p.release ?? '1'}"/>
<checksum type="sha256" pkgid="YES">${createHash('sha256').update(`${p.name}-${p.version}`).digest('hex')}</checksum>
<summary>${p.name}</summary><packager>tests</packager><url>https://example.com/${p.name}</url>
<time file="1700000000" build="1700000000"/><size package="${Buffer.byteLength(`${p.name}-${p.version}`)}" installed="1" archive="1"/>
<location href="Packages/${p.name}-${p.version}-${p.release ?? '1'}.${p.arch ?? 'noarch'}.rpm"/>
<format><rpm:sourcerpm>${p.name}-${p.version}-1.src.rpm</rpm:sourcerpm></format></package>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${packages.length}">
${body}
</metadata>
`;
}

/** Options for the primary record, to make a repository lie on purpose. */
export interface HandmadeOptions {
  /** The stored primary file (compressed or not); default gzip of `primaryXml(packages)`. */
  primaryBytes?: Buffer;
  /** Declared open-size; default the true size. */
  openSize?: number | null;
  /** Declared checksum; default the true one. */
  checksum?: string;
}

/** Writes a repository (repodata/repomd.xml + primary) into a new folder; returns the folder. */
export function handmadeRepo(packages: HandmadePackage[], options: HandmadeOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-handmade-'));
  mkdirSync(join(dir, 'repodata'));
  const xml = Buffer.from(primaryXml(packages));
  const stored = options.primaryBytes ?? gzipSync(xml);
  const sum = options.checksum ?? createHash('sha256').update(stored).digest('hex');
  const href = `repodata/${createHash('sha256').update(stored).digest('hex')}-primary.xml.gz`;
  writeFileSync(join(dir, href), stored);
  const openSize = options.openSize === undefined ? xml.length : options.openSize;
  writeFileSync(
    join(dir, 'repodata', 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>
<data type="primary"><checksum type="sha256">${sum}</checksum><location href="${href}"/>
<timestamp>1700000000</timestamp><size>${stored.length}</size>${openSize === null ? '' : `<open-size>${openSize}</open-size>`}</data>
</repomd>
`,
  );
  return dir;
}
