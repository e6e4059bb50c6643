/**
 * A small, strict, incremental XML tokenizer over bytes (UTF-8), made for repodata: it yields
 * tags and text, resolves namespaces, decodes the five predefined entities and character
 * references, and can skip a whole element with a byte search (`skipElement`), which is what makes
 * reading a 100,000-package primary.xml fast. DTDs are refused outright: no entity is ever
 * declared, so none can be expanded (no XXE, no billion laughs).
 */

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

/** Malformed XML; `offset` is the byte position in the document. */
export class XmlSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.offset = offset;
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const QUOTE = 0x22;
const APOS = 0x27;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

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
    const tail = this.buf.length - this.pos;
    const next = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.consumed += this.pos;
    if (tail === 0) {
      this.release();
      this.buf = next;
    } else {
      // Unfinished bytes stay in front of the new chunk. Two scratch buffers are reused in turn:
      // fresh megabyte allocations per chunk cost more in page faults than the copy itself.
      const size = tail + next.length;
      let target = this.spare && this.spare.length >= size ? this.spare : undefined;
      this.spare = undefined;
      target ??= Buffer.allocUnsafeSlow(Math.max(size + (size >> 2), 1 << 16));
      this.buf.copy(target, 0, this.pos, this.buf.length);
      next.copy(target, tail);
      this.release();
      this.scratch = target;
      this.buf = target.subarray(0, size);
    }
    this.pos = 0;
    this.findSpecials(tail);
  }

  /** The scratch buffer `buf` lives in, if any. */
  private scratch: Buffer | undefined;
  private spare: Buffer | undefined;

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

  private findSpecials(from: number): void {
    const { buf } = this;
    const found: number[] = [];
    for (const mark of [BANG, QUESTION]) {
      for (let i = buf.indexOf(mark, Math.max(from, 1)); i !== -1; i = buf.indexOf(mark, i + 1)) {
        if (buf[i - 1] === LT) found.push(this.consumed + i - 1);
      }
    }
    // A `<` at the very end of the previous data and `!`/`?` first in this chunk.
    if (from > 0 && (buf[from] === BANG || buf[from] === QUESTION) && buf[from - 1] === LT) {
      found.push(this.consumed + from - 1);
    }
    if (found.length === 0) return;
    if (this.specialsHead > 0) {
      this.specials = this.specials.slice(this.specialsHead);
      this.specialsHead = 0;
    }
    this.specials.push(...new Set(found));
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

/** `buf[at…]` equals `literal` (a short byte string), compared in JavaScript: no native call. */
function bytesAt(buf: Buffer, at: number, literal: Buffer): boolean {
  if (buf.length - at < literal.length) return false;
  for (let i = 0; i < literal.length; i++) if (buf[at + i] !== literal[i]) return false;
  return true;
}

const TAGS = new Map<string, { open: Buffer; close: Buffer; end: Buffer }>();

/** `<q>`, `</q>` and `</q` as bytes, made once per name: searching with bytes skips encoding. */
function tagBytes(qname: string): { open: Buffer; close: Buffer; end: Buffer } {
  let tags = TAGS.get(qname);
  if (!tags) {
    tags = {
      open: Buffer.from(`<${qname}>`),
      close: Buffer.from(`</${qname}>`),
      end: Buffer.from(`</${qname}`),
    };
    TAGS.set(qname, tags);
  }
  return tags;
}

const COMMENT = Buffer.from('<!--');
const CDATA = Buffer.from('<![CDATA[');
const DOCTYPE = Buffer.from('<!DOCTYPE');

function startsAt(buf: Buffer, prefix: Buffer, pos: number): boolean {
  return (
    buf.length - pos >= prefix.length &&
    buf.compare(prefix, 0, prefix.length, pos, pos + prefix.length) === 0
  );
}

function parseTag(body: string, offset: number): { qname: string; attrs: Record<string, string> } {
  let i = 0;
  const n = body.length;
  while (i < n && !isSpace(body.charCodeAt(i))) i++;
  const qname = body.slice(0, i);
  if (!NAME.test(qname))
    throw new XmlSyntaxError(`Invalid element name '${qname.slice(0, 40)}'`, offset);
  const attrs: Record<string, string> = {};
  for (;;) {
    const before = i;
    while (i < n && isSpace(body.charCodeAt(i))) i++;
    if (i >= n) break;
    if (i === before)
      throw new XmlSyntaxError(`Attributes of <${qname}> must be separated by spaces`, offset);
    const eq = body.indexOf('=', i);
    if (eq === -1) throw new XmlSyntaxError(`Attribute without a value in <${qname}>`, offset);
    const name = body.slice(i, eq).trimEnd();
    if (!NAME.test(name)) throw new XmlSyntaxError(`Invalid attribute name in <${qname}>`, offset);
    i = eq + 1;
    while (i < n && isSpace(body.charCodeAt(i))) i++;
    const quote = body[i];
    if (quote !== '"' && quote !== "'") {
      throw new XmlSyntaxError(`Attribute '${name}' of <${qname}> is not quoted`, offset);
    }
    const close = body.indexOf(quote, i + 1);
    if (close === -1)
      throw new XmlSyntaxError(`Unterminated attribute '${name}' in <${qname}>`, offset);
    const raw = body.slice(i + 1, close);
    if (raw.includes('<'))
      throw new XmlSyntaxError(`'<' in attribute '${name}' of <${qname}>`, offset);
    if (Object.hasOwn(attrs, name))
      throw new XmlSyntaxError(`Duplicate attribute '${name}' in <${qname}>`, offset);
    attrs[name] = decodeEntities(raw, offset);
    i = close + 1;
  }
  return { qname, attrs };
}

/** The first position at or after `from` that is not XML white space. */
function skipSpace(buf: Buffer, from: number): number {
  let p = from;
  while (p < buf.length && isSpace(buf[p] as number)) p++;
  return p;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);?/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; any other entity is an error. */
export function decodeEntities(text: string, offset: number): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (match, ref: string) => {
    if (!match.endsWith(';'))
      throw new XmlSyntaxError(`Unterminated entity reference '${match}'`, offset);
    if (ref.startsWith('#')) {
      const code =
        ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff))
        throw new XmlSyntaxError(`Invalid character reference '${match}'`, offset);
      return String.fromCodePoint(code);
    }
    const value = NAMED[ref];
    if (value === undefined) throw new XmlSyntaxError(`Undefined entity '&${ref};'`, offset);
    return value;
  });
}
