import { PackageAmbiguousError, type Revision } from 'hoist';
import { type ConstraintClause, satisfies } from './constraint.ts';
import { compareEvr, type Evr, formatEvr, parseEvr } from './evr.ts';
import { isVisible, type ModularFilter } from './modules.ts';
import type { PrimaryPackage } from './primary.ts';
import type { PackageSpec } from './spec.ts';

/** What narrows the packages a spec matches. */
export interface Selection {
  spec: PackageSpec;
  /** Architectures to consider; all but `src` when undefined. */
  arches: ReadonlySet<string> | undefined;
  constraint: readonly ConstraintClause[] | undefined;
  /** Module filter to apply; undefined keeps modular packages. */
  modular: ModularFilter | undefined;
}

const evrOf = (p: PrimaryPackage): Evr => ({
  epoch: p.epoch,
  version: p.version,
  release: p.release,
});

/** Does the package pass the spec and the arch filter (the part known while streaming)? */
export function matchesSpec(pkg: PrimaryPackage, selection: Selection): boolean {
  if (!selection.spec.matches(pkg)) return false;
  if (selection.arches) return selection.arches.has(pkg.arch);
  return pkg.arch !== 'src' || selection.spec.namesSourceArch;
}

/**
 * The packages of the one name.arch stream the spec selects, oldest first, duplicates (same
 * pkgid, or same NEVRA) folded. Empty when nothing matches.
 * @throws PackageAmbiguousError when the spec selects several streams; the message names them.
 */
export function selectStream(
  packages: readonly PrimaryPackage[],
  selection: Selection,
): PrimaryPackage[] {
  const seen = new Set<string>();
  const kept: PrimaryPackage[] = [];
  for (const pkg of packages) {
    if (!matchesSpec(pkg, selection)) continue;
    if (selection.constraint && !satisfies(evrOf(pkg), selection.constraint)) continue;
    if (selection.modular && !isVisible(selection.modular, pkg)) continue;
    const nevra = `${pkg.name}-${pkg.epoch}:${pkg.version}-${pkg.release}.${pkg.arch}`;
    if (seen.has(nevra) || (pkg.checksum && seen.has(pkg.checksum))) continue;
    seen.add(nevra);
    if (pkg.checksum) seen.add(pkg.checksum);
    kept.push(pkg);
  }
  const streams = [...new Set(kept.map((p) => `${p.name}.${p.arch}`))].sort();
  if (streams.length > 1) {
    const shown =
      streams.slice(0, 10).join(', ') +
      (streams.length > 10 ? `, … (${streams.length} in all)` : '');
    throw new PackageAmbiguousError(
      `Package spec '${selection.spec.text}' matches more than one package: ${shown}. ${narrowing(kept)}`,
    );
  }
  return kept.sort((a, b) => compareEvr(evrOf(a), evrOf(b)));
}

/** A hint that can help: another name when the names differ, an arch when only arches do. */
function narrowing(packages: readonly PrimaryPackage[]): string {
  const names = [...new Set(packages.map((p) => p.name))].sort();
  const arches = [...new Set(packages.map((p) => p.arch))].sort();
  if (names.length === 1)
    return `Narrow it with the ARCH property or a name.arch spec, e.g. '${names[0]}.${arches[0]}'.`;
  if (arches.length === 1)
    return `Narrow it with a fuller name, e.g. '${names[0]}' (the names differ; ARCH cannot tell them apart).`;
  return `Narrow it with a fuller name.arch spec, e.g. '${names[0]}.${arches[0]}'.`;
}

/** The EVR a stored revision stands for (from its data, else from its label). */
export function previousEvr(previous: { revision: string; data: Record<string, string> }): Evr {
  const { data } = previous;
  if (data.VERSION !== undefined && data.RELEASE !== undefined) {
    return { epoch: data.EPOCH || '0', version: data.VERSION, release: data.RELEASE };
  }
  // name-[epoch:]version-release.arch: read from the end, as names may hold dashes.
  const label = previous.revision.replace(/\.[^.-]+$/, '');
  const releaseDash = label.lastIndexOf('-');
  const versionDash = label.lastIndexOf('-', releaseDash - 1);
  return parseEvr(label.slice(versionDash + 1));
}

/** Packages of the stream newer than `since`, oldest first. */
export function newerThan(stream: readonly PrimaryPackage[], since: Evr): PrimaryPackage[] {
  return stream.filter((p) => compareEvr(evrOf(p), since) > 0);
}

/** The revision label: `name-[epoch:]version-release.arch`. */
export function revisionLabel(pkg: PrimaryPackage): string {
  return `${pkg.name}-${formatEvr(evrOf(pkg))}.${pkg.arch}`;
}

/** Absolute URL of the package file; honours a usable `xml:base`, never holds credentials. */
export function packageUrl(pkg: PrimaryPackage, repositoryBase: string): string {
  const root = withSlash(repositoryBase);
  if (pkg.base) {
    try {
      const base = new URL(withSlash(pkg.base));
      const rootProtocol = new URL(root).protocol;
      // A base may move packages to another server, but not from the network to local files.
      if (
        base.protocol === 'http:' ||
        base.protocol === 'https:' ||
        base.protocol === rootProtocol
      ) {
        return new URL(pkg.href, base).href;
      }
    } catch {
      // A base that is not a URL (libdnf's tests use "disagree") falls back to the repository.
    }
  }
  return new URL(pkg.href, root).href;
}

/** The revision a package is reported as. */
export function toRevision(pkg: PrimaryPackage, repositoryBase: string): Revision {
  const seconds = pkg.buildTime || pkg.fileTime;
  const revision: Revision = {
    revision: revisionLabel(pkg),
    timestamp: new Date(seconds * 1000).toISOString(),
    data: {
      NAME: pkg.name,
      EPOCH: pkg.epoch || '0',
      VERSION: pkg.version,
      RELEASE: pkg.release,
      ARCH: pkg.arch,
      LOCATION: packageUrl(pkg, repositoryBase),
      RELATIVE_PATH: pkg.href,
      CHECKSUM: pkg.checksum,
      CHECKSUM_TYPE: pkg.checksumType,
      SIZE: String(pkg.sizePackage),
      BUILD_TIME: new Date(pkg.buildTime * 1000).toISOString(),
      SOURCE_RPM: pkg.sourceRpm,
    },
  };
  if (pkg.packager) revision.user = pkg.packager;
  if (pkg.summary) revision.comment = pkg.summary;
  if (pkg.url) revision.trackbackUrl = pkg.url;
  return revision;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
