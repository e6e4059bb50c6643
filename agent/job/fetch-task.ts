import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  HoistError,
  type HttpClient,
  type HttpResponse,
  RepositoryAuthError,
  RepositoryUnreachableError,
} from 'hoist';
import {
  downloadCap,
  type FetchOrder,
  type FetchSpec,
  fetchDigest,
  mismatchLine,
  shownUrl,
} from './fetch-rules.ts';
import type { JobLog } from './job-log.ts';
import type { Interruption } from './task-rules.ts';

/** What a fetch task runs with: its job's folder, log, HTTP client, time limit and signal. */
export interface FetchContext {
  cwd: string;
  http: HttpClient | undefined;
  log: JobLog;
  limit: { ms: number; reason: string };
  signal: AbortSignal;
  /** What an abort of `signal` is (a cancel or a stop), and the words for it. */
  aborted(signal: AbortSignal): { kind: Interruption; why: string };
}

/** How a fetch task ended: `error` null when the package landed, verified. */
export interface FetchResult {
  error: string | null;
  interruption: Interruption | null;
}

/** Thrown while streaming when the download passes the recorded size (or the cap). */
class TooLarge extends Error {}

/**
 * Downloads the run's package to the job's folder and proves it is the recorded one: streamed
 * to a temporary file beside its place, hashed and counted as it streams, stopped at the
 * recorded size, and renamed into place only when checksum and size match. Whatever does not
 * match, or does not finish (an error, a cancel, the time limit), is deleted.
 */
export async function runFetch(spec: FetchSpec, ctx: FetchContext): Promise<FetchResult> {
  if ('refused' in spec)
    return { error: `fetch ${spec.material}: ${spec.refused}`, interruption: null };
  const fail = (error: string): FetchResult => ({ error, interruption: null });
  const algorithm = fetchDigest(spec.checksum.type);
  if (!algorithm)
    return fail(`fetch ${spec.material}: unsupported checksum type '${spec.checksum.type}'`);
  if (!ctx.http) return fail(`fetch ${spec.material}: this agent cannot make HTTP requests`);
  let target: string;
  try {
    target = await landing(ctx.cwd, spec.file);
  } catch (error) {
    return fail(`fetch ${spec.material}: ${(error as Error).message}`);
  }
  const part = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.part`);
  const stop = new AbortController();
  let interruption: FetchResult['interruption'] = null;
  let reason: string | null = null;
  const interrupt = (kind: Interruption, why: string) => {
    interruption ??= kind;
    reason ??= why;
    stop.abort();
  };
  const onAbort = () => {
    const { kind, why } = ctx.aborted(ctx.signal);
    interrupt(kind, why);
  };
  const timer = setTimeout(
    () => interrupt('timeout', ctx.limit.reason),
    Math.min(ctx.limit.ms, 2 ** 31 - 1),
  );
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  ctx.log.onFailure((why) => interrupt('log', why));
  try {
    const sizeText = spec.size === undefined ? 'size not recorded' : `${spec.size} bytes`;
    ctx.log.write(
      `hoist: fetch ${spec.material}: ${spec.revision} from ${shownUrl(spec.url)} (${sizeText}) to ${spec.file}\n`,
    );
    const fetched = await download(spec, ctx.http, part, algorithm, stop.signal);
    const mismatch = mismatchLine(spec, fetched);
    if (mismatch) {
      await rm(part, { force: true });
      return fail(mismatch);
    }
    await rename(part, target);
    ctx.log.write(
      `hoist: fetch ${spec.material}: ${fetched.bytes} bytes, ${spec.checksum.type} ${fetched.digest} OK: ${spec.file}\n`,
    );
    return { error: null, interruption: null };
  } catch (error) {
    await rm(part, { force: true }).catch(() => {});
    if (reason) return { error: reason, interruption };
    return fail(`fetch ${spec.material}: ${describe(error, spec)}`);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** The absolute path a package lands at, its folder made; refused outside the work folder. */
async function landing(cwd: string, file: string): Promise<string> {
  const root = resolve(cwd);
  const target = resolve(root, file);
  if (!target.startsWith(`${root}${sep}`))
    throw new Error(`${file} is outside the job's work folder`);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  // A link in the work folder must not carry the package out of it.
  const [realRoot, realFolder] = await Promise.all([realpath(root), realpath(dirname(target))]);
  if (realFolder !== realRoot && !realFolder.startsWith(`${realRoot}${sep}`))
    throw new Error(`${file} leads outside the job's work folder (through a link)`);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory())
    throw new Error(`${file} is a folder; name a file, or end to: with /`);
  // A file left by an earlier attempt is not proof of anything: it goes before the download.
  await rm(target, { force: true });
  return target;
}

/** Streams the body to `part`, hashing and counting; stops past the recorded size. */
async function download(
  spec: FetchOrder,
  http: HttpClient,
  part: string,
  algorithm: string,
  signal: AbortSignal,
): Promise<{ bytes: number; digest: string }> {
  const response = await http.request({
    url: spec.url,
    signal,
    ...(spec.auth ? { auth: spec.auth } : {}),
    ...(spec.tls ? { tls: spec.tls } : {}),
    ...(spec.proxy ? { proxy: spec.proxy } : {}),
    ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
  });
  await refuseStatus(response, spec);
  const hash = createHash(algorithm);
  const cap = downloadCap(spec.size);
  let bytes = 0;
  await pipeline(
    response.body,
    async function* (source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        bytes += chunk.length;
        if (bytes > cap) throw new TooLarge(String(cap));
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(part, { flags: 'wx', mode: 0o644 }),
    { signal },
  ).catch(async (error) => {
    await response.cancel().catch(() => {});
    throw error;
  });
  return { bytes, digest: hash.digest('hex') };
}

async function refuseStatus(response: HttpResponse, spec: FetchOrder): Promise<void> {
  const { status } = response;
  if (status === 200) return;
  await response.cancel();
  if (status === 401 || status === 403) {
    const hint = spec.auth ? 'refused its credentials' : 'asks for credentials';
    throw new RepositoryAuthError(
      `${shownUrl(spec.url)} answered HTTP ${status}: the repository ${hint}`,
      status,
    );
  }
  throw new RepositoryUnreachableError(`${shownUrl(spec.url)} answered HTTP ${status}`, {
    reason: 'status',
    status,
  });
}

function describe(error: unknown, spec: FetchOrder): string {
  if (error instanceof TooLarge)
    return `${shownUrl(spec.url)} is larger than ${error.message} bytes${spec.size === undefined ? ' (the limit when no size is recorded)' : ` (recorded size ${spec.size})`}: not the package the run recorded (${spec.revision}); the download was deleted`;
  if (error instanceof HoistError) return (error.message.split('\n')[0] as string).trim();
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return code && !message?.includes(code) ? `${code} ${message}` : (message ?? 'unknown error');
}
