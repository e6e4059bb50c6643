import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexOfEndTag, tagBytes } from './xml-bytes.ts';

describe('plugins/yum/xml-bytes indexOfEndTag', () => {
  it('finds the first `</q` at or after the start, as a plain search does', () => {
    // Pieces that make near misses likely: tags that start alike, split probes, `/q` without `<`.
    const piece = fc.constantFrom(
      '</package',
      '</package>',
      '</packager>',
      '</packag',
      '/package',
      '/packag',
      '<package',
      '<',
      '/',
      'e',
      'g',
      '>',
      ' ',
      '\n',
      '\r\n',
      'x',
      '</p',
      '</x',
      'ä',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.constantFrom('package', 'p', 'x', 'rpm:provides', 'pa'),
        fc.nat({ max: 200 }),
        (pieces, qname, start) => {
          const buf = Buffer.from(pieces.join(''));
          const from = Math.min(start, buf.length);
          const tags = tagBytes(qname);
          expect(indexOfEndTag(buf, from, tags)).toBe(buf.indexOf(tags.end, from));
        },
      ),
      { numRuns: 3000, seed: 23 },
    );
  });

  it('agrees with a plain search at every start on the real CentOS Stream 9 primary', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { gunzipSync } = await import('node:zlib');
    const { fixturePath } = await import('../../test/helpers/fixtures.ts');
    const dir = `${fixturePath('osbuild/cs9-appstream-2025')}/repodata`;
    const file = readdirSync(dir).find((f) => f.endsWith('primary.xml.gz')) as string;
    const xml = gunzipSync(readFileSync(`${dir}/${file}`));
    for (const qname of ['package', 'rpm:provides', 'file', 'format']) {
      const tags = tagBytes(qname);
      let found = 0;
      // Every occurrence in turn, then starts just before and after each.
      for (let at = 0; ; ) {
        const expected = xml.indexOf(tags.end, at);
        expect(indexOfEndTag(xml, at, tags)).toBe(expected);
        if (expected === -1) break;
        expect(indexOfEndTag(xml, expected + 1, tags)).toBe(xml.indexOf(tags.end, expected + 1));
        found++;
        at = expected + 2;
      }
      expect(found).toBeGreaterThan(1000);
    }
  });
});
