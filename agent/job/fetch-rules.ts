import { posix } from 'node:path';
import type { TlsOptions } from 'hoist';
import { digestAlgorithm } from '../../plugins/yum/fetch.ts';
import { redact } from '../http/http-client.ts';

/**
 * A `fetch:` task as a job receives it: plain JSON, resolved by the server from the run's
 * record, so that any agent runs it with the same code. Either an order to download and verify,
 * or the reason none can be given (the task then fails with that line, in its place).
 */
export type FetchSpec = FetchOrder | FetchRefusal;

/** Download `url` to `file` (inside the job's work folder) and prove it is the recorded package. */
export interface FetchOrder {
  /** The material, `repository/package`. */
  material: string;
  /** The revision label the run recorded. */
  revision: string;
  url: string;
  /** Where it lands, relative to the job's work folder. */
  file: string;
  checksum: { type: string; value: string };
  /** The recorded size in bytes, when the revision records one. */
  size?: number;
  /** Basic auth of the repository, given only when `url` is on a configured origin. */
  auth?: { username: string; password: string };
  tls?: TlsOptions;
  proxy?: string;
  /** Give up when no byte arrives for this long (the repository's TIMEOUT). */
  timeoutMs?: number;
}

/** Why no download can be ordered (e.g. the revision records no checksum). */
export interface FetchRefusal {
  material: string;
  refused: string;
}

/** The download cap when the revision records no size: 4 GiB. */
export const DEFAULT_FETCH_LIMIT = 4 * 1024 ** 3;

/** What is wrong with a `to:` path, or null: relative, and inside the work folder. */
export function landingProblem(to: string): string | null {
  if (to === '') return 'must not be empty';
  if (to.includes('\0')) return 'must not hold a NUL character';
  if (to.startsWith('/') || /^[A-Za-z]:[\\/]/.test(to))
    return "must be a path inside the job's work folder, not an absolute path";
  const normal = posix.normalize(to);
  if (normal === '..' || normal.startsWith('../'))
    return "must stay inside the job's work folder (no '..' climbing out of it)";
  return null;
}

/**
 * Where a package lands, relative to the work folder: `to` when it names a file; the package's
 * own file name (the last segment of its URL) inside `to` when `to` ends with `/`, or in the
 * work folder when there is no `to`.
 * @throws Error when `to` escapes the work folder or the URL names no file
 */
export function landingPath(to: string | undefined, url: string): string {
  if (to !== undefined) {
    const problem = landingProblem(to);
    if (problem) throw new Error(`to: ${problem}`);
  }
  const folder = to === undefined || to.endsWith('/') || posix.normalize(to) === '.';
  if (!folder) return posix.normalize(to as string);
  const name = fileNameOf(url);
  return posix.normalize(posix.join(to ?? '.', name));
}

/** The last segment of a URL's path, decoded: the package's file name. */
export function fileNameOf(url: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    segment = '';
  }
  if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment))
    throw new Error(`${url} names no file; give the file a name with to:`);
  return segment;
}

/** Node's hash name of a recorded checksum type (sha256, sha1, sha512, md5, …), or undefined. */
export function fetchDigest(type: string): string | undefined {
  return digestAlgorithm(type);
}

/**
 * The most bytes a download may bring: the recorded size with some slack (an eighth, at least
 * 1 MiB), so that a file that is a little larger is read whole and its checksum said; else the
 * default cap. A file past that is stopped where it passes.
 */
export function downloadCap(size: number | undefined): number {
  if (size === undefined) return DEFAULT_FETCH_LIMIT;
  return size + Math.max(Math.ceil(size / 8), 1 << 20);
}

/** A URL as logs and errors show it: without user info, as the HTTP client's messages do. */
export const shownUrl = redact;

/** What the download brought. */
export interface Fetched {
  bytes: number;
  digest: string;
}

/**
 * The one line of a download that is not the recorded package, or null when it is: the
 * material, the expected and actual checksum and size.
 */
export function mismatchLine(order: FetchOrder, got: Fetched): string | null {
  const sumOk = got.digest === order.checksum.value.toLowerCase();
  const sizeOk = order.size === undefined || got.bytes === order.size;
  if (sumOk && sizeOk) return null;
  const type = order.checksum.type;
  const parts = [
    sumOk
      ? `${type} ${got.digest} as recorded`
      : `${type} expected ${order.checksum.value}, got ${got.digest}`,
    order.size === undefined
      ? `${got.bytes} bytes (no size recorded)`
      : sizeOk
        ? `${got.bytes} bytes as recorded`
        : `size expected ${order.size} bytes, got ${got.bytes}`,
  ];
  return `fetch ${order.material}: ${shownUrl(order.url)} is not the package the run recorded (${order.revision}): ${parts.join('; ')}; the download was deleted`;
}
