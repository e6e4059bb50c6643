/**
 * A small, strict, incremental XML tokenizer over bytes (UTF-8), made for repodata: it yields
 * tags and text, resolves namespaces, decodes the five predefined entities and character
 * references, and can skip a whole element with a byte search (`skipElement`), which is what makes
 * reading a 100,000-package primary.xml fast. DTDs are refused outright: no entity is ever
 * declared, so none can be expanded (no XXE, no billion laughs).
 */

import {
  bytesAt,
  CDATA,
  COMMENT,
  DOCTYPE,
  decodeEntities,
  parseTag,
  skipSpace,
  startsAt,
  tagBytes,
  XmlSyntaxError,
} from './xml-bytes.ts';

export { decodeEntities, XmlSyntaxError } from './xml-bytes.ts';

/** A tag or text, as `next()` yields it. */
export type XmlToken =
  | {
      kind: 'open';
      /** Qualified name as written, e.g. `rpm:entry`. */
      qname: string;
      /** Local name, e.g. `entry`. */
      local: string;
      /** Namespace URI ('' when none). */
      ns: string;
      /** Attributes by qualified name, values decoded. */
      attrs: Record<string, string>;
      selfClosing: boolean;
    }
  | { kind: 'close'; qname: string; local: string; ns: string }
  | { kind: 'text'; text: string };

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const QUOTE = 0x22;
const APOS = 0x27;
const AMP = 0x26;

/** Bytes of a new chunk joined behind unfinished bytes: more than most elements span. */
const BRIDGE_BYTES = 32 << 10;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

interface Frame {
  qname: string;
  local: string;
  ns: string;
  /** Prefix bindings declared on this element (undefined when none). */
  bindings: Map<string, string> | undefined;
}

