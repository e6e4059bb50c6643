import { describe, expect, it } from 'vitest';
import { type AptPackage, PackagesReader } from './packages.ts';

const INDEX = `Package: app
Version: 1:2.0-1
Architecture: amd64
Maintainer: Jane Doe <jane@example.org>
Source: app-src (1:2.0-1)
Section: utils
Filename: pool/main/a/app/app_2.0-1_amd64.deb
Size: 1234
SHA256: ${'A'.repeat(64)}
Homepage: https://example.org/app
Description: The app
 Longer text.

Package: other
Version: 1.0
Architecture: all
Filename: pool/main/o/other/other_1.0_all.deb

Package: broken
Architecture: all

Architecture: all
Version: 0:abc
Package: app
Filename: pool/main/a/app/app_abc_all.deb
`;

function read(text: string, wanted = (_: string) => true, chunk = 7) {
  const found: AptPackage[] = [];
  const skipped: string[] = [];
  const reader = new PackagesReader({
    wantName: wanted,
    onPackage: (p) => found.push(p),
    onSkipped: (name, why) => skipped.push(`${name}: ${why}`),
    component: 'main',
  });
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk));
  reader.finish();
  return { found, skipped, count: reader.count };
}

describe('Packages index reader', () => {
  it('reads the fields Hoist reports', () => {
    const { found, skipped, count } = read(INDEX);
    expect(count).toBe(4);
    expect(found[0]).toEqual({
      name: 'app',
      version: '1:2.0-1',
      arch: 'amd64',
      filename: 'pool/main/a/app/app_2.0-1_amd64.deb',
      size: 1234,
      sha256: 'a'.repeat(64),
      maintainer: 'Jane Doe <jane@example.org>',
      source: 'app-src',
      section: 'utils',
      summary: 'The app',
      homepage: 'https://example.org/app',
      component: 'main',
    });
    expect(found[1]?.source).toBe('other');
    // A version that does not start with a digit is accepted, as apt accepts it.
    expect(found.map((p) => p.version)).toEqual(['1:2.0-1', '1.0', '0:abc']);
    expect(skipped).toEqual(['broken: no Version, Filename field']);
  });

  it('parses only the paragraphs whose name is wanted', () => {
    const { found } = read(INDEX, (n) => n === 'other');
    expect(found.map((p) => p.name)).toEqual(['other']);
  });

  it('reads multi-byte characters split across chunks', () => {
    const text =
      'Package: a\nVersion: 1\nArchitecture: all\nFilename: a.deb\nMaintainer: Zoë Ünal\n';
    for (const size of [1, 2, 3])
      expect(read(text, undefined, size).found[0]?.maintainer).toBe('Zoë Ünal');
  });
});
