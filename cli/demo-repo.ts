import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The demo's package name. */
export const DEMO_PACKAGE = 'hoist-demo-app';

/**
 * A small yum repository for `hoist demo`, written by Hoist itself so that the demo needs no
 * network and no rpm tools: `Packages/` holds one small file per version (standing in for the
 * rpm; its sha256 is the package checksum, so a job can check it byte for byte) and
 * `repodata/` the repomd.xml and gzip primary.xml that describe them, as createrepo_c lays them
 * out. A few KB in all.
 */
export function writeDemoRepo(dir: string, versions: readonly string[]): void {
  mkdirSync(join(dir, 'Packages'), { recursive: true });
  const entries = versions.map((version, i) => {
    const href = `Packages/${DEMO_PACKAGE}-${version}-1.noarch.rpm`;
    const body = Buffer.from(
      `${DEMO_PACKAGE} ${version}: the same bytes from build to production\n`,
    );
    writeFileSync(join(dir, href), body);
    const time = 1_767_225_600 + i * 86_400;
    return `<package type="rpm"><name>${DEMO_PACKAGE}</name><arch>noarch</arch>
<version epoch="0" ver="${version}" rel="1"/>
<checksum type="sha256" pkgid="YES">${sha256(body)}</checksum>
<summary>The demo application</summary><description>Published by hoist demo.</description>
<packager>Demo Release Team</packager><url>https://example.invalid/hoist-demo-app</url>
<time file="${time}" build="${time}"/><size package="${body.length}" installed="${body.length}" archive="${body.length}"/>
<location href="${href}"/>
<format><rpm:license>Apache-2.0</rpm:license><rpm:sourcerpm>${DEMO_PACKAGE}-${version}-1.src.rpm</rpm:sourcerpm></format></package>`;
  });
  const xml = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${versions.length}">
${entries.join('\n')}
</metadata>
`);
  const gz = gzipSync(xml);
  // A server may read the repository meanwhile: the new primary is written beside the old one,
  // then repomd.xml is replaced in one rename, then the old primary goes.
  const repodata = join(dir, 'repodata');
  mkdirSync(repodata, { recursive: true });
  const href = `repodata/${sha256(gz)}-primary.xml.gz`;
  writeFileSync(join(dir, href), gz);
  const repomd = join(repodata, 'repomd.xml');
  writeFileSync(
    `${repomd}.tmp`,
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>${versions.length}</revision>
<data type="primary"><checksum type="sha256">${sha256(gz)}</checksum><open-checksum type="sha256">${sha256(xml)}</open-checksum>
<location href="${href}"/><timestamp>${Math.floor(Date.now() / 1000)}</timestamp><size>${gz.length}</size><open-size>${xml.length}</open-size></data>
</repomd>
`,
  );
  renameSync(`${repomd}.tmp`, repomd);
  for (const name of readdirSync(repodata)) {
    if (name.endsWith('-primary.xml.gz') && `repodata/${name}` !== href)
      rmSync(join(repodata, name), { force: true });
  }
}

/** The versions the demo repository holds, oldest first. */
export function demoVersions(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, 'Packages'));
  } catch {
    return [];
  }
  const prefix = `${DEMO_PACKAGE}-`;
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith('-1.noarch.rpm'))
    .map((n) => n.slice(prefix.length, -'-1.noarch.rpm'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The version after the newest: 1.0 → 1.1 → 1.2. */
export function nextVersion(versions: readonly string[]): string {
  const last = versions.at(-1);
  if (!last) return '1.0';
  const [major, minor] = last.split('.').map(Number);
  return `${major ?? 1}.${(minor ?? 0) + 1}`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The token the demo server generated for its admin, from its data folder. */
export function demoToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