export class XmlTokenizer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Bytes dropped from the front of `buf` so far. */
  private consumed = 0;
  private ended = false;
  private readonly stack: Frame[] = [];
  private sawRoot = false;
  private rootClosed = false;
  /**
   * Absolute offsets of every `<!` and `<?` seen so far (comments, CDATA, PIs), found once per
   * chunk with single-byte searches, so that `skipElement` need not scan for them per element.
   */
  private specials: number[] = [];
  private specialsHead = 0;
  /** Prefixes accepted without a declaration (real repodata writes `rpm:` carelessly). */
  private readonly lenientPrefixes: ReadonlyMap<string, string>;

  constructor(options: { lenientPrefixes?: Record<string, string> } = {}) {
    this.lenientPrefixes = new Map(Object.entries(options.lenientPrefixes ?? {}));
  }

  /** Adds the next chunk of the document. */
  feed(chunk: Uint8Array): void {
    this.flatten();
    const next = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tail = this.buf.length - this.pos;
    // Absolute offset of the new chunk's first byte.
    const start = this.consumed + this.buf.length;
    this.findSpecials(next, start, tail > 0 && this.buf[this.buf.length - 1] === LT);
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
    this.joinUnread(next.subarray(0, BRIDGE_BYTES));
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
  private joinUnread(more: Buffer): void {
    const tail = this.buf.length - this.pos;
    const size = tail + more.length;
    let target = this.spare && this.spare.length >= size ? this.spare : undefined;
    this.spare = undefined;
    target ??= Buffer.allocUnsafeSlow(Math.max(size + (size >> 2), 1 << 16));
    this.buf.copy(target, 0, this.pos, this.buf.length);
    more.copy(target, tail);
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
    this.joinUnread(rest);
  }

  /**
   * More input for a read that ran out of bytes: true when the rest of the bridged chunk was
   * made readable (read again), false when the caller must wait for `feed`.
   */
  private advance(): boolean {
    if (!this.rest) return false;
    this.flatten();
    return true;
  }

  private release(): void {
    if (this.scratch) this.spare = this.scratch;
    this.scratch = undefined;
  }

  /**
   * Opens `<qname>` when the next thing after white space is exactly one of `literals` (e.g.
   * `<package type="rpm">`), without tokenizing it: the fast path for primary.xml's repeated
   * element. Returns true when opened, false when the input is anything else (nothing
   * consumed; use `next()`), null when more input is needed to tell.
   */
  openLiteral(qname: string, literals: readonly Buffer[]): boolean | null {
    for (;;) {
      const opened = this.openLiteralHere(qname, literals);
      if (opened !== null || !this.advance()) return opened;
    }
  }

  private openLiteralHere(qname: string, literals: readonly Buffer[]): boolean | null {
    const { buf } = this;
    const p = skipSpace(buf, this.pos);
    for (const literal of literals) {
      if (buf.length - p < literal.length) return this.ended ? false : null;
      if (!bytesAt(buf, p, literal)) continue;
      const ns = this.resolve('', undefined, this.offset, qname);
      this.stack.push({ qname, local: qname, ns, bindings: undefined });
      this.pos = p + literal.length;
      return true;
    }
    return false;
  }

  /** Records the `<!` and `<?` of `chunk`, whose first byte is at absolute offset `start`. */
  /**
   * Steps over a run of sibling elements that start exactly as one of `opens` (e.g.
   * `<package type="rpm">`) and whose first child is `<first>` holding plain text, for as long
   * as `skip(buf, start, end)` says so of that text's bytes: each is passed over up to its end
   * tag without being tokenized, like `skipElement`. The fast path for the packages a spec
   * cannot match. Stops before anything else (a comment or CDATA inside, an entity in the text,
   * another layout), consuming nothing of it. Returns how many elements it stepped over.
   */
  skipRun(
    qname: string,
    opens: readonly Buffer[],
    first: string,
    skip: (buf: Buffer, start: number, end: number) => boolean,
  ): number {
    let count = 0;
    for (;;) {
      const run = this.skipRunHere(qname, opens, first, skip);
      count += run.count;
      if (!run.short || !this.advance()) return count;
    }
  }

  private skipRunHere(
    qname: string,
    opens: readonly Buffer[],
    first: string,
    skip: (buf: Buffer, start: number, end: number) => boolean,
  ): { count: number; short: boolean } {
    const { buf } = this;
    const { open: firstOpen, close: firstClose } = tagBytes(first);
    const endTag = tagBytes(qname).end;
    let count = 0;
    const short = () => ({ count, short: true });
    for (;;) {
      const start = skipSpace(buf, this.pos);
      let p = -1;
      for (const literal of opens) {
        if (buf.length - start < literal.length) return short();
        if (bytesAt(buf, start, literal)) {
          p = start + literal.length;
          break;
        }
      }
      if (p === -1) return { count, short: false };
      p = skipSpace(buf, p);
      if (buf.length - p < firstOpen.length) return short();
      if (!bytesAt(buf, p, firstOpen)) return { count, short: false };
      const textStart = p + firstOpen.length;
      // Names are short: a loop here is cheaper than a native search.
      let lt = textStart;
      while (lt < buf.length && buf[lt] !== LT) {
        if (buf[lt] === AMP) return { count, short: false };
        lt++;
      }
      if (buf.length - lt < firstClose.length) return short();
      if (!bytesAt(buf, lt, firstClose) || !skip(buf, textStart, lt)) {
        return { count, short: false };
      }
      // The end tag is `</qname` + optional white space + `>`.
      let from = lt + firstClose.length;
      let close: number;
      let gt: number;
      for (;;) {
        close = buf.indexOf(endTag, from);
        if (close === -1) return short();
        gt = skipSpace(buf, close + endTag.length);
        if (gt >= buf.length) return short();
        if (buf[gt] === GT) break;
        from = close + endTag.length;
      }
      // A comment, CDATA section or PI inside may hide a false end tag: leave it to the tokenizer.
      if (this.specialBetween(start, close) !== -1) return { count, short: false };
      this.pos = gt + 1;
      count++;
    }
  }

  private findSpecials(chunk: Buffer, start: number, afterLt: boolean): void {
    const found: number[] = [];
    for (const mark of [BANG, QUESTION]) {
      for (let i = chunk.indexOf(mark); i !== -1; i = chunk.indexOf(mark, i + 1)) {
        // The `<` may be the last byte of the previous data.
        if (i === 0 ? afterLt : chunk[i - 1] === LT) found.push(start + i - 1);
      }
    }
    if (found.length === 0) return;
    if (this.specialsHead > 0) {
      this.specials = this.specials.slice(this.specialsHead);
      this.specialsHead = 0;
    }
    this.specials.push(...found);
    this.specials.sort((a, b) => a - b);
  }

  /** First `<!`/`<?` at or after `from` and before `to` (buffer positions), or -1. */
  private specialBetween(from: number, to: number): number {
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
   * Reads `<qname>text</qname>` when it is the next thing after white space and holds plain
   * text only (no markup, no entity): the fast path for `<name>` in primary.xml. Returns the
   * text, `undefined` when the input is anything else (nothing consumed; use `next()`), or
   * `null` when more input is needed to tell.
   */
  readSimpleElement(qname: string): string | null | undefined {
    for (;;) {
      const text = this.readSimpleElementHere(qname);
      if (text !== null || !this.advance()) return text;
    }
  }

  private readSimpleElementHere(qname: string): string | null | undefined {
    const { buf } = this;
    const p = skipSpace(buf, this.pos);
    const { open, close } = tagBytes(qname);
    if (buf.length - p < open.length) return this.ended ? undefined : null;
    if (!bytesAt(buf, p, open)) return undefined;
    const start = p + open.length;
    const lt = buf.indexOf(LT, start);
    if (lt === -1 || buf.length - lt < close.length) return this.ended ? undefined : null;
    if (!bytesAt(buf, lt, close)) return undefined;
    // Names are ASCII in practice; latin1 decoding is cheaper and identical for ASCII.
    let ascii = true;
    for (let i = start; i < lt; i++) {
      const c = buf[i] as number;
      if (c === 0x26) return undefined;
      if (c > 0x7f) ascii = false;
    }
    this.pos = lt + close.length;
    return buf.toString(ascii ? 'latin1' : 'utf8', start, lt);
  }

  /** Marks the end of the document; later `next()` calls report what is unfinished. */
  end(): void {
    this.flatten();
    this.ended = true;
  }

  /** Depth of the element stack (0 outside the root). */
  get depth(): number {
    return this.stack.length;
  }

  /** Byte offset of the next unread byte. */
  get offset(): number {
    return this.consumed + this.pos;
  }

  /**
   * The next token, or `null` when more input is needed (or, after `end()`, when the document is
   * complete). Throws XmlSyntaxError on malformed input.
   */
  next(): XmlToken | null {
    for (;;) {
      const token = this.nextHere();
      if (token !== null || !this.advance()) return token;
    }
  }

  private nextHere(): XmlToken | null {
    for (;;) {
      const { buf } = this;
      if (this.pos >= buf.length) return this.atEnd();
      if (buf[this.pos] !== LT) {
        const lt = buf.indexOf(LT, this.pos);
        if (lt === -1 && !this.ended) return null;
        const stop = lt === -1 ? buf.length : lt;
        const raw = buf.toString('utf8', this.pos, stop);
        const start = this.offset;
        this.pos = stop;
        if (this.stack.length === 0) {
          if (raw.trim() !== '') throw new XmlSyntaxError('Text outside the root element', start);
          continue;
        }
        return { kind: 'text', text: decodeEntities(raw, start) };
      }
      const kind = buf[this.pos + 1];
      if (kind === undefined) return this.needMore('tag');
      if (kind === BANG) {
        const token = this.special();
        if (token === undefined) continue;
        return token;
      }
      if (kind === QUESTION) {
        const end = buf.indexOf('?>', this.pos + 2);
        if (end === -1) return this.needMore('processing instruction');
        this.pos = end + 2;
        continue;
      }
      if (kind === SLASH) return this.closeTag();
      return this.openTag();
    }
  }

  /**
   * Skips the rest of the element `qname` whose start tag was the last token read at this depth,
   * up to and including its end tag. Returns false when more input is needed (call again after
   * `feed`). Assumes the element holds no element of the same name, as in repodata.
   */
  skipElement(qname: string): boolean {
    for (;;) {
      if (this.skipElementHere(qname)) return true;
      if (!this.advance()) return false;
    }
  }

  private skipElementHere(qname: string): boolean {
    const needle = tagBytes(qname).end;
    for (;;) {
      const { buf } = this;
      const close = buf.indexOf(needle, this.pos);
      const limit = close === -1 ? Math.max(this.pos, buf.length - needle.length - 8) : close;
      // A comment, CDATA section or PI before the end tag may hide a false end tag: step over it.
      const hidden = this.specialBetween(this.pos, limit);
      if (hidden !== -1) {
        this.pos = hidden;
        if (buf[hidden + 1] === QUESTION) {
          const end = buf.indexOf('?>', hidden + 2);
          if (end === -1) return this.needMoreSkip('processing instruction');
          this.pos = end + 2;
        } else if (this.special() === null) {
          return this.needMoreSkip('comment or CDATA section');
        }
        continue;
      }
      if (close === -1) {
        this.pos = limit;
        return this.needMoreSkip(`</${qname}>`);
      }
      const after = close + needle.length;
      // The end tag is `</qname` + optional white space + `>`.
      let gt = after;
      while (
        gt < buf.length &&
        (buf[gt] === 0x20 || buf[gt] === 0x0a || buf[gt] === 0x09 || buf[gt] === 0x0d)
      )
        gt++;
      if (gt >= buf.length) {
        this.pos = close;
        return this.needMoreSkip(`</${qname}>`);
      }
      if (buf[gt] !== GT) {
        // `</packagex>` or similar: not our end tag; keep looking past it.
        this.pos = after;
        continue;
      }
      this.pos = gt + 1;
      this.pop(qname, this.consumed + close);
      return true;
    }
  }

  private needMoreSkip(what: string): false {
    if (this.ended) throw new XmlSyntaxError(`Document ends inside ${what}`, this.offset);
    return false;
  }

  private atEnd(): null {
    if (!this.ended) return null;
    const top = this.stack.at(-1);
    if (top) throw new XmlSyntaxError(`Document ends before </${top.qname}>`, this.offset);
    if (!this.sawRoot) throw new XmlSyntaxError('Document has no root element', this.offset);
    return null;
  }

  private needMore(what: string): null {
    if (this.ended) throw new XmlSyntaxError(`Document ends inside a ${what}`, this.offset);
    return null;
  }

  /** `<!--…-->`, `<![CDATA[…]]>`, or a refused `<!DOCTYPE`. Returns undefined for comments. */
  private special(): XmlToken | null | undefined {
    const { buf, pos } = this;
    if (buf.length - pos < 9 && !this.ended) {
      // Too short to tell which construct this is.
      const head = buf.toString('latin1', pos, buf.length);
      if ('<![CDATA['.startsWith(head) || '<!--'.startsWith(head) || '<!DOCTYPE'.startsWith(head)) {
        return null;
      }
    }
    if (startsAt(buf, COMMENT, pos)) {
      const end = buf.indexOf('-->', pos + 4);
      if (end === -1) return this.needMore('comment');
      this.pos = end + 3;
      return undefined;
    }
    if (startsAt(buf, CDATA, pos)) {
      const end = buf.indexOf(']]>', pos + 9);
      if (end === -1) return this.needMore('CDATA section');
      if (this.stack.length === 0)
        throw new XmlSyntaxError('CDATA outside the root element', this.offset);
      const text = buf.toString('utf8', pos + 9, end);
      this.pos = end + 3;
      return { kind: 'text', text };
    }
    if (startsAt(buf, DOCTYPE, pos)) {
      throw new XmlSyntaxError('Document type declarations (DTDs) are not allowed', this.offset);
    }
    throw new XmlSyntaxError('Unexpected markup', this.offset);
  }

  private closeTag(): XmlToken | null {
    const { buf, pos } = this;
    const gt = buf.indexOf(GT, pos + 2);
    if (gt === -1) return this.needMore('end tag');
    const qname = buf.toString('utf8', pos + 2, gt).trimEnd();
    const start = this.offset;
    this.pos = gt + 1;
    const frame = this.pop(qname, start);
    return { kind: 'close', qname, local: frame.local, ns: frame.ns };
  }

  private pop(qname: string, offset: number): Frame {
    const frame = this.stack.pop();
    if (!frame) throw new XmlSyntaxError(`Unexpected </${qname}>`, offset);
    if (frame.qname !== qname) {
      throw new XmlSyntaxError(`Expected </${frame.qname}> but found </${qname}>`, offset);
    }
    if (this.stack.length === 0) this.rootClosed = true;
    return frame;
  }

  private openTag(): XmlToken | null {
    const { buf, pos } = this;
    // Find the closing '>' outside quoted attribute values.
    let i = pos + 1;
    let gt = -1;
    while (i < buf.length) {
      const c = buf[i];
      if (c === QUOTE || c === APOS) {
        const q = buf.indexOf(c, i + 1);
        if (q === -1) return this.needMore('start tag');
        i = q + 1;
      } else if (c === GT) {
        gt = i;
        break;
      } else if (c === LT) {
        throw new XmlSyntaxError("Unexpected '<' inside a tag", this.consumed + i);
      } else i++;
    }
    if (gt === -1) return this.needMore('start tag');
    const start = this.offset;
    const selfClosing = buf[gt - 1] === SLASH;
    const body = buf.toString('utf8', pos + 1, selfClosing ? gt - 1 : gt);
    this.pos = gt + 1;
    if (this.rootClosed) throw new XmlSyntaxError('Content after the root element', start);
    const { qname, attrs } = parseTag(body, start);
    this.sawRoot = true;

    let bindings: Map<string, string> | undefined;
    for (const [name, value] of Object.entries(attrs)) {
      if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
      bindings ??= new Map();
      bindings.set(name === 'xmlns' ? '' : name.slice(6), value);
    }
    const colon = qname.indexOf(':');
    const prefix = colon === -1 ? '' : qname.slice(0, colon);
    const local = colon === -1 ? qname : qname.slice(colon + 1);
    const ns = this.resolve(prefix, bindings, start, qname);
    const frame: Frame = { qname, local, ns, bindings };
    if (!selfClosing) this.stack.push(frame);
    else if (this.stack.length === 0) this.rootClosed = true;
    return { kind: 'open', qname, local, ns, attrs, selfClosing };
  }

  private resolve(
    prefix: string,
    own: Map<string, string> | undefined,
    offset: number,
    qname: string,
  ): string {
    if (prefix === 'xml') return XML_NS;
    const direct = own?.get(prefix);
    if (direct !== undefined) return direct;
    for (let d = this.stack.length - 1; d >= 0; d--) {
      const uri = this.stack[d]?.bindings?.get(prefix);
      if (uri !== undefined) return uri;
    }
    if (prefix === '') return '';
    const lenient = this.lenientPrefixes.get(prefix);
    if (lenient !== undefined) return lenient;
    throw new XmlSyntaxError(`Undeclared namespace prefix in <${qname}>`, offset);
  }
}
