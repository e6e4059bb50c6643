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
    this.buf = tail === 0 ? next : Buffer.concat([this.buf.subarray(this.pos), next]);
    this.pos = 0;
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
    const needle = `</${qname}`;
    for (;;) {
      const { buf } = this;
      const close = buf.indexOf(needle, this.pos);
      const limit = close === -1 ? Math.max(this.pos, buf.length - needle.length - 8) : close;
      // A comment, CDATA section or PI before the end tag may hide a false end tag: step over it.
      const hidden = firstOf(buf, this.pos, limit);
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
      const gt = buf.indexOf(GT, after);
      if (gt === -1) {
        this.pos = close;
        return this.needMoreSkip(`</${qname}>`);
      }
      if (buf.toString('latin1', after, gt).trim() !== '') {
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

const COMMENT = Buffer.from('<!--');
const CDATA = Buffer.from('<![CDATA[');
const DOCTYPE = Buffer.from('<!DOCTYPE');

function startsAt(buf: Buffer, prefix: Buffer, pos: number): boolean {
  return (
    buf.length - pos >= prefix.length &&
    buf.compare(prefix, 0, prefix.length, pos, pos + prefix.length) === 0
  );
}

function firstOf(buf: Buffer, from: number, to: number): number {
  if (to <= from) return -1;
  const window = buf.subarray(from, to);
  const bang = window.indexOf('<!');
  const pi = window.indexOf('<?');
  const hit = bang === -1 ? pi : pi === -1 ? bang : Math.min(bang, pi);
  return hit === -1 ? -1 : from + hit;
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
