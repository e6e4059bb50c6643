import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { HttpClient, HttpRequest, HttpResponse, TlsOptions } from 'hoist';
import { RepositoryUnreachableError } from 'hoist';
import type { Dispatcher } from 'undici';
import { Agent, proxyAgent, request as undiciRequest } from './undici-parts.ts';

/** Options of the host's HTTP client. */
export interface HttpClientOptions {
  /** Sent as `User-Agent`. */
  userAgent?: string;
  /** Replaces the per-TLS-setting agents; for tests with undici's MockAgent. */
  dispatcher?: Dispatcher;
  /**
   * Deadline of a whole http(s) transfer, from the request to the body's last byte, however
   * steadily bytes arrive; default 120 s (`DEFAULT_TRANSFER_TIMEOUT_MS`).
   */
  transferTimeoutMs?: number;
}

/** The host's HTTP client, with `close()` to release its connection pools. */
export interface HostHttpClient extends HttpClient {
  close(): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_TIMEOUT_MS = 30_000;
/** Default deadline of a whole transfer (a request's `timeoutMs` bounds only the time between bytes). */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_REDIRECTS = 5;

const TLS_ERROR_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);
const TIMEOUT_ERROR_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Creates the HTTP client plugins receive through their context: undici for http(s), with one
 * connection pool per TLS/proxy setting; the file system for `file:` URLs. Redirects are followed
 * by hand so that credentials never cross to another origin and nothing redirects to `file:`.
 */
export function createHttpClient(options: HttpClientOptions = {}): HostHttpClient {
  const agents = new Map<string, Dispatcher>();
  const userAgent = options.userAgent ?? 'hoist';

  function dispatcherFor(tls: TlsOptions | undefined, proxy: string | undefined): Dispatcher {
    if (options.dispatcher) return options.dispatcher;
    const key = JSON.stringify([tls?.ca, tls?.cert, tls?.key, tls?.verify ?? true, proxy]);
    let agent = agents.get(key);
    if (!agent) {
      const connect = {
        // Node replaces its trust store when `ca` is given; keep the system roots as well.
        ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
        ...(tls?.cert ? { cert: tls.cert } : {}),
        ...(tls?.key ? { key: tls.key } : {}),
        rejectUnauthorized: tls?.verify ?? true,
      };
      agent = proxy
        ? new (proxyAgent())({ uri: proxy, requestTls: connect, proxyTls: connect })
        : new Agent({ connect, keepAliveTimeout: 10_000 });
      agents.set(key, agent);
    }
    return agent;
  }

  async function requestHttp(req: HttpRequest): Promise<HttpResponse> {
    const deadline = transferDeadline(
      req.url,
      options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
      req.signal,
    );
    try {
      const response = await requestHttpWithin({ ...req, signal: deadline.signal });
      return {
        ...response,
        body: endsWith(response.body, deadline.clear),
        cancel: async () => {
          deadline.clear();
          await response.cancel();
        },
      };
    } catch (error) {
      deadline.clear();
      throw error;
    }
  }

  async function requestHttpWithin(req: HttpRequest): Promise<HttpResponse> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRedirects = req.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const dispatcher = dispatcherFor(req.tls, req.proxy);
    const origin = new URL(req.url).origin;
    let url = req.url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': userAgent, ...req.headers };
      // Credentials (basic auth, the client certificate) go only to the origin they were
      // configured for.
      const sameOrigin = new URL(url).origin === origin;
      if (req.auth && sameOrigin) {
        const token = Buffer.from(`${req.auth.username}:${req.auth.password}`).toString('base64');
        headers.authorization = `Basic ${token}`;
      }
      let res: Dispatcher.ResponseData;
      try {
        const via = sameOrigin ? dispatcher : dispatcherFor(withoutClientCert(req.tls), req.proxy);
        res = await undiciRequest(via, url, {
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers,
          signal: req.signal ?? null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (error) {
        throw networkError(error, url, req.signal);
      }
      const location = res.headers.location;
      if (REDIRECT_STATUSES.has(res.statusCode) && typeof location === 'string') {
        discard(res.body, res.statusCode, res.headers['content-length']);
        if (hop >= maxRedirects) {
          throw new RepositoryUnreachableError(
            `Too many redirects (more than ${maxRedirects}) from ${redact(req.url)}`,
            { reason: 'status', status: res.statusCode },
          );
        }
        const next = new URL(location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new RepositoryUnreachableError(
            `Refused a redirect from ${redact(url)} to a ${next.protocol} URL`,
            { reason: 'status', status: res.statusCode },
          );
        }
        url = next.href;
        continue;
      }
      const body = res.body;
      return {
        status: res.statusCode,
        headers: flattenHeaders(res.headers),
        url,
        body: wrapBody(body, url, req.signal),
        cancel: async () => discard(body, res.statusCode, res.headers['content-length']),
      };
    }
  }

  return {
    async request(req) {
      const protocol = new URL(req.url).protocol;
      if (protocol === 'file:') return requestFile(req);
      if (protocol === 'http:' || protocol === 'https:') return requestHttp(req);
      throw new RepositoryUnreachableError(
        `Unsupported URL scheme ${protocol} in ${redact(req.url)}`,
        {
          reason: 'network',
        },
      );
    },
    async close() {
      await Promise.all([...agents.values()].map((a) => a.close()));
      agents.clear();
    },
  };
}

/**
 * A signal that aborts when the caller's does, or when the transfer has taken `ms` in all, with
 * an error naming the URL and the time.
 */
function transferDeadline(url: string, ms: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new RepositoryUnreachableError(
        `The transfer of ${redact(url)} did not finish within ${formatSeconds(ms)}`,
        { reason: 'timeout' },
      ),
    );
  }, ms);
  timer.unref();
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The body, calling `done` when it ends, fails or is left. */
async function* endsWith(
  body: AsyncIterable<Uint8Array>,
  done: () => void,
): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } finally {
    done();
  }
}

