/**
 * rpm's version ordering, ported from rpm's rpmio/rpmvercmp.cc and rpmver.cc.
 * @see https://github.com/rpm-software-management/rpm/blob/master/rpmio/rpmvercmp.cc
 */

/** An epoch:version-release triple. A missing epoch is 0; a missing release sorts lowest. */
export interface Evr {
  epoch: string;
  version: string;
  release?: string | undefined;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

/**
 * Compares two version (or release) strings as rpm does: -1, 0 or 1. Digit runs compare
 * numerically (leading zeros ignored), letter runs byte-wise, digits beat letters, `~` sorts
 * before anything (even the end), `^` after the end but before anything else, and every other
 * character is a separator whose kind and count do not matter.
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const la = a.length;
  const lb = b.length;
  while (i < la || j < lb) {
    while (
      i < la &&
      !isAlpha(a.charCodeAt(i)) &&
      !isDigit(a.charCodeAt(i)) &&
      a.charCodeAt(i) !== TILDE &&
      a.charCodeAt(i) !== CARET
    )
      i++;
    while (
      j < lb &&
      !isAlpha(b.charCodeAt(j)) &&
      !isDigit(b.charCodeAt(j)) &&
      b.charCodeAt(j) !== TILDE &&
      b.charCodeAt(j) !== CARET
    )
      j++;

    // Tilde: the side that has one is older, even against the end of the other string.
    const ta = i < la && a.charCodeAt(i) === TILDE;
    const tb = j < lb && b.charCodeAt(j) === TILDE;
    if (ta || tb) {
      if (!ta) return 1;
      if (!tb) return -1;
      i++;
      j++;
      continue;
    }

    // Caret: newer than the end of the other string, older than anything else there.
    const ca = i < la && a.charCodeAt(i) === CARET;
    const cb = j < lb && b.charCodeAt(j) === CARET;
    if (ca || cb) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (!ca) return 1;
      if (!cb) return -1;
      i++;
      j++;
      continue;
    }

    if (!(i < la && j < lb)) break;

    const startA = i;
    const startB = j;
    const numeric = isDigit(a.charCodeAt(i));
    const inClass = numeric ? isDigit : isAlpha;
    while (i < la && inClass(a.charCodeAt(i))) i++;
    while (j < lb && inClass(b.charCodeAt(j))) j++;

    // The segments are of different kinds: a number is newer than letters.
    if (j === startB) return numeric ? 1 : -1;

    let segA = a.slice(startA, i);
    let segB = b.slice(startB, j);
    if (numeric) {
      segA = segA.replace(/^0+/, '');
      segB = segB.replace(/^0+/, '');
      if (segA.length !== segB.length) return segA.length > segB.length ? 1 : -1;
    }
    if (segA !== segB) return segA < segB ? -1 : 1;
  }
  if (i >= la && j >= lb) return 0;
  // Whichever string has characters left is newer.
  return i >= la ? -1 : 1;
}

/** Parses `[epoch:]version[-release]`; the release starts after the last `-`. */
export function parseEvr(text: string): Evr {
  let rest = text;
  let epoch = '0';
  const colon = /^(\d*):/.exec(rest);
  if (colon) {
    epoch = colon[1] || '0';
    rest = rest.slice(colon[0].length);
  }
  const dash = rest.lastIndexOf('-');
  if (dash === -1) return { epoch, version: rest };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/**
 * Compares two EVRs as `rpm.labelCompare` does: epoch numerically, then version, then release
 * with rpmvercmp; a side without a release is older than one with a release.
 */
export function compareEvr(a: Evr | string, b: Evr | string): -1 | 0 | 1 {
  const x = typeof a === 'string' ? parseEvr(a) : a;
  const y = typeof b === 'string' ? parseEvr(b) : b;
  const epochs = compareEpoch(x.epoch, y.epoch);
  if (epochs !== 0) return epochs;
  const versions = rpmvercmp(x.version, y.version);
  if (versions !== 0) return versions;
  if (x.release === undefined || y.release === undefined) {
    if (x.release === y.release) return 0;
    return x.release === undefined ? -1 : 1;
  }
  return rpmvercmp(x.release, y.release);
}

function compareEpoch(a: string, b: string): -1 | 0 | 1 {
  const x = (a || '0').replace(/^0+(?=\d)/, '');
  const y = (b || '0').replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length > y.length ? 1 : -1;
  return x === y ? 0 : x < y ? -1 : 1;
}

/** `[epoch:]version-release`, the epoch shown only when it is not 0. */
export function formatEvr(evr: Evr): string {
  const epoch = evr.epoch && evr.epoch !== '0' ? `${evr.epoch}:` : '';
  return `${epoch}${evr.version}${evr.release === undefined ? '' : `-${evr.release}`}`;
}
