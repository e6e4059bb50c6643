/**
 * Debian control-file paragraphs (deb822), as in Release and Packages files: `Field: value`
 * lines, continuation lines starting with a space or tab, paragraphs separated by blank lines.
 * Field names are case-insensitive; they are kept as written and looked up case-insensitively.
 */

/** One paragraph: field names lower-cased to their values (continuations joined by '\n'). */
export type Paragraph = Map<string, string>;

/** Thrown for text that is not a control file. */
export class ControlSyntaxError extends Error {
  override name = 'ControlSyntaxError';
}

/** Parses one paragraph's lines. `line` numbers the first line, for messages. */
export function parseParagraph(text: string, line = 1): Paragraph {
  const fields: Paragraph = new Map();
  let current: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw.startsWith(' ') || raw.startsWith('\t')) {
      if (current === undefined)
        throw new ControlSyntaxError(`line ${line + i}: a continuation line with no field`);
      fields.set(current, `${fields.get(current)}\n${raw.slice(1)}`);
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) throw new ControlSyntaxError(`line ${line + i}: not a 'Field: value' line`);
    current = raw.slice(0, colon).toLowerCase();
    fields.set(current, raw.slice(colon + 1).trim());
  }
  return fields;
}

/** Every paragraph of a (small) control file. */
export function parseParagraphs(text: string): Paragraph[] {
  const found: Paragraph[] = [];
  const splitter = new ParagraphSplitter((p, line) => found.push(parseParagraph(p, line)));
  splitter.push(text);
  splitter.finish();
  return found;
}

/**
 * Splits streamed text into paragraphs, handing each to `onParagraph` as text (unparsed: the
 * reader decides whether it is worth parsing). Holds no more than one paragraph in memory.
 */
export class ParagraphSplitter {
  private pending = '';
  private line = 1;

  constructor(private readonly onParagraph: (text: string, line: number) => void) {}

  push(text: string): void {
    // Files written on Windows: CRLF line ends (a CR is never meaningful in a field).
    const data = this.pending + (text.includes('\r') ? text.replace(/\r/g, '') : text);
    let start = 0;
    for (;;) {
      const end = data.indexOf('\n\n', start);
      if (end < 0) break;
      this.emit(data.slice(start, end + 1));
      start = end + 2;
      this.line++;
      // More blank lines between paragraphs.
      while (data.charCodeAt(start) === 10) {
        start++;
        this.line++;
      }
    }
    this.pending = data.slice(start);
  }

  finish(): void {
    if (this.pending.trim() !== '') this.emit(this.pending);
    this.pending = '';
  }

  private emit(text: string): void {
    const first = this.line;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.line++;
    if (text.trim() !== '') this.onParagraph(text, first);
  }
}
