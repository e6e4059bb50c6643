import { BANG, LT, QUESTION } from './xml-bytes.ts';

/** Bytes of a new chunk joined behind unfinished bytes: more than most elements span. */
const BRIDGE_BYTES = 32 << 10;

/**
 * The bytes of an XML document as they arrive in chunks: what is unread, where it lies in the
 * document, and where its comments, CDATA sections and PIs are. A chunk is read where it lies;
 * only bytes left unfinished at its end are copied, joined to the start of the next one.
 */
export class XmlInput {
  /** The bytes being read: unread ones start at `pos`. */
  protected buf: Buffer = Buffer.alloc(0);
  protected pos = 0;
  /** Bytes dropped from the front of `buf` so far. */
  protected consumed = 0;
  protected ended = false;
  /**
   * Absolute offsets of every `<!` and `<?` seen so far (comments, CDATA, PIs), found once per
   * chunk with single-byte searches, so that skipping need not scan for them per element.
   */
  private specials: number[] = [];
  private specialsHead = 0;
  /** Bytes fed so far: the absolute offset just past the last one. */
  private received = 0;
  private lastByte = -1;
  /**
   * After a read ran out of bytes with `n` unread, nothing is read again until `n` more bytes
   * have arrived (or the end): a construct left unfinished is searched again at most once per
   * doubling of its length, and the chunks that arrive meanwhile are queued, joined once.
   * Re-reading it at every chunk cost time in the square of its length.
   */
  private waitUntil = 0;
  private queued: Buffer[] = [];

  /** Adds the next chunk of the document. */
  feed(chunk: Uint8Array): void {
    const next = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (next.length === 0) return;
    // Absolute offset of the new chunk's first byte.
    const start = this.received;
    this.received += next.length;
    this.findSpecials(next, start, this.lastByte === LT);
    this.lastByte = next[next.length - 1] as number;
    if (this.starved()) {
      this.queued.push(next);
      return;
    }
    this.flatten();
    if (this.queued.length > 0) {
      this.queued.push(next);
      this.joinQueued();
      return;
    }
    const tail = this.buf.length - this.pos;
    if (tail === 0) {
      this.release();
      this.consumed = start;
      this.buf = next;
      this.pos = 0;
      return;
    }
    // Unfinished bytes are joined to the start of the new chunk only (the bridge); once reading
    // has moved past them, the chunk is read where it lies (`flatten`). Copying every chunk
    // whole behind the tail cost a memcpy of the entire document.
    this.rest = next;
    this.restStart = start;
    this.joinUnread([next.subarray(0, BRIDGE_BYTES)]);
  }

  /** True while a read that ran out of bytes waits for more of them (see `waitUntil`). */
  protected starved(): boolean {
    return !this.ended && this.received < this.waitUntil;
  }

  /** A read ran out of bytes: wait for as many more as are unread before reading again. */
  protected starve(): void {
    this.waitUntil = this.received + (this.received - this.offset);
  }

  private joinQueued(): void {
    const queued = this.queued;
    this.queued = [];
    this.queuedOwn = 0;
    this.joinUnread(queued);
  }

  /** The chunk the bridge was cut from, while reading is still in the bridge. */
  private rest: Buffer | undefined;
  /** Absolute offset of `rest[0]`. */
  private restStart = 0;
  /** The scratch buffer `buf` lives in, if any. */
  private scratch: Buffer | undefined;
  private spare: Buffer | undefined;

  /**
   * Makes `buf` the unread bytes followed by `more`. Two scratch buffers are reused in turn:
   * fresh allocations per chunk cost more in page faults than the copy itself.
   */
  private joinUnread(more: readonly Buffer[]): void {
    const tail = this.buf.length - this.pos;
    let size = tail;
    for (const piece of more) size += piece.length;
    let target = this.spare && this.spare.length >= size ? this.spare : undefined;
    this.spare = undefined;
    target ??= Buffer.allocUnsafeSlow(Math.max(size + (size >> 2), 1 << 16));
    this.buf.copy(target, 0, this.pos, this.buf.length);
    let at = tail;
    for (const piece of more) at += piece.copy(target, at);
    this.release();
    this.scratch = target;
    this.consumed += this.pos;
    this.buf = target.subarray(0, size);
    this.pos = 0;
  }

