import { Readable, type Transform } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { bzip2Chunks } from './bzip2.ts';

/** Compressions met in repodata, sniffed from the first bytes. */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'zchunk' | 'none';

/** Tells the compression from a file's first bytes (never from its name). */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0x00, 0x5a, 0x43, 0x4b, 0x31)) return 'zchunk';
  return 'none';
}

/**
 * 1 MiB output pieces (Node's 16 KiB default makes gunzip several times slower) and 4 MiB of
 * inflated read-ahead, so inflating on the thread pool keeps going while the reader parses. The
 * compressed input waiting for it is held to 1 MiB (~12 MiB of XML): 4 MiB held ~50 MiB worth.
 */
const GUNZIP_OPTIONS = {
  chunkSize: 1 << 20,
  readableHighWaterMark: 4 << 20,
  writableHighWaterMark: 1 << 20,
};

/**
 * Network reads are joined into 1 MiB pieces before inflating: each piece is one trip to the
 * thread pool and back. Measured on the 100k benchmark: ~100 ms faster than 256 KiB pieces, and
 * peak RSS at 400k packages 129 MiB (2 MiB pieces: 140 MiB for no further gain).
 */
const GUNZIP_INPUT = 1 << 20;

/** The longest magic number we sniff. */
export const SNIFF_BYTES = 6;

/**
 * The most a file may inflate to: 2 GiB, more than twice the largest primary.xml known
 * (openSUSE Leap 15.3 updates, ~900 MB; Fedora's and EPEL's are 50–250 MB).
 */
export const MAX_INFLATED_BYTES = 2 * 1024 ** 3;

/**
 * Past its first 64 MiB, output may be at most 1,000 times the compressed bytes read so far.
 * Real repodata stays under 150:1 (the 900 MB openSUSE primary is 7.6 MB of xz, 118:1); a bomb
 * is stopped within a second or two instead of after gigabytes.
 */
export const MAX_INFLATION_RATIO = 1000;
const RATIO_FREE_BYTES = 64 << 20;

/** Largest output piece handed on. */
const PIECE = 1 << 20;

/** The reader yields to the event loop at least this often while output keeps coming. */
const TURN_MS = 10;

/** Limits on inflation (defaults above). */
export interface InflateLimits {
  maxBytes?: number;
  maxRatio?: number;
}

/**
 * With HOIST_ZSTD_THREAD=1, zstd input of at least this many bytes (as repomd.xml declares them)
 * is decoded on a thread of its own (see zstd-thread.ts): ~10 MB of zstd is ~150 MB of XML,
 * whose decoding then overlaps the parse; below it, starting the thread would cost more than it
 * saves. Off by default: the thread costs ~35 MiB of peak RSS and ~0.15 s of CPU.
 */
export const ZSTD_THREAD_BYTES = 1 << 20;

/** How to decode. */
export interface DecodeOptions {
  /** Compressed size declared by repomd.xml, when known: large zstd input decodes on a thread. */
  declaredBytes?: number;
  /**
   * The caller is done with each chunk before it asks for the next one (it copies what it
   * keeps): zstd then decodes every piece into the same memory. Fresh memory per piece is
   * garbage the collector frees late: ~18 MiB of peak RSS over a 150 MB primary.
   */
  borrowed?: boolean;
}

/**
 * Decompresses `source` (whose compression is `compression`) as a stream of chunks of at most
 * 1 MiB, decoded only as the reader pulls them. Stops with an error past `limits` (see
 * MAX_INFLATED_BYTES and MAX_INFLATION_RATIO), and yields to the event loop regularly however
 * fast the decoder runs. Errors from the decompressor surface as ordinary rejections of the
 * iteration.
 */
export async function decompress(
  source: AsyncIterable<Uint8Array>,
  compression: Exclude<Compression, 'zchunk'>,
  limits: InflateLimits = {},
  options: DecodeOptions = {},
): Promise<AsyncIterable<Uint8Array>> {
  let read = 0;
  const counted = (async function* () {
    for await (const chunk of source) {
      read += chunk.length;
      yield chunk;
    }
  })();
  // HOIST_ZSTD_THREAD=1 decodes large zstd on a thread (opt-in: see the README's figures).
  const threaded =
    compression === 'zstd' &&
    (options.declaredBytes ?? 0) >= ZSTD_THREAD_BYTES &&
    process.env.HOIST_ZSTD_THREAD === '1';
  const output = threaded
    ? (await import('./zstd-thread.ts')).zstdOnThread(counted, options.borrowed === true)
    : await decoder(counted, compression, options.borrowed === true);
  return bounded(output, () => read, compression, limits);
}

