import { describe, expect, it } from 'vitest';
import {
  ControlSyntaxError,
  ParagraphSplitter,
  parseParagraph,
  parseParagraphs,
} from './deb822.ts';

describe('deb822 paragraphs', () => {
  it('reads fields case-insensitively, with continuation lines', () => {
    const p = parseParagraph('Package: app\nVERSION: 1.0\nDescription: short\n long\n .\n more\n');
    expect(p.get('package')).toBe('app');
    expect(p.get('version')).toBe('1.0');
    expect(p.get('description')).toBe('short\nlong\n.\nmore');
  });

  it('splits paragraphs however the text is chunked', () => {
    const text = 'A: 1\nB: 2\n\n\nA: 3\r\n\nA: 4\n';
    const whole = parseParagraphs(text).map((p) => p.get('a'));
    expect(whole).toEqual(['1', '3', '4']);
    for (let size = 1; size < text.length; size++) {
      const found: string[] = [];
      const splitter = new ParagraphSplitter((t) => found.push(parseParagraph(t).get('a') ?? ''));
      for (let i = 0; i < text.length; i += size) splitter.push(text.slice(i, i + size));
      splitter.finish();
      expect(found, `chunks of ${size}`).toEqual(['1', '3', '4']);
    }
  });

  it('reads CRLF line ends', () => {
    expect(parseParagraphs('A: 1\r\nB: 2\r\n\r\nA: 3\r\n').map((p) => p.get('a'))).toEqual([
      '1',
      '3',
    ]);
  });

  it('names the line of a malformed field', () => {
    expect(() => parseParagraphs('A: 1\n\nA: 2\nnot a field\n')).toThrow(
      new ControlSyntaxError("line 4: not a 'Field: value' line"),
    );
    expect(() => parseParagraph(' lone continuation')).toThrow(/continuation line with no field/);
  });
});