async function requestFile(req: HttpRequest): Promise<HttpResponse> {
  const path = fileURLToPath(req.url);
  const empty = (status: number): HttpResponse => ({
    status,
    headers: {},
    url: req.url,
    body: (async function* () {})(),
    cancel: async () => {},
  });
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return empty(404);
    if (code === 'EACCES' || code === 'EPERM') return empty(403);
    throw new RepositoryUnreachableError(`Could not read ${path}: ${code ?? String(error)}`, {
      reason: 'network',
      cause: error,
    });
  }
  if (!info.isFile()) return empty(404);
  const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000);
  // A precise validator: Last-Modified has one-second resolution, and repositories are often
  // rewritten within a second. As in HTTP, If-None-Match wins over If-Modified-Since.
  const etag = `"${info.ino.toString(16)}-${info.size.toString(16)}-${Math.round(info.mtimeMs * 1000).toString(16)}"`;
  const headers = fileHeaders(info.size, lastModified, etag);
  const ifNoneMatch = req.headers?.['if-none-match'];
  const since = req.headers?.['if-modified-since'];
  if (
    ifNoneMatch !== undefined
      ? ifNoneMatch === etag
      : since !== undefined && lastModified.getTime() <= Date.parse(since)
  ) {
    return { ...empty(304), headers };
  }
  if (req.method === 'HEAD') return { ...empty(200), headers };
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: req.signal });
  return {
    status: 200,
    headers,
    url: req.url,
    body: stream,
    cancel: async () => void stream.destroy(),
  };
}

function withoutClientCert(tls: TlsOptions | undefined): TlsOptions | undefined {
  if (!tls?.cert && !tls?.key) return tls;
  const { cert: _cert, key: _key, ...rest } = tls;
  return rest;
}

/**
 * Drops a response body the caller does not read. One without content (304, 204, length 0) is
 * let run to its end, which keeps the connection for the next request (most checks of a quiet
 * repository end with a 304); any other is destroyed, closing its connection.
 */
function discard(
  body: Dispatcher.ResponseData['body'],
  status: number,
  length: string | string[] | undefined,
): void {
  body.on('error', () => {});
  if (status === 304 || status === 204 || length === '0') body.resume();
  else body.destroy();
}

function fileHeaders(size: number, lastModified: Date, etag: string) {
  return { 'content-length': String(size), 'last-modified': lastModified.toUTCString(), etag };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>) {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** Re-labels errors raised while the body streams (resets, body timeouts). */
async function* wrapBody(
  body: AsyncIterable<Uint8Array>,
  url: string,
  signal: AbortSignal | undefined,
): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw networkError(error, url, signal);
  }
}

function networkError(error: unknown, url: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason ?? error;
  if (error instanceof RepositoryUnreachableError) return error;
  const code = errorCode(error);
  const detail = describe(error, code);
  if (code && TIMEOUT_ERROR_CODES.has(code)) {
    return new RepositoryUnreachableError(`Timed out reaching ${redact(url)} (${detail})`, {
      reason: 'timeout',
      cause: error,
    });
  }
  if (
    code &&
    (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))
  ) {
    return new RepositoryUnreachableError(`TLS failure reaching ${redact(url)}: ${detail}`, {
      reason: 'tls',
      cause: error,
    });
  }
  return new RepositoryUnreachableError(`Could not reach ${redact(url)}: ${detail}`, {
    reason: 'network',
    cause: error,
  });
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return typeof (error as { code?: unknown })?.code === 'string'
    ? (error as { code: string }).code
    : undefined;
}

function describe(error: unknown, code: string | undefined): string {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const cause = (error as { cause?: unknown })?.cause;
  const causeMessage = cause instanceof Error ? cause.message.split('\n')[0] : undefined;
  const text = causeMessage && message === 'fetch failed' ? causeMessage : message;
  return code && !text?.includes(code) ? `${code} ${text}` : (text ?? 'unknown error');
}

/** The URL without user info, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}
