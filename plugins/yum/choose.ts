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

/** The most versions of one name.arch stream kept while reading (the newest). */
export const MAX_KEPT_VERSIONS = 10_000;

/** The most packages kept in all, when a spec matches several streams. */
export const MAX_KEPT_PACKAGES = 20_000;

interface Kept {
  pkg: PrimaryPackage;
  evr: Evr;
  seq: number;
}

/** Older first; of equal EVRs the later seen first (as `selectStream` keeps the first seen). */
const older = (a: Kept, b: Kept) => compareEvr(a.evr, b.evr) || b.seq - a.seq;

const nevraOf = (p: PrimaryPackage) => `${p.name}-${p.epoch}:${p.version}-${p.release}.${p.arch}`;

/**
 * The packages a selection matches, as a primary.xml is read, in bounded memory however many
 * versions a name has: the newest MAX_KEPT_VERSIONS of each name.arch stream, and at most
 * MAX_KEPT_PACKAGES in all (the largest streams give up their oldest first; past that many
 * streams, further ones are not kept). What `selectStream` makes of `packages()` is what it
 * makes of every package matched, newest MAX_KEPT_VERSIONS only.
 */
export class NewestPackages {
  private readonly streams = new Map<string, Kept[]>();
  private readonly keys = new Set<string>();
  private seq = 0;
  private total = 0;
  private cap: number;
  /** Packages matched but not kept (older than what was kept). */
  dropped = 0;

  constructor(
    private readonly selection: Selection,
    private readonly limits = { versions: MAX_KEPT_VERSIONS, packages: MAX_KEPT_PACKAGES },
  ) {
    this.cap = limits.versions;
  }

  add(pkg: PrimaryPackage): void {
    if (!matchesSpec(pkg, this.selection)) return;
    const { constraint } = this.selection;
    if (constraint && !satisfies(evrOf(pkg), constraint)) return;
    const nevra = nevraOf(pkg);
    if (this.keys.has(nevra) || (pkg.checksum && this.keys.has(pkg.checksum))) return;
    const key = `${pkg.name}.${pkg.arch}`;
    let heap = this.streams.get(key);
    if (!heap) {
      if (this.streams.size >= this.limits.packages) {
        this.dropped++;
        return;
      }
      heap = [];
      this.streams.set(key, heap);
    }
    const item = { pkg, evr: evrOf(pkg), seq: this.seq++ };
    this.keys.add(nevra);
    if (pkg.checksum) this.keys.add(pkg.checksum);
    if (heap.length >= this.cap) {
      // Full: the new one is dropped at once when it is the oldest, else replaces the oldest.
      if (older(item, heap[0] as Kept) < 0) {
        this.forget(item);
        return;
      }
      this.forget(heap[0] as Kept);
      heap[0] = item;
      siftDown(heap, 0);
      return;
    }
    heapPush(heap, item);
    this.total++;
    if (this.total > this.limits.packages) this.trim();
  }

  /** What was kept, in the order it came. */
  packages(): PrimaryPackage[] {
    const kept = [...this.streams.values()].flat();
    return kept.sort((a, b) => a.seq - b.seq).map((k) => k.pkg);
  }

  private evict(heap: Kept[]): void {
    const gone = heapPop(heap);
    if (!gone) return;
    this.forget(gone);
    this.total--;
  }

  private forget(gone: Kept): void {
    this.keys.delete(nevraOf(gone.pkg));
    if (gone.pkg.checksum) this.keys.delete(gone.pkg.checksum);
    this.dropped++;
  }

  /** Lowers the per-stream cap until three quarters of MAX_KEPT_PACKAGES are kept in all. */
  private trim(): void {
    const sizes = [...this.streams.values()].map((h) => h.length).sort((a, b) => b - a);
    const budget = Math.floor((this.limits.packages * 3) / 4);
    let cap = sizes[0] ?? 1;
    const keptWith = (c: number) => sizes.reduce((sum, n) => sum + Math.min(n, c), 0);
    while (cap > 1 && keptWith(cap) > budget) cap = Math.max(1, Math.floor(cap * 0.9));
    this.cap = Math.min(this.cap, cap);
    for (const heap of this.streams.values()) while (heap.length > this.cap) this.evict(heap);
  }
}

function heapPush(heap: Kept[], item: Kept): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (older(heap[i] as Kept, heap[parent] as Kept) >= 0) break;
    [heap[i], heap[parent]] = [heap[parent] as Kept, heap[i] as Kept];
    i = parent;
  }
}

function heapPop(heap: Kept[]): Kept | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || !last) return top;
  heap[0] = last;
  siftDown(heap, 0);
  return top;
}

function siftDown(heap: Kept[], from: number): void {
  let i = from;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && older(heap[l] as Kept, heap[m] as Kept) < 0) m = l;
    if (r < heap.length && older(heap[r] as Kept, heap[m] as Kept) < 0) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m] as Kept, heap[i] as Kept];
    i = m;
  }
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
