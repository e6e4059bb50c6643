import {
  AMP,
  bytesAt,
  GT,
  indexOfEndTag,
  LT,
  MAX_TOKEN_BYTES,
  QUESTION,
  skipSpace,
  tagBytes,
  XmlSyntaxError,
} from './xml-bytes.ts';
import { XmlTokenizer } from './xml-tokenizer.ts';

/**
 * The tokenizer with the fast paths repodata needs: opening and reading the elements createrepo_c
 * repeats by their exact bytes, and stepping over whole elements with a byte search instead of
 * tokenizing them. Each fast path consumes nothing when the input is anything else, so the
 * caller falls back to `next()` and gets the same answer, only slower.
 */
export class XmlScanner extends XmlTokenizer {
  /**
   * Opens `<qname>` when the next thing after white space is exactly one of `literals` (e.g.
   * `<package type="rpm">`), without tokenizing it: the fast path for primary.xml's repeated
   * element. Returns true when opened, false when the input is anything else (nothing
   * consumed; use `next()`), null when more input is needed to tell.
   */
  openLiteral(qname: string, literals: readonly Buffer[]): boolean | null {
    if (this.starved()) return null;
    for (;;) {
      const opened = this.openLiteralHere(qname, literals);
      if (opened !== null) return opened;
      if (!this.advance()) return this.starving(null);
    }
  }

  /** Returns `value` (meaning "more input needed") after making reads wait for it. */
  private starving<T>(value: T): T {
    this.starve();
    return value;
  }

  private openLiteralHere(qname: string, literals: readonly Buffer[]): boolean | null {
    const { buf } = this;
    const p = skipSpace(buf, this.pos);
    for (const literal of literals) {
      if (buf.length - p < literal.length) return this.ended ? false : null;
      if (!bytesAt(buf, p, literal)) continue;
      const ns = this.resolve('', undefined, this.offset, qname);
      this.push(qname, qname, ns, undefined, this.consumed + p);
      this.pos = p + literal.length;
      return true;
    }
    return false;
  }

  /**
   * Reads `<qname>text</qname>` when it is the next thing after white space and holds plain
   * text only (no markup, no entity): the fast path for `<name>` in primary.xml. Returns the
   * text, `undefined` when the input is anything else (nothing consumed; use `next()`), or
   * `null` when more input is needed to tell.
   */
  readSimpleElement(qname: string): string | null | undefined {
    if (this.starved()) return null;
    for (;;) {
      const text = this.readSimpleElementHere(qname);
      if (text !== null) return text;
      if (!this.advance()) return this.starving(null);
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
    // A text too long for a token is the tokenizer's to refuse, whatever the chunks.
    if ((lt === -1 ? buf.length : lt) - start > MAX_TOKEN_BYTES) return undefined;
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

  /**
   * Skips the rest of the element `qname` whose start tag was the last token read at this depth,
   * up to and including its end tag. Returns false when more input is needed (call again after
   * `feed`). Assumes the element holds no element of the same name, as in repodata.
   */
  skipElement(qname: string): boolean {
    if (this.starved()) return false;
    for (;;) {
      if (this.skipElementHere(qname)) return true;
      if (!this.advance()) return this.starving(false);
    }
  }

  private skipElementHere(qname: string): boolean {
    const tags = tagBytes(qname);
    const needle = tags.end;
    for (;;) {
      const { buf } = this;
      const close = indexOfEndTag(buf, this.pos, tags);
      const limit = close === -1 ? Math.max(this.pos, buf.length - needle.length - 8) : close;
      // A comment, CDATA section or PI before the end tag may hide a false end tag: step over it.
      const hidden = this.specialBetween(this.pos, limit);
      if (hidden !== -1) {
        this.pos = hidden;
        if (buf[hidden + 1] === QUESTION) {
          const end = buf.indexOf('?>', hidden + 2);
          this.within('processing instruction', end === -1 ? buf.length : end + 2);
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

  /**
   * Steps over a run of sibling elements that start exactly as one of `run.opens` (e.g.
   * `<package type="rpm">`) and whose first child is `<run.first>`, for as long as that child's
   * text says so (see `SkipRun`): each is passed over up to its end tag without being tokenized,
   * like `skipElement`. The fast path for the packages a spec cannot match. Stops before
   * anything else (a comment or CDATA inside, another layout), consuming nothing of it. Returns
   * how many elements it stepped over.
   */
  skipRun(qname: string, run: SkipRun): number {
    if (this.starved()) return 0;
    let count = 0;
    for (;;) {
      const here = this.skipRunHere(qname, run);
      count += here.count;
      if (!here.short || !this.advance()) return count;
    }
  }

  private skipRunHere(qname: string, run: SkipRun): { count: number; short: boolean } {
    const { buf } = this;
    const { open: firstOpen, close: firstClose } = tagBytes(run.first);
    const endTags = tagBytes(qname);
    const endTag = endTags.end;
    let count = 0;
    const short = () => ({ count, short: true });
    for (;;) {
      const start = skipSpace(buf, this.pos);
      let p = -1;
      for (const literal of run.opens) {
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
      let from = p + firstOpen.length;
      const verdict = prefixVerdict(buf, from, run.prefix);
      if (verdict === 'short') return short();
      if (verdict !== 'differs') {
        const textStart = from;
        // Names are short: a loop here is cheaper than a native search.
        let lt = textStart;
        while (lt < buf.length && buf[lt] !== LT) {
          if (buf[lt] === AMP || lt - textStart > MAX_TOKEN_BYTES) return { count, short: false };
          lt++;
        }
        if (buf.length - lt < firstClose.length) return short();
        if (!bytesAt(buf, lt, firstClose) || !run.skip(buf.toString('utf8', textStart, lt))) {
          return { count, short: false };
        }
        from = lt + firstClose.length;
      }
      // The end tag is `</qname` + optional white space + `>`.
      let close: number;
      let gt: number;
      for (;;) {
        close = indexOfEndTag(buf, from, endTags);
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
}

/** How `skipRun` decides on an element from the text of its first child. */
export interface SkipRun {
  /** Start tags the elements are written with, byte for byte (e.g. `<package type="rpm">`). */
  opens: readonly Buffer[];
  /** The first child, whose text decides (e.g. `name`). */
  first: string;
  /**
   * Texts that do not start with these bytes (after ASCII white space) are stepped over without
   * being read further; empty to read every text.
   */
  prefix: Buffer;
  /** For a text in plain characters that does start so: true to step over its element. */
  skip(text: string): boolean;
}

/**
 * Whether the text at `at` certainly does not start with `prefix`, as decoded and trimmed:
 * 'differs' only when the bytes compared are plain ASCII characters (no entity, no markup, no
 * white space beyond what trimming removes); otherwise 'open' (read it), or 'short' of bytes.
 */
function prefixVerdict(buf: Buffer, at: number, prefix: Buffer): 'differs' | 'open' | 'short' {
  if (prefix.length === 0) return 'open';
  let p = skipSpace(buf, at);
  if (buf.length - p < prefix.length) return 'short';
  for (let i = 0; i < prefix.length; i++, p++) {
    const c = buf[p] as number;
    if (c === LT || c === AMP || c >= 0x80) return 'open';
    if (c !== prefix[i]) return 'differs';
  }
  return 'open';
}
