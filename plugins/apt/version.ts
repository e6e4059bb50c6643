/**
 * Debian package versions, `[epoch:]upstream_version[-debian_revision]`, ordered exactly as
 * dpkg orders them (lib/dpkg/version.c and parsehelp.c, ported): epochs numerically, then the
 * upstream version, then the revision, each compared by `verrevcmp` — runs of non-digits
 * character by character (`~` before everything, even the end; letters before other symbols),
 * runs of digits numerically.
 */

/** A parsed version. */
export interface DebVersion {
  epoch: number;
  upstream: string;
  /** '' when the version has no revision. */
  revision: string;
}

/** Thrown for a version dpkg refuses. */
export class DebVersionError extends Error {
  override name = 'DebVersionError';
}

const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]*$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;
const MAX_EPOCH = 2 ** 31 - 1;

/**
 * Parses a version as dpkg's `parseversion` does, refusing what it refuses. What dpkg only warns
 * about (bad characters, an upstream version that does not start with a digit) is refused with
 * `strict` (user input) and accepted otherwise, as apt accepts such versions in an index.
 */
export function parseDebVersion(text: string, options: { strict?: boolean } = {}): DebVersion {
  const value = text.trim();
  if (value === '') throw new DebVersionError('version string is empty');
  if (/\s/.test(value)) throw new DebVersionError(`version '${value}' has embedded spaces`);
  const colon = value.indexOf(':');
  let epoch = 0;
  let rest = value;
  if (colon >= 0) {
    const digits = value.slice(0, colon);
    if (digits === '') throw new DebVersionError(`epoch in version '${value}' is empty`);
    if (!/^\d+$/.test(digits))
      throw new DebVersionError(`epoch in version '${value}' is not a number`);
    epoch = Number(digits);
    if (epoch > MAX_EPOCH) throw new DebVersionError(`epoch in version '${value}' is too big`);
    rest = value.slice(colon + 1);
    if (rest === '') throw new DebVersionError(`nothing after colon in version '${value}'`);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (upstream === '') throw new DebVersionError(`version '${value}' has an empty upstream part`);
  if (hyphen >= 0 && revision === '')
    throw new DebVersionError(`version '${value}': revision number is empty`);
  if (options.strict) checkCharacters(value, upstream, revision);
  return { epoch, upstream, revision };
}

function checkCharacters(value: string, upstream: string, revision: string): void {
  if (!/^\d/.test(upstream))
    throw new DebVersionError(`version '${value}': version number does not start with digit`);
  if (!UPSTREAM_CHARS.test(upstream))
    throw new DebVersionError(`version '${value}' has an invalid character in its version number`);
  if (!REVISION_CHARS.test(revision))
    throw new DebVersionError(`version '${value}' has an invalid character in its revision`);
}

/** The version as Debian writes it (epoch only when not 0). */
export function formatDebVersion(v: DebVersion): string {
  return `${v.epoch ? `${v.epoch}:` : ''}${v.upstream}${v.revision ? `-${v.revision}` : ''}`;
}

/** dpkg's ordering: negative when a is older, 0 when equal, positive when newer. */
export function compareDebVersions(a: DebVersion, b: DebVersion): number {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  return verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
}

/** Compares two version strings (parsed first; throws DebVersionError on a bad one). */
export function compareVersionStrings(a: string, b: string): number {
  return Math.sign(compareDebVersions(parseDebVersion(a), parseDebVersion(b)));
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;

/** dpkg's `order`: the weight of a non-digit character; the end of the string weighs 0. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === TILDE) return -1;
  return c + 256;
}

/** dpkg's `verrevcmp`, on strings (a missing character reads as the end). */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const at = (s: string, k: number) => (k < s.length ? s.charCodeAt(k) : Number.NaN);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 48) i++;
    while (at(b, j) === 48) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (!firstDiff) firstDiff = at(a, i) - at(b, j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}
