/**
 * Reads a plugin's answer as GoCD does. GoCD parses plugin answers with Gson's lenient reader
 * (`new GsonBuilder().create().fromJson(body, Object.class)`), which also takes what strict
 * JSON refuses: unquoted names and values, single-quoted strings, `=` or `=>` between a name
 * and its value, `;` between members, and `//`, `#` and block comments. GoCD's own handler
 * test answers `{"status":"success",messages=["message-one"]}`. Strict JSON is tried first; the
 * lenient reader only runs on what `JSON.parse` refuses.
 *
 * @throws SyntaxError naming the offset of the first thing it cannot read.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const reader = new LenientReader(text);
    const value = reader.value();
    reader.end();
    return value;
  }
}

const LITERAL_END = /[\s{}[\]:,;=#/\\'"]/;

class LenientReader {
  private at = 0;

  constructor(private readonly text: string) {}

  value(): unknown {
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"' || c === "'") return this.string();
    return this.literal();
  }

  end(): void {
    if (this.peek() !== undefined) this.fail('unexpected text after the value');
  }

  private object(): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.at++;
    for (;;) {
      const c = this.peek();
      if (c === '}') {
        this.at++;
        return result;
      }
      const name = c === '"' || c === "'" ? this.string() : String(this.literalText());
      const sep = this.peek();
      if (sep === ':') this.at++;
      else if (sep === '=') this.at += this.text[this.at + 1] === '>' ? 2 : 1;
      else this.fail("expected ':' or '=' after a name");
      result[name] = this.value();
      const next = this.peek();
      if (next === ',' || next === ';') this.at++;
      else if (next !== '}') this.fail("expected ',' or '}'");
    }
  }

  private array(): unknown[] {
    const result: unknown[] = [];
    this.at++;
    for (;;) {
      if (this.peek() === ']') {
        this.at++;
        return result;
      }
      result.push(this.value());
      const next = this.peek();
      if (next === ',' || next === ';') this.at++;
      else if (next !== ']') this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    const quote = this.text[this.at];
    let out = '';
    for (this.at++; this.at < this.text.length; this.at++) {
      const c = this.text[this.at] as string;
      if (c === quote) {
        this.at++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[++this.at];
      if (e === 'u') {
        out += String.fromCharCode(Number.parseInt(this.text.slice(this.at + 1, this.at + 5), 16));
        this.at += 4;
      } else {
        out +=
          ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e ?? ''] ?? e;
      }
    }
    return this.fail('unterminated string');
  }

  private literal(): unknown {
    const word = this.literalText();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    const number = Number(word);
    return /^-?\d/.test(word) && !Number.isNaN(number) ? number : word;
  }

  private literalText(): string {
    const start = this.at;
    while (this.at < this.text.length && !LITERAL_END.test(this.text[this.at] as string)) this.at++;
    if (this.at === start) this.fail('expected a value');
    return this.text.slice(start, this.at);
  }

  /** The next character that is not white space or a comment (undefined at the end). */
  private peek(): string | undefined {
    for (;;) {
      while (/\s/.test(this.text[this.at] ?? '')) this.at++;
      const c = this.text[this.at];
      const next = this.text[this.at + 1];
      if (c === '#' || (c === '/' && next === '/')) {
        const eol = this.text.indexOf('\n', this.at);
        this.at = eol < 0 ? this.text.length : eol + 1;
      } else if (c === '/' && next === '*') {
        const close = this.text.indexOf('*/', this.at + 2);
        if (close < 0) this.fail('unterminated comment');
        this.at = close + 2;
      } else return c;
    }
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} at offset ${this.at}`);
  }
}
