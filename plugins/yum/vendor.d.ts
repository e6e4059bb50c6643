declare module 'unbzip2-stream' {
  import type { Transform } from 'node:stream';

  /** A transform stream that decompresses bzip2. */
  function unbzip2(): Transform;
  export = unbzip2;
}

declare module 'zstd-napi/binding.js' {
  /** zstd's streaming decompression context (ZSTD_DCtx). */
  class DCtx {
    /** Wraps ZSTD_decompressStream: [bytes left to flush (0 at a frame end), produced, consumed]. */
    decompressStream(dstBuf: Uint8Array, srcBuf: Uint8Array): [number, number, number];
  }
  const binding: { DCtx: typeof DCtx };
  export default binding;
}
