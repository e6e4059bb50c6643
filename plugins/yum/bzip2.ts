/**
 * bzip2 decompressed as the reader pulls, one block at a time, with the block decoder of
 * unbzip2-stream: its stream wrapper decoded every block it had input for at once and held the
 * output as arrays of numbers (a 424 KB bomb took 2.4 GiB). Here a block's output (at most
 * ~46 MB, bzip2's own bound) is written into 1 MiB buffers and handed on before the next block
 * is read.
 */

/** Output pieces handed on. */
const PIECE = 1 << 20;

/** A block's compressed bytes are at most about 100,000 per block-size step, plus headers. */
const blockInput = (level: number) => 25_000 + 110_000 * level;

/** Reads bits, most significant first, as bzip2's decoder asks for them. */
class BitReader {
  private bytes: Buffer = Buffer.alloc(0);
  private byte = 0;
  private bit = 0;

  /** Bytes not yet read whole. */
  available(): number {
    return this.bytes.length - this.byte;
  }

  append(chunks: Uint8Array[]): void {
    if (chunks.length === 0) return;
    this.bytes = Buffer.concat([this.bytes.subarray(this.byte), ...chunks]);
    this.byte = 0;
  }

  /** `n` bits as a number; `null` skips to the next byte boundary. */
  readonly read = (n: number | null): number => {
    if (n === null) {
      if (this.bit !== 0) {
        this.bit = 0;
        this.byte++;
      }
      return 0;
    }
    let result = 0;
    let left = n;
    while (left > 0) {
      const value = this.bytes[this.byte];
      if (value === undefined) throw new Error('bzip2 data ends in the middle of a block');
      const room = 8 - this.bit;
      if (left >= room) {
        result = (result << room) | (value & (0xff >> this.bit));
        this.bit = 0;
        this.byte++;
        left -= room;
      } else {
        result = (result << left) | ((value >> (room - left)) & ((1 << left) - 1));
        this.bit += left;
        left = 0;
      }
    }
    return result;
  };
}

/** Collects a block's output bytes into pieces of PIECE bytes. */
class Pieces {
  done: Buffer[] = [];
  private piece = Buffer.allocUnsafe(PIECE);
  private at = 0;

  readonly write = (byte: number): void => {
    if (this.at === PIECE) {
      this.done.push(this.piece);
      this.piece = Buffer.allocUnsafe(PIECE);
      this.at = 0;
    }
    this.piece[this.at++] = byte;
  };

  take(): Buffer[] {
    const out = this.done;
    if (this.at > 0) out.push(this.piece.subarray(0, this.at));
    this.done = [];
    this.piece = Buffer.allocUnsafe(PIECE);
    this.at = 0;
    return out;
  }
}

/** Decompresses bzip2 (one stream or several concatenated), pulling input as blocks need it. */
export async function* bzip2Chunks(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const { default: bz2 } = await import('unbzip2-stream/lib/bzip2.js');
  const iterator = source[Symbol.asyncIterator]();
  const bits = new BitReader();
  let ended = false;
  const fill = async (wanted: number) => {
    const chunks: Uint8Array[] = [];
    let have = bits.available();
    while (!ended && have < wanted) {
      const step = await iterator.next();
      if (step.done) ended = true;
      else {
        chunks.push(step.value);
        have += step.value.length;
      }
    }
    bits.append(chunks);
  };
  try {
    let level = 0;
    let crc: number | null = 0;
    const out = new Pieces();
    let scratch = new Int32Array(0);
    for (;;) {
      await fill(level === 0 ? 4 : blockInput(level));
      if (level === 0) {
        if (ended && bits.available() === 0) return;
        level = bz2.header(bits.read);
        if (scratch.length < 100_000 * level) scratch = new Int32Array(100_000 * level);
        crc = 0;
        continue;
      }
      crc = bz2.decompress(bits.read, out.write, scratch, 100_000 * level, crc);
      if (crc === null) level = 0;
      yield* out.take();
    }
  } finally {
    await iterator.return?.();
  }
}
