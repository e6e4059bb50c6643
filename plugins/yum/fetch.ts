import { createHash, type Hash } from 'node:crypto';
import {
  ChecksumMismatchError,
  HoistError,
  type HttpRequest,
  type HttpResponse,
  type PluginContext,
  RepositoryAuthError,
  RepositoryMetadataError,
  RepositoryUnreachableError,
  type TlsOptions,
} from 'hoist';
import { type Compression, decompress, SNIFF_BYTES, sniffCompression } from './decompress.ts';
import type { Digest, RepomdRecord } from './repomd.ts';
import { mayCarryCredentials } from './trust.ts';

/** How to reach a repository: credentials, TLS, proxy and patience. */
export interface RepositoryAccess {
  auth: { username: string; password: string } | undefined;
  tls: TlsOptions | undefined;
  proxy: string | undefined;
  timeoutMs: number;
  /** Origins that receive the credentials (basic auth, client certificate): the configured ones. */
  origins: ReadonlySet<string>;
}

/** Largest small file (repomd.xml, mirror lists, metalinks) we read. */
export const SMALL_FILE_LIMIT = 16 << 20;
/** Decompressed size cap when a record declares no open-size. */
export const DEFAULT_OPEN_SIZE_LIMIT = 2 * 1024 ** 3;
/** Download cap when a record declares no size. */
export const DEFAULT_DOWNLOAD_LIMIT = 1024 ** 3;

const DIGESTS: Record<string, string> = {
  sha: 'sha1',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  md5: 'md5',
};

/** Node's name for a repodata checksum type, or undefined when unsupported. */
export function digestAlgorithm(type: string): string | undefined {
  return DIGESTS[type.toLowerCase()];
}

/**
 * Sends a request with the repository's access settings; credentials (basic auth and the client
 * certificate) only to a configured origin.
 */
export function send(
  ctx: PluginContext,
  access: RepositoryAccess,
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  const trusted = mayCarryCredentials(url, access.origins);
  const tls = access.tls && !trusted ? withoutClientCertificate(access.tls) : access.tls;
  const request: HttpRequest = {
    url,
    headers,
    timeoutMs: access.timeoutMs,
    signal: ctx.signal,
    ...(access.auth && trusted ? { auth: access.auth } : {}),
    ...(tls ? { tls } : {}),
    ...(access.proxy ? { proxy: access.proxy } : {}),
  };
  return ctx.http.request(request);
}

