declare module 'unbzip2-stream/lib/bzip2.js' {
  type Bits = (n: number | null) => number;
  /** unbzip2-stream's block decoder (micro-bunzip's). */
  const bzip2: {
    /** Reads a stream header; returns the block size level (1–9). */
    header(bits: Bits): number;
    /**
     * Decodes one block, calling `write` per output byte; returns the running stream CRC, or
     * null at the end of a stream (after checking its CRC).
     */
    decompress(
      bits: Bits,
      write: (byte: number) => void,
      scratch: Int32Array,
      size: number,
      crc: number | null,
    ): number | null;
  };
  export default bzip2;
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
