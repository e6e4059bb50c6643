import { type LookupAddress, lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import { Agent, request } from '../../agent/http/undici-parts.ts';
import { forbiddenAddress } from './address.ts';

/** What one post answered: the status, or why there was none. */
export type PostResult = { status: number } | { error: string };

/** A lookup that refuses names resolving to a forbidden address: the address connected to. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options }, (error, address, family) => {
    if (error) return callback(error, address as string, family);
    const all: LookupAddress[] = Array.isArray(address)
      ? address
      : [{ address: address as string, family: family as number }];
    const refused = all.map((a) => forbiddenAddress(a.address)).find(Boolean);
    if (refused) {
      const denied = Object.assign(new Error(`${hostname} resolves to ${refused}`), {
        code: 'ERR_HOIST_ADDRESS',
      });
      return callback(denied, address as string, family);
    }
    return callback(null, address as string, family);
  });
};

/**
 * Posts webhook bodies with undici (as the server's HTTP client does), within a deadline,
 * following no redirect. Unless `allowPrivate`, a host that is, or resolves to, a link-local or
 * metadata address is refused before anything is sent: the check is made on the address the
 * connection goes to, so a name that changes its answer cannot slip past it.
 */
export function createSender(options: { timeoutMs: number; userAgent: string }) {
  const guarded = new Agent({ connect: { lookup: guardedLookup }, keepAliveTimeout: 10_000 });
  const open = new Agent({ keepAliveTimeout: 10_000 });
  const post = async (
    url: string,
    body: string,
    headers: Record<string, string>,
    allowPrivate: boolean,
  ): Promise<PostResult> => {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(host) ? forbiddenAddress(host) : undefined;
    if (literal && !allowPrivate) return { error: `refused: ${literal}` };
    const dispatcher: Dispatcher = allowPrivate ? open : guarded;
    try {
      const res = await request(dispatcher, url, {
        method: 'POST',
        headers: {
          'user-agent': options.userAgent,
          'content-type': 'application/json',
          ...headers,
        },
        body,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      return { status: res.statusCode };
    } catch (error) {
      return { error: describe(error, options.timeoutMs) };
    }
  };
  return {
    post,
    close: async () => {
      await Promise.all([guarded.close(), open.close()]);
    },
  };
}

function describe(error: unknown, timeoutMs: number): string {
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown };
  if (e.code === 'ERR_HOIST_ADDRESS') return `refused: ${e.message}`;
  const cause = e.cause as { code?: string; message?: string } | undefined;
  if (cause?.code === 'ERR_HOIST_ADDRESS') return `refused: ${cause.message}`;
  if (
    e.name === 'TimeoutError' ||
    e.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e.code === 'UND_ERR_BODY_TIMEOUT'
  )
    return `no answer within ${timeoutMs} ms`;
  return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}`;
}