function withoutClientCertificate(tls: TlsOptions): TlsOptions | undefined {
  const { cert: _cert, key: _key, ...rest } = tls;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** Throws the error that fits a non-2xx status (after releasing the body). */
export async function failOnStatus(response: HttpResponse, what: string): Promise<void> {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  await response.cancel();
  if (status === 401 || status === 403) {
    throw new RepositoryAuthError(
      `Authentication refused for ${what} (HTTP ${status}); check USERNAME and PASSWORD`,
      status,
    );
  }
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  throw new RepositoryUnreachableError(`Could not fetch ${what}: HTTP ${status}`, {
    reason: 'status',
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readAll(response: HttpResponse, what: string, limit = SMALL_FILE_LIMIT) {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > limit) {
      await response.cancel();
      throw new RepositoryMetadataError(`${what} is larger than ${limit} bytes; refused`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Checks bytes against a declared digest. */
export function verifyDigest(bytes: Uint8Array, digest: Digest, what: string): void {
  const algorithm = digestAlgorithm(digest.type);
  if (!algorithm)
    throw new RepositoryMetadataError(`${what}: unsupported checksum type '${digest.type}'`);
  const actual = createHash(algorithm).update(bytes).digest('hex');
  if (actual !== digest.value) {
    throw new ChecksumMismatchError(
      `${what} does not match its ${digest.type} checksum (expected ${digest.value}, got ${actual})`,
    );
  }
}

/**
 * Streams a repodata file: download, checksum, decompress and hand each decompressed chunk to
 * `consume`, all overlapped and never holding the whole file. Downloads past the declared size
 * (with slack for the off-by-a-few sizes seen in the wild) and output past the declared
 * open-size (or a cap) are refused at once. The checksum is checked when the download ends; on a
 * mismatch whatever `consume` built must be thrown away (this function throws). With `borrowed`,
 * a chunk is valid only until `consume` returns (its memory is decoded into again).
 */
export async function streamRecord(
  ctx: PluginContext,
  access: RepositoryAccess,
  url: string,
  record: RepomdRecord,
  what: string,
  consume: (chunk: Uint8Array) => void,
  options: { borrowed?: boolean } = {},
): Promise<{ compression: Compression; bytes: number; openBytes: number }> {
  const checksum = record.checksum;
  const algorithm = checksum ? digestAlgorithm(checksum.type) : undefined;
  if (checksum && !algorithm) {
    throw new RepositoryMetadataError(`${what}: unsupported checksum type '${checksum.type}'`);
  }
  const response = await send(ctx, access, url);
  await failOnStatus(response, what);
  const downloadLimit = withSlack(record.size, DEFAULT_DOWNLOAD_LIMIT);
  const openLimit = withSlack(record.openSize, DEFAULT_OPEN_SIZE_LIMIT);
  const hash = algorithm ? createHash(algorithm) : undefined;
  const source = counted(response, hash, downloadLimit, what);

  const head = await source.peek(SNIFF_BYTES);
  const compression = sniffCompression(head);
  if (compression === 'zchunk') {
    await response.cancel();
    throw new RepositoryMetadataError(`${what} is zchunk-compressed, which Hoist does not read`);
  }
  let openBytes = 0;
  try {
    for await (const chunk of await decompress(
      source.iterate(),
      compression,
      {},
      {
        ...(record.size ? { declaredBytes: record.size } : {}),
        ...(options.borrowed ? { borrowed: true } : {}),
      },
    )) {
      openBytes += chunk.length;
      if (openBytes > openLimit) {
        throw new RepositoryMetadataError(
          `${what} inflates past ${openLimit} bytes${record.openSize === undefined ? '' : ` (declared open-size ${record.openSize})`}; refused as a decompression bomb`,
        );
      }
      consume(chunk);
    }
    // Some decompressors stop at the end of their stream; the checksum covers every byte.
    await source.drain();
  } catch (error) {
    await response.cancel();
    if (error instanceof HoistError || ctx.signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RepositoryMetadataError(
      `${what} could not be decompressed as ${compression}: ${message.split('\n')[0]}`,
      { cause: error },
    );
  }
  if (checksum && hash) {
    const actual = hash.digest('hex');
    if (actual !== checksum.value) {
      throw new ChecksumMismatchError(
        `${what} does not match its ${checksum.type} checksum in repomd.xml (expected ${checksum.value}, got ${actual})`,
      );
    }
  }
  return { compression, bytes: source.bytes(), openBytes };
}

function withSlack(declared: number | undefined, fallback: number): number {
  if (declared === undefined || declared <= 0) return fallback;
  return declared + Math.max(Math.ceil(declared / 8), 1 << 20);
}

interface CountedSource {
  peek(n: number): Promise<Uint8Array>;
  iterate(): AsyncIterable<Uint8Array>;
  drain(): Promise<void>;
  bytes(): number;
}

/** The response body, hashed and counted as it streams, with a look at its first bytes. */
function counted(
  response: HttpResponse,
  hash: Hash | undefined,
  limit: number,
  what: string,
): CountedSource {
  const iterator = response.body[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let total = 0;
  let done = false;
  async function pull(): Promise<Uint8Array | undefined> {
    if (done) return undefined;
    const step = await iterator.next();
    if (step.done) {
      done = true;
      return undefined;
    }
    total += step.value.length;
    if (total > limit) {
      throw new RepositoryMetadataError(`${what} is larger than ${limit} bytes; download refused`);
    }
    hash?.update(step.value);
    return step.value;
  }
  return {
    async peek(n) {
      let have = buffered.reduce((s, c) => s + c.length, 0);
      while (have < n) {
        const chunk = await pull();
        if (!chunk) break;
        buffered.push(chunk);
        have += chunk.length;
      }
      return Buffer.concat(buffered).subarray(0, n);
    },
    async *iterate() {
      while (buffered.length > 0) yield buffered.shift() as Uint8Array;
      for (let chunk = await pull(); chunk; chunk = await pull()) yield chunk;
    },
    async drain() {
      while (await pull()) {}
    },
    bytes: () => total,
  };
}
