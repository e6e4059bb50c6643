import { PackageAmbiguousError, type Revision } from 'hoist';
import { type ConstraintClause, satisfies } from './constraint.ts';
import type { AptPackage } from './packages.ts';
import { compareDebVersions, type DebVersion, parseDebVersion } from './version.ts';

/** A package with its parsed version. */
export interface Candidate {
  pkg: AptPackage;
  version: DebVersion;
}

/** What narrows the packages of a repository. */
export interface Selection {
  /** PACKAGE as a pattern. */
  name: RegExp;
  /** ARCH in order: the first architecture is the native one; `all` joins every stream. */
  arches: readonly string[];
  constraint: readonly ConstraintClause[] | undefined;
}

/** Does the package pass the name, architecture and constraint filters? */
export function matches(c: Candidate, selection: Selection): boolean {
  if (!selection.name.test(c.pkg.name)) return false;
  if (!selection.arches.includes(c.pkg.arch)) return false;
  return !selection.constraint || satisfies(c.version, selection.constraint);
}

/**
 * The versions of the one package the selection names, oldest first, as apt sees them: the
 * native architecture's packages plus the `Architecture: all` ones (apt files `all` under the
 * native architecture), else those of the first other architecture that has the name. A version listed
 * more than once (several components, several indexes) counts once, as first listed: apt
 * downloads it from the first source that lists it.
 * @throws PackageAmbiguousError when several names match.
 */
export function selectStream(candidates: readonly Candidate[], selection: Selection): Candidate[] {
  const kept = candidates.filter((c) => matches(c, selection));
  const names = [...new Set(kept.map((c) => c.pkg.name))].sort();
  if (names.length > 1) {
    const shown =
      names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
    throw new PackageAmbiguousError(
      `Package '${selection.name.source.slice(1, -1)}' matches more than one package: ${shown}. Narrow it with a fuller name, e.g. '${names[0]}'.`,
    );
  }
  const stream = archStream(kept, selection.arches);
  const seen = new Set<string>();
  const unique = stream.filter((c) => {
    const key = `${c.pkg.version}\u0000${c.pkg.arch}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // A stable sort: of equal versions (1.0 and 1.0-0) the first listed stays first.
  return unique.sort((a, b) => compareDebVersions(a.version, b.version));
}

/**
 * As apt reads `name`: the native architecture (the first of ARCH) with `all` when the name has
 * either; else the first other architecture that has it (as apt then takes `name:arch`).
 */
function archStream(kept: readonly Candidate[], arches: readonly string[]): Candidate[] {
  const native = arches[0] === 'all' ? undefined : arches[0];
  const nativeOrAll = kept.filter((c) => c.pkg.arch === native || c.pkg.arch === 'all');
  if (nativeOrAll.length > 0) return nativeOrAll;
  const foreign = arches.find((a) => kept.some((c) => c.pkg.arch === a));
  return kept.filter((c) => c.pkg.arch === foreign);
}

/** The revision label: `name_version_arch`, as Debian names package files (epoch kept). */
export function revisionLabel(pkg: AptPackage): string {
  return `${pkg.name}_${pkg.version}_${pkg.arch}`;
}

/** The version a stored revision stands for (its data, else its label). */
export function previousVersion(previous: {
  revision: string;
  data: Record<string, string>;
}): DebVersion {
  const fromLabel = previous.revision.split('_')[1];
  return parseDebVersion(previous.data.VERSION || fromLabel || '0');
}

/** Versions of the stream newer than `since`, oldest first. */
export function newerThan(stream: readonly Candidate[], since: DebVersion): Candidate[] {
  return stream.filter((c) => compareDebVersions(c.version, since) > 0);
}

/** Absolute URL of a package file: `Filename` under the repository root. */
export function packageUrl(pkg: AptPackage, root: string): string {
  return new URL(pkg.filename.replace(/^\/+/, ''), root.endsWith('/') ? root : `${root}/`).href;
}

/** The revision a package is reported as; `published` is when the index was published. */
export function toRevision(pkg: AptPackage, root: string, published: string): Revision {
  const revision: Revision = {
    revision: revisionLabel(pkg),
    timestamp: published,
    data: {
      NAME: pkg.name,
      VERSION: pkg.version,
      ARCH: pkg.arch,
      LOCATION: packageUrl(pkg, root),
      SHA256: pkg.sha256,
      SIZE: String(pkg.size),
      MAINTAINER: pkg.maintainer,
      SOURCE: pkg.source,
      SECTION: pkg.section,
    },
  };
  if (pkg.maintainer) revision.user = pkg.maintainer;
  if (pkg.summary) revision.comment = pkg.summary;
  if (pkg.homepage) revision.trackbackUrl = pkg.homepage;
  return revision;
}
