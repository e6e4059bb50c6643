/**
 * A small, strict, incremental XML tokenizer over bytes (UTF-8), made for repodata: it yields
 * tags and text, resolves namespaces, decodes the five predefined entities and character
 * references. DTDs are refused outright: no entity is ever declared, so none can be expanded (no
 * XXE, no billion laughs). `XmlScanner` adds the byte-search fast paths that make reading a
 * 100,000-package primary.xml fast.
 */

import {
  BANG,
  CDATA,
  COMMENT,
  DOCTYPE,
  decodeEntities,
  GT,
  LT,
  MAX_DEPTH,
  MAX_TOKEN_BYTES,
  parseTag,
  QUESTION,
  SLASH,
  startsAt,
  tooLong,
  XmlSyntaxError,
} from './xml-bytes.ts';
import { XmlInput } from './xml-input.ts';

export { decodeEntities, MAX_DEPTH, MAX_TOKEN_BYTES, XmlSyntaxError } from './xml-bytes.ts';

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

const QUOTE = 0x22;
const APOS = 0x27;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** An open element. */
export interface Frame {
  qname: string;
  local: string;
  ns: string;
  /** What this element's prefix bindings replaced in scope, to restore at its end tag. */
  shadowed: [prefix: string, uri: string | undefined][] | undefined;
}

export class XmlTokenizer extends XmlInput {
  protected readonly stack: Frame[] = [];
  /**
   * The prefix bindings in scope, kept as elements open and close: resolving a name is one
   * look-up, not a walk down the element stack (which made deep nesting quadratic).
   */
  private readonly scope = new Map<string, string>();
  private sawRoot = false;
  private rootClosed = false;
  /** Prefixes accepted without a declaration (real repodata writes `rpm:` carelessly). */
  private readonly lenientPrefixes: ReadonlyMap<string, string>;

  constructor(options: { lenientPrefixes?: Record<string, string> } = {}) {
    super();
    this.lenientPrefixes = new Map(Object.entries(options.lenientPrefixes ?? {}));
  }

  /** Depth of the element stack (0 outside the root). */
  get depth(): number {
    return this.stack.length;
  }

  /**
   * The next token, or `null` when more input is needed (or, after `end()`, when the document is
   * complete). Throws XmlSyntaxError on malformed input.
   */
  next(): XmlToken | null {
    if (this.starved()) return null;
    for (;;) {
      const token = this.nextHere();
      if (token !== null) return token;
      if (!this.advance()) {
        this.starve();
        return null;
      }
    }
  }

  private nextHere(): XmlToken | null {
    for (;;) {
      const { buf } = this;
      if (this.pos >= buf.length) return this.atEnd();
      if (buf[this.pos] !== LT) {
        const lt = buf.indexOf(LT, this.pos);
        const stop = lt === -1 ? buf.length : lt;
        if (stop - this.pos > MAX_TOKEN_BYTES) throw tooLong('text', this.offset);
        if (lt === -1 && !this.ended) return null;
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
        this.within('processing instruction', end + 2);
        this.pos = end + 2;
        continue;
      }
      if (kind === SLASH) return this.closeTag();
      return this.openTag();
    }
  }

  private atEnd(): null {
    if (!this.ended) return null;
    const top = this.stack.at(-1);
    if (top) throw new XmlSyntaxError(`Document ends before </${top.qname}>`, this.offset);
    if (!this.sawRoot) throw new XmlSyntaxError('Document has no root element', this.offset);
    return null;
  }

  protected needMore(what: string): null {
    this.within(what, this.buf.length);
    if (this.ended) throw new XmlSyntaxError(`Document ends inside a ${what}`, this.offset);
    return null;
  }

  /** Throws when the construct `what` starting at `pos` and ending at `end` is too long. */
  protected within(what: string, end: number): void {
    if (end - this.pos > MAX_TOKEN_BYTES) throw tooLong(what, this.offset);
  }

  /** `<!--…-->`, `<![CDATA[…]]>`, or a refused `<!DOCTYPE`. Returns undefined for comments. */
  protected special(): XmlToken | null | undefined {
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
      this.within('comment', end + 3);
      this.pos = end + 3;
      return undefined;
    }
    if (startsAt(buf, CDATA, pos)) {
      const end = buf.indexOf(']]>', pos + 9);
      if (end === -1) return this.needMore('CDATA section');
      this.within('CDATA section', end + 3);
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
    this.within('end tag', gt + 1);
    const qname = buf.toString('utf8', pos + 2, gt).trimEnd();
    const start = this.offset;
    this.pos = gt + 1;
    const frame = this.pop(qname, start);
    return { kind: 'close', qname, local: frame.local, ns: frame.ns };
  }

  protected pop(qname: string, offset: number): Frame {
    const frame = this.stack.pop();
    if (!frame) throw new XmlSyntaxError(`Unexpected </${qname}>`, offset);
    if (frame.qname !== qname) {
      throw new XmlSyntaxError(`Expected </${frame.qname}> but found </${qname}>`, offset);
    }
    if (frame.shadowed) {
      for (const [prefix, uri] of frame.shadowed.reverse()) {
        if (uri === undefined) this.scope.delete(prefix);
        else this.scope.set(prefix, uri);
      }
    }
    if (this.stack.length === 0) this.rootClosed = true;
    return frame;
  }

  /** Opens an element: its bindings come into scope until its end tag. */
  protected push(
    qname: string,
    local: string,
    ns: string,
    bindings: Map<string, string> | undefined,
    offset: number,
  ): void {
    if (this.stack.length >= MAX_DEPTH) {
      throw new XmlSyntaxError(`Elements nested deeper than ${MAX_DEPTH} levels`, offset);
    }
    let shadowed: Frame['shadowed'];
    if (bindings) {
      shadowed = [];
      for (const [prefix, uri] of bindings) {
        shadowed.push([prefix, this.scope.get(prefix)]);
        this.scope.set(prefix, uri);
      }
    }
    this.stack.push({ qname, local, ns, shadowed });
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
    this.within('start tag', gt + 1);
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
    if (!selfClosing) this.push(qname, local, ns, bindings, start);
    else if (this.stack.length === 0) this.rootClosed = true;
    return { kind: 'open', qname, local, ns, attrs, selfClosing };
  }

  protected resolve(
    prefix: string,
    own: Map<string, string> | undefined,
    offset: number,
    qname: string,
  ): string {
    if (prefix === 'xml') return XML_NS;
    const uri = own?.get(prefix) ?? this.scope.get(prefix);
    if (uri !== undefined) return uri;
    if (prefix === '') return '';
    const lenient = this.lenientPrefixes.get(prefix);
    if (lenient !== undefined) return lenient;
    throw new XmlSyntaxError(`Undeclared namespace prefix in <${qname}>`, offset);
  }
}
