import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../../test/helpers/fixtures.ts';
import { type PrimaryPackage, PrimaryReader } from './primary.ts';
import { MAX_TOKEN_BYTES, XmlSyntaxError } from './xml-tokenizer.ts';

const COMMON = 'http://linux.duke.edu/metadata/common';

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm">
  <name>app</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="SHA256" pkgid="YES">aaa</checksum>
  <summary>Fish &amp; chips &lt;3 &#x263A;</summary>
  <description><![CDATA[</package> in CDATA must not end the package]]></description>
  <packager>Bob &quot;B&quot; &apos;O&apos;</packager>
  <url>https://example.com/?a=1&amp;b=2</url>
  <time file="1700000001" build="1700000000"/>
  <size package="10" installed="20" archive="30"/>
  <location xml:base="https://mirror.example.com/x/" href="Packages/app-1.0-1.noarch.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:sourcerpm>app-1.0-1.src.rpm</rpm:sourcerpm>
    <rpm:provides><rpm:entry name="app" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
    <!-- </package> in a comment -->
    <file>/usr/bin/app</file>
  </format>
</package>
<package type="rpm"><name>other</name><arch>x86_64</arch><version epoch="2" ver="3" rel="4"/>
  <description>&lt;/package&gt; escaped</description><format><rpm:sourcerpm>x</rpm:sourcerpm></format></package>