  /** Ends the bridge: reads on in the chunk itself, or joins all of it when still short of it. */
  private flatten(): void {
    const { rest } = this;
    if (!rest) return;
    this.rest = undefined;
    const at = this.consumed + this.pos;
    if (at >= this.restStart) {
      this.release();
      this.buf = rest.subarray(at - this.restStart);
      this.consumed = at;
      this.pos = 0;
      return;
    }
    // Still inside the unfinished bytes (an element longer than the bridge): join them to the
    // whole chunk. `buf` holds the unread bytes, then the bridged start of `rest`.
    this.buf = this.buf.subarray(0, this.restStart - this.consumed);
    this.joinUnread([rest]);
  }

  /**
   * More input for a read that ran out of bytes: true when the rest of the bridged chunk was
   * made readable (read again), false when the caller must wait for `feed`.
   */
  protected advance(): boolean {
    if (!this.rest) return false;
    this.flatten();
    return true;
  }

  private release(): void {
    if (this.scratch) this.spare = this.scratch;
    this.scratch = undefined;
  }

  /** Records the `<!` and `<?` of `chunk`, whose first byte is at absolute offset `start`. */
  private findSpecials(chunk: Buffer, start: number, afterLt: boolean): void {
    const marks = [BANG, QUESTION].map((mark) => {
      const found: number[] = [];
      for (let i = chunk.indexOf(mark); i !== -1; i = chunk.indexOf(mark, i + 1)) {
        // The `<` may be the last byte of the previous data.
        if (i === 0 ? afterLt : chunk[i - 1] === LT) found.push(start + i - 1);
      }
      return found;
    });
    const [bangs = [], questions = []] = marks;
    if (bangs.length + questions.length === 0) return;
    // Those behind the reading position are never asked for again (and would pile up when
    // comments are read by the tokenizer rather than skipped).
    const behind = this.offset;
    while (
      this.specialsHead < this.specials.length &&
      (this.specials[this.specialsHead] as number) < behind
    ) {
      this.specialsHead++;
    }
    if (this.specialsHead > 0) {
      this.specials = this.specials.slice(this.specialsHead);
      this.specialsHead = 0;
    }
    // Each list is in order and every offset lies past those already recorded: merge them.
    const { specials } = this;
    let b = 0;
    let q = 0;
    while (b < bangs.length || q < questions.length) {
      const next =
        q >= questions.length ||
        (b < bangs.length && (bangs[b] as number) < (questions[q] as number))
          ? bangs[b++]
          : questions[q++];
      specials.push(next as number);
    }
  }

  /** First `<!`/`<?` at or after `from` and before `to` (buffer positions), or -1. */
  protected specialBetween(from: number, to: number): number {
    const start = this.consumed + from;
    const end = this.consumed + to;
    while (
      this.specialsHead < this.specials.length &&
      (this.specials[this.specialsHead] as number) < start
    ) {
      this.specialsHead++;
    }
    const next = this.specials[this.specialsHead];
    return next !== undefined && next < end ? next - this.consumed : -1;
  }

  /**
   * Stops reading from the memory of the chunks fed so far, copying what is still unread (the
   * start of an unfinished element, usually a few hundred bytes): the caller may then decode
   * into that memory again.
   */
  detach(): void {
    if (this.rest) this.flatten();
    const { scratch } = this;
    if (!scratch || this.buf.buffer !== scratch.buffer) this.joinUnread([]);
    // Chunks queued while a read waits for more input, copied once each.
    for (let i = this.queuedOwn; i < this.queued.length; i++) {
      this.queued[i] = Buffer.from(this.queued[i] as Buffer);
    }
    this.queuedOwn = this.queued.length;
  }

  /** How many of `queued` (from the front) are copies of their own. */
  private queuedOwn = 0;

  /** Marks the end of the document; later `next()` calls report what is unfinished. */
  end(): void {
    this.flatten();
    this.ended = true;
    if (this.queued.length > 0) this.joinQueued();
  }

  /** Byte offset of the next unread byte. */
  get offset(): number {
    return this.consumed + this.pos;
  }
}