async function decoder(
  source: AsyncIterable<Uint8Array>,
  compression: Exclude<Compression, 'zchunk'>,
  borrowed: boolean,
): Promise<AsyncIterable<Uint8Array>> {
  // Decoders other than gzip load on first use: most repositories never need them.
  switch (compression) {
    case 'none':
      return source;
    case 'gzip':
      return through(coalesce(source, GUNZIP_INPUT), createGunzip(GUNZIP_OPTIONS));
    case 'zstd': {
      const { default: binding } = await import('zstd-napi/binding.js');
      return zstdChunks(source, new binding.DCtx(), borrowed);
    }
    case 'bzip2':
      return bzip2Chunks(source);
    case 'xz': {
      const { default: xz } = await import('xz-decompress');
      const web = Readable.toWeb(Readable.from(source)) as ReadableStream<Uint8Array>;
      return Readable.fromWeb(new xz.XzReadableStream(web) as never);
    }
  }
}

/** The decoder's output in pieces of at most PIECE bytes, within limits, taking turns. */
async function* bounded(
  output: AsyncIterable<Uint8Array>,
  read: () => number,
  compression: Compression,
  limits: InflateLimits,
): AsyncIterable<Uint8Array> {
  const maxBytes = limits.maxBytes ?? MAX_INFLATED_BYTES;
  const maxRatio = limits.maxRatio ?? MAX_INFLATION_RATIO;
  let total = 0;
  let turn = performance.now();
  for await (const chunk of output) {
    for (let at = 0; at < chunk.length; at += PIECE) {
      const piece = chunk.subarray(at, at + PIECE);
      total += piece.length;
      if (total > maxBytes) {
        throw new Error(
          `inflates past ${maxBytes} bytes, the limit; refused as a decompression bomb`,
        );
      }
      if (total > RATIO_FREE_BYTES && total > maxRatio * read()) {
        throw new Error(
          `inflates more than ${maxRatio} times its size (${total} bytes from ${read()} of ${compression}), the limit; refused as a decompression bomb`,
        );
      }
      yield piece;
      if (performance.now() - turn >= TURN_MS) {
        await nextTurn();
        turn = performance.now();
      }
    }
  }
}

/** Output piece size of the zstd decoder. */
const ZSTD_OUT = 1 << 20;

/**
 * Decompresses zstd as the reader pulls: one output piece at a time, so memory stays bounded
 * however well the data compresses (zstd-napi's stream pushes a whole input chunk's output at
 * once, which is tens of megabytes for repodata). With `borrowed`, every piece is decoded into
 * the same memory (see DecodeOptions).
 */
async function* zstdChunks(
  source: AsyncIterable<Uint8Array>,
  dctx: { decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number] },
  borrowed = false,
): AsyncIterable<Uint8Array> {
  let pending = 0;
  const shared = borrowed ? Buffer.allocUnsafeSlow(ZSTD_OUT) : undefined;
  for await (const input of source) {
    let src = input;
    for (;;) {
      const out = shared ?? Buffer.allocUnsafe(ZSTD_OUT);
      const [left, produced, consumed] = dctx.decompressStream(out, src);
      pending = left;
      src = src.subarray(consumed);
      if (produced > 0) yield out.subarray(0, produced);
      // Done with this input once it is consumed and the decoder has nothing buffered to flush.
      if (src.length === 0 && produced < out.length) break;
    }
  }
  if (pending !== 0) throw new Error('zstd data ends in the middle of a frame');
}

function through(
  source: AsyncIterable<Uint8Array>,
  transform: Transform,
  output: Readable = transform,
): AsyncIterable<Uint8Array> {
  // One piece read ahead of the inflater, not Readable.from's default of 16: with 1 MiB
  // pieces those held 16 MiB of compressed input (~190 MiB of XML) for no gain in speed.
  const input = Readable.from(source, { highWaterMark: 1 });
  input.on('error', (error) => output.destroy(error));
  output.on('close', () => input.destroy());
  input.pipe(transform);
  return output;
}

/** Joins small network reads into pieces of at least `size` bytes: fewer trips to the inflater. */
async function* coalesce(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncIterable<Uint8Array> {
  let pending: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, length);
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