<package type="rpm"><arch>x86_64</arch><name>app</name><version ver="2.0" rel="1" epoch="1"/><format/></package>
</metadata>
`;

/** The CentOS Stream 9 AppStream primary.xml of the fixtures, decompressed (17,649 packages). */
function cs9Primary(): Buffer {
  const dir = `${fixturePath('osbuild/cs9-appstream-2025')}/repodata`;
  const file = readdirSync(dir).find((f) => f.endsWith('primary.xml.gz')) as string;
  return gunzipSync(readFileSync(`${dir}/${file}`));
}

function read(
  xml: string | Uint8Array,
  chunkSizes: number[] = [1 << 20],
  want: (name: string) => boolean = (n) => n === 'app',
  namePrefix?: string,
) {
  const packages: PrimaryPackage[] = [];
  const reader = new PrimaryReader({
    wantName: want,
    onPackage: (p) => packages.push(p),
    ...(namePrefix === undefined ? {} : { namePrefix }),
  });
  const bytes = typeof xml === 'string' ? Buffer.from(xml) : Buffer.from(xml);
  // Every chunk is fed from the same memory, written over once `push` returns (as the zstd
  // decoder does): the reader must copy what it keeps.
  const shared = Buffer.alloc(Math.max(...chunkSizes));
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = chunkSizes[i++ % chunkSizes.length] as number;
    const piece = shared.subarray(0, bytes.copy(shared, 0, at, at + size));
    reader.push(piece);
    shared.fill('<');
    at += size;
  }
  const summary = reader.finish();
  return { packages, summary };
}

describe('plugins/yum/primary', () => {
  it('reads the fields of wanted packages and counts the skipped ones', () => {
    const { packages, summary } = read(PRIMARY);
    expect(summary.packages).toBe(3);
    expect(packages).toHaveLength(2);
    expect(packages[0]).toEqual({
      name: 'app',
      arch: 'noarch',
      epoch: '0',
      version: '1.0',
      release: '1',
      checksum: 'aaa',
      checksumType: 'sha256',
      href: 'Packages/app-1.0-1.noarch.rpm',
      base: 'https://mirror.example.com/x/',
      buildTime: 1700000000,
      fileTime: 1700000001,
      packager: `Bob "B" 'O'`,
      url: 'https://example.com/?a=1&b=2',
      summary: 'Fish & chips <3 ☺',
      sizePackage: 10,
      sizeInstalled: 20,
      sizeArchive: 30,
      sourceRpm: 'app-1.0-1.src.rpm',
    });
    // Attribute order and element order do not matter.
    expect(packages[1]).toMatchObject({
      name: 'app',
      arch: 'x86_64',
      epoch: '1',
      version: '2.0',
      release: '1',
    });
  });

  it('gives the same answer whatever the chunk boundaries', () => {
    const whole = read(PRIMARY).packages;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (sizes) => {
          expect(read(PRIMARY, sizes).packages).toEqual(whole);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
    for (let size = 1; size <= 12; size++) expect(read(PRIMARY, [size]).packages).toEqual(whole);
  });

  it('steps over an unknown element beside the packages that nests one of its own name, as dnf does', () => {
    const whole = read(PRIMARY).packages;
    const odd = PRIMARY.replace(
      'packages="3">',
      'packages="3"><x a="1"><x><x/><y>t</y></x><!-- </x> --></x><z/>',
    );
    for (const sizes of [[1 << 20], [1], [7], [13, 2]]) {
      expect(read(odd, sizes).packages).toEqual(whole);
    }
    expect(() => read(PRIMARY.replace('packages="3">', 'packages="3"><x><x></x>'))).toThrow(
      XmlSyntaxError,
    );
  });

  it('skips on name bytes exactly as reading every package and filtering would', () => {
    const layouts: ((name: string, i: number) => string)[] = [
      (n, i) =>
        `<package type="rpm">\n  <name>${n}</name>\n  <arch>x86_64</arch>\n  <version epoch="0" ver="${i}" rel="1"/>\n  <format><rpm:requires><rpm:entry name="${n}x"/></rpm:requires><file>/a</file></format>\n</package>`,
      (n, i) =>
        `<package><name>${n}</name><arch>noarch</arch><version ver="${i}" rel="2"/></package>`,
      (n, i) => `<package type="rpm"><name> ${n}\n</name><version ver="${i}" rel="3"/></package >`,
      (n, i) =>
        `<package type="rpm"><name>${n ? `&#${n.charCodeAt(0)};${n.slice(1)}` : ''}</name><version ver="${i}" rel="4"/></package>`,
      (n, i) =>
        `<package type="rpm"><name><![CDATA[${n}]]></name><version ver="${i}" rel="5"/></package>`,
      (n, i) =>
        `<package type="rpm"><name>${n}</name><!-- </package> --><version ver="${i}" rel="6"/></package>`,
      (n, i) =>
        `<package type="rpm"><arch>src</arch><name>${n}</name><version ver="${i}" rel="7"/></package>`,
      (n, i) =>
        `<package type="rpm" x="1"><name>${n}</name><version ver="${i}" rel="8"/></package>`,
      (n, i) =>
        `<!-- between --><c:package><c:name>${n}</c:name><c:version ver="${i}" rel="9"/></c:package>`,
      // End tags found by their bytes: no newline before them, CRLF, white space inside,
      // look-alike names before them, `/package` outside a tag.
      (n, i) =>
        `<package type="rpm"><name>${n}</name><packager>p</packager><version ver="${i}" rel="10"/><format><file>/a/package</file></format></package>`,
      (n, i) =>
        `<package type="rpm">\r\n  <name>${n}</name>\r\n  <packager>x</packager>\r\n  <version ver="${i}" rel="11"/>\r\n</package>`,
      (n, i) =>
        `<package type="rpm"><name>${n}</name><packager/><version ver="${i}" rel="12"/></package\n\t>`,
      (n, i) =>
        `<package type="rpm"><name>${n}</name><rpm:packag>q</rpm:packag><packagex/><version ver="${i}" rel="13"/></package\r\n>`,
    ];
    const document = fc
      .array(
        fc.tuple(
          fc.constantFrom('a', 'ab', 'abc', 'b', 'ab-c', 'a.b', 'ä', ''),
          fc.integer({ min: 0, max: layouts.length - 1 }),
        ),
        { maxLength: 30 },
      )
      .map(
        (packages) =>
          `<?xml version="1.0"?>\n<metadata xmlns="${COMMON}" xmlns:c="${COMMON}" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n${packages
            .map(([name, layout], i) =>
              (layouts[layout] as (n: string, i: number) => string)(name, i),
            )
            .join('\n')}\n</metadata>\n`,
      );
    fc.assert(
      fc.property(
        document,
        fc.constantFrom('', 'a', 'ab', 'ä'),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 }),
        (xml, prefix, sizes) => {
          const want = (name: string) => name.startsWith(prefix) && name !== 'abc';
          const reference = read(xml, sizes, () => true);
          const fast = read(xml, sizes, want, prefix);
          expect(fast.summary).toEqual(reference.summary);
          expect(fast.packages).toEqual(reference.packages.filter((p) => want(p.name)));
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });

  it('reads every package when every name is wanted, including the skipped-name path', () => {
    const all = read(PRIMARY, [1 << 20], () => true).packages.map((p) => p.name);
    expect(all).toEqual(['app', 'other', 'app']);
  });

  it('accepts any prefix bound to the right namespaces', () => {
    const xml = `<c:metadata xmlns:c="http://linux.duke.edu/metadata/common" xmlns:r="http://linux.duke.edu/metadata/rpm">
      <c:package type="rpm"><c:name>app</c:name><c:arch>noarch</c:arch><c:version epoch="0" ver="1" rel="1"/>
      <c:format><r:sourcerpm>s.src.rpm</r:sourcerpm></c:format></c:package></c:metadata>`;
    expect(read(xml).packages[0]).toMatchObject({ name: 'app', sourceRpm: 's.src.rpm' });
  });

  it.each([
    ['a DTD', '<!DOCTYPE x [<!ENTITY a "b">]><metadata/>', /DTDs\) are not allowed/],
    [
      'an undefined entity',
      '<metadata><package><name>&xxe;</name></package></metadata>',
      /Undefined entity '&xxe;'/,
    ],
    [
      'mismatched tags',
      '<metadata><package><name>app</arch></package></metadata>',
      /Expected <\/name> but found <\/arch>/,
    ],
    [
      'a truncated document',
      '<metadata><package><name>app</name>',
      /Document ends before <\/package>/,
    ],
    [
      'a truncated skipped package',
      '<metadata><package><name>zzz</name><arch>',
      /Document ends inside <\/package>/,
    ],
    ['another root', '<repomd/>', /Root element is <repomd>, expected <metadata>/],
    ['text outside the root', 'hello <metadata/>', /Text outside the root element/],
    [
      'an unquoted attribute',
      '<metadata><package><version ver=1/></package></metadata>',
      /is not quoted/,
    ],
    ['an undeclared prefix', '<metadata><x:package/></metadata>', /Undeclared namespace prefix/],
    ['an empty document', '', /no root element/],
  ])('rejects %s with a clear error', (_what, xml, message) => {
    expect(() => read(xml)).toThrow(XmlSyntaxError);
    expect(() => read(xml)).toThrow(message);
  });

  it('reads the real CentOS Stream 9 primary (17,649 packages)', () => {
    const xml = cs9Primary();
    const { packages, summary } = read(xml, [65536], (n) => n === 'passt');
    expect(summary.packages).toBe(17649);
    expect(packages.map((p) => `${p.version}-${p.release}`)).toContain('0^20241121.g238c69f-1.el9');
  });

  it('skips on name bytes exactly as reading everything would, on the real CentOS Stream 9 primary', () => {
    const xml = cs9Primary();
    const all = read(xml, [1 << 20], () => true).packages;
    // A third of the names under each prefix, picked by a hash of the name.
    const picked = (name: string) =>
      [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 997, 7) % 3 === 0;
    for (const prefix of ['p', 'python3-', 'lib', 'zz', '']) {
      const want = (name: string) => name.startsWith(prefix) && picked(name);
      const fast = read(xml, [65536, 1 << 20], want, prefix);
      expect(fast.summary.packages).toBe(17649);
      expect(fast.packages).toEqual(all.filter((p) => want(p.name)));
    }
  });

  it.each([
    ['unknown_element_00-primary.xml'],
    ['unknown_element_01-primary.xml'],
    ['unknown_element_02-primary.xml'],
    ['multiple_warnings_00-primary.xml'],
    ['repo_01_ampersand-primary.xml'],
    ['long_primary.xml'],
  ])("reads createrepo_c's odd but well-formed %s", (file) => {
    const xml = readFileSync(`${fixturePath('createrepo_c/modified_repo_files')}/${file}`);
    expect(read(xml, [4096], () => true).summary.packages).toBeGreaterThan(0);
  });

  it("keeps a package whose checksum is missing (createrepo_c's error_00), with an empty checksum", () => {
    const xml = readFileSync(
      `${fixturePath('createrepo_c/modified_repo_files')}/error_00-primary.xml`,
    );
    const { packages } = read(xml, [4096], () => true);
    expect(packages.map((p) => [p.name, p.checksum !== ''])).toEqual([
      ['fake_bash', false],
      ['super_kernel', true],
    ]);
  });

  it('reads a summary of almost 1 MiB fed 50 bytes at a time, in linear time', () => {
    const xml = (length: number) =>
      PRIMARY.replace(
        '<summary>Fish &amp; chips &lt;3 &#x263A;</summary>',
        `<summary>${'s'.repeat(length)}</summary>`,
      );
    const time = (length: number) => {
      const started = performance.now();
      const { packages } = read(xml(length), [50]);
      expect(packages[0]?.summary).toHaveLength(length);
      return performance.now() - started;
    };
    time(1 << 16);
    const best = (length: number) => Math.min(time(length), time(length), time(length));
    // Each arrival used to copy the unfinished text whole: 10,000 copies of up to 1 MiB.
    const small = best(MAX_TOKEN_BYTES >> 2);
    const large = best(MAX_TOKEN_BYTES - 64);
    // Measured: 1.3 times as long for 4 times the text; 7 times before (quadratic).
    expect(large / small).toBeLessThan(5);
    expect(large).toBeLessThan(2000);
  });

  it('refuses a text, tag, comment or CDATA section over 1 MiB the same way whatever the chunks', () => {
    const long = 'a'.repeat(MAX_TOKEN_BYTES + 1);
    const cases: [string, RegExp][] = [
      [`<summary>${long}</summary>`, /^Text longer than 1048576 bytes \(1 MiB\) at byte \d+$/],
      [`<description>x<!--${long}--></description>`, /^Comment longer than 1048576 bytes/],
      [`<summary><![CDATA[${long}]]></summary>`, /^CDATA section longer than 1048576 bytes/],
      [`<x a="${long}"/>`, /^Start tag longer than 1048576 bytes/],
      [`<?pi ${long}?>`, /^Processing instruction longer than 1048576 bytes/],
    ];
    for (const [inside, message] of cases) {
      const xml = PRIMARY.replace('<arch>noarch</arch>', `<arch>noarch</arch>${inside}`);
      const errors = [[1 << 20], [4096], [100_000, 7]].map((sizes) => {
        try {
          read(xml, sizes);
          return 'no error';
        } catch (error) {
          return (error as Error).message;
        }
      });
      expect(errors[0]).toMatch(message);
      expect(new Set(errors).size).toBe(1);
    }
  });

  it('refuses a field whose pieces add up to more than 1 MiB', () => {
    const piece = `${'a'.repeat(1000)}<!---->`;
    const xml = PRIMARY.replace('<summary>', `<summary>${piece.repeat(1100)}`);
    expect(() => read(xml)).toThrow(/Text of a package's summary longer than 1048576 characters/);
  });
});
